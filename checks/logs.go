package checks

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// logsLimit caps how much of a container's log a logs check reads: its end.
const logsLimit = 256 << 10

// Logs grades what a service's container printed (docker logs): its
// output, stdout and stderr together, must contain or match the
// expectation. Only its end is read: the last 2,000 lines, at most 256 KiB.
// In a commands stack the container is the student's, named by container.
type Logs struct {
	// Service is the container; empty means the scenario's app (image and
	// compose stacks).
	Service string `yaml:"service"`
	// Container is the container, as the student's docker run --name gave
	// it (commands stack).
	Container string     `yaml:"container"`
	Expect    LogsExpect `yaml:"expect" jsonschema:"required"`
	// Wait reads the log again, every half second, until it holds the
	// expectation or this long has passed (a line the app prints a moment
	// after it starts); 0 reads it once.
	Wait Duration `yaml:"wait"`
}

// LogsExpect is what the log must hold.
type LogsExpect struct {
	Contains string `yaml:"contains"`
	Matches  string `yaml:"matches"`
}

func (e LogsExpect) text() TextExpect { return TextExpect{Contains: e.Contains, Matches: e.Matches} }

// Requires reports that logs needs the running container.
func (*Logs) Requires() Requirement { return NeedsContainer }

// CheckStack requires container in a commands stack and refuses it in the
// others.
func (c *Logs) CheckStack(stack string) error { return containerKeys(stack, c.Service, c.Container) }

// Validate refuses an expectation that checks nothing and bad patterns.
func (c *Logs) Validate() error {
	if err := serviceOrContainer(c.Service, c.Container); err != nil {
		return err
	}
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
	who, name := "the container", c.Service
	switch {
	case c.Container != "":
		who, name = c.Container, c.Container
	case c.Service != "":
		who = c.Service
	}
	expected := fmt.Sprintf("the log of %s with %s", who, c.Expect.text().describe("a line"))
	ci, ok := t.(ContainerInspector)
	if !ok {
		return capErr(expected, "read container logs")
	}
	if c.Container != "" {
		if _, _, o, done := lookUpContainer(ctx, t, expected, c.Container, false); done {
			return o
		}
	}
	until := time.Now().Add(time.Duration(c.Wait))
	for {
		log, err := ci.Logs(ctx, name, logsLimit)
		if err != nil && c.Container != "" {
			return commandsOutcome(expected, c.Container, err)
		}
		if err != nil {
			return engineOutcome(expected, err)
		}
		msg := c.Expect.text().check("the log", log)
		if msg == "" {
			return Pass(expected, "the log has it")
		}
		if time.Now().Before(until) && sleepCtx(ctx, 500*time.Millisecond) {
			continue
		}
		actual := fmt.Sprintf("no such line in the log (%d lines read; its end is below)", strings.Count(log, "\n"))
		if c.Wait > 0 {
			actual = fmt.Sprintf("no such line in the log after %s (%d lines read; its end is below)", time.Duration(c.Wait), strings.Count(log, "\n"))
		}
		o := Fail(expected, actual, msg)
		o.Detail = logTail(log, 10)
		return o
	}
}

// sleepCtx waits d, false when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
