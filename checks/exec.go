package checks

import (
	"context"
	"fmt"
	"strings"
)

// Exec grades a command run inside the service's running container
// (docker exec): its exit code and output.
type Exec struct {
	// Service is the container to run in; empty means the scenario's app.
	Service string `yaml:"service"`
	// Command is the command and its arguments, run without a shell.
	Command []string `yaml:"command" jsonschema:"required,minItems=1"`
	// User runs the command as this user instead of the image's.
	User   string       `yaml:"user"`
	Expect OutputExpect `yaml:"expect"`
}

// Requires reports that exec needs the running container.
func (*Exec) Requires() Requirement { return NeedsContainer }

// Validate checks the expectation's patterns.
func (c *Exec) Validate() error { return c.Expect.validate() }

// Run executes the command and compares what it printed.
func (c *Exec) Run(ctx context.Context, t Target) Outcome {
	expected := fmt.Sprintf("`%s` in the container gives %s", strings.Join(c.Command, " "), c.Expect.describe())
	ex, ok := t.(Execer)
	if !ok {
		return capErr(expected, "run commands in a container")
	}
	out, err := ex.Exec(ctx, c.Service, ExecSpec{Cmd: c.Command, User: c.User})
	if err != nil {
		return engineOutcome(expected, err)
	}
	if msg := c.Expect.check(out); msg != "" {
		return Fail(expected, showOutput(out), msg)
	}
	return Pass(expected, showOutput(out))
}
