package checks

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// logsLimit caps how much of a container's log a logs check reads: its end.
const logsLimit = 256 << 10

// Logs grades what a service's container printed (docker logs): its
// output, stdout and stderr together, must contain or match the
// expectation. Only its end is read: the last 2,000 lines, at most 256 KiB.
type Logs struct {
	// Service is the container; empty means the scenario's app.
	Service string     `yaml:"service"`
	Expect  LogsExpect `yaml:"expect" jsonschema:"required"`
}

// LogsExpect is what the log must hold.
type LogsExpect struct {
	Contains string `yaml:"contains"`
	Matches  string `yaml:"matches"`
}

func (e LogsExpect) text() TextExpect { return TextExpect{Contains: e.Contains, Matches: e.Matches} }

// Requires reports that logs needs the running container.
func (*Logs) Requires() Requirement { return NeedsContainer }

// Validate refuses an expectation that checks nothing and bad patterns.
func (c *Logs) Validate() error {
	if !c.Expect.text().set() {
		return fieldErr("expect", "says nothing to check; give contains or matches")
	}
	if c.Expect.Matches != "" {
		if _, err := regexp.Compile(c.Expect.Matches); err != nil {
			return fieldErr("expect.matches", "not a valid regular expression: %v", err)
		}
	}
	return nil
}

// Run reads the log and compares it.
func (c *Logs) Run(ctx context.Context, t Target) Outcome {
	who := "the container"
	if c.Service != "" {
		who = c.Service
	}
	expected := fmt.Sprintf("the log of %s with %s", who, c.Expect.text().describe("a line"))
	ci, ok := t.(ContainerInspector)
	if !ok {
		return capErr(expected, "read container logs")
	}
	log, err := ci.Logs(ctx, c.Service, logsLimit)
	if err != nil {
		return engineOutcome(expected, err)
	}
	if msg := c.Expect.text().check("the log", log); msg != "" {
		o := Fail(expected, fmt.Sprintf("no such line in the log (%d lines read; its end is below)", strings.Count(log, "\n")), msg)
		o.Detail = logTail(log, 10)
		return o
	}
	return Pass(expected, "the log has it")
}
