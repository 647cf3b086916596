package checks

import (
	"context"
	"fmt"
	"strings"
)

// Exec grades a command run inside the service's running container
// (docker exec): its exit code and output. In a commands stack the
// container is the student's, named by container.
type Exec struct {
	// Service is the container to run in; empty means the scenario's app
	// (image and compose stacks).
	Service string `yaml:"service"`
	// Container is the container to run in, as the student's docker run
	// --name gave it (commands stack).
	Container string `yaml:"container"`
	// Command is the command and its arguments, run without a shell.
	Command []string `yaml:"command" jsonschema:"required,minItems=1"`
	// User runs the command as this user instead of the image's.
	User   string       `yaml:"user"`
	Expect OutputExpect `yaml:"expect"`
}

// Requires reports that exec needs the running container.
func (*Exec) Requires() Requirement { return NeedsContainer }

// Validate checks the container's name and the expectation's patterns.
func (c *Exec) Validate() error {
	if err := serviceOrContainer(c.Service, c.Container); err != nil {
		return err
	}
	return c.Expect.validate()
}

// CheckStack requires container in a commands stack and refuses it in the
// others.
func (c *Exec) CheckStack(stack string) error { return containerKeys(stack, c.Service, c.Container) }

// Run executes the command and compares what it printed.
func (c *Exec) Run(ctx context.Context, t Target) Outcome {
	expected := fmt.Sprintf("`%s` in the container gives %s", strings.Join(c.Command, " "), c.Expect.describe())
	ex, ok := t.(Execer)
	if !ok {
		return capErr(expected, "run commands in a container")
	}
	name := c.Service
	if c.Container != "" {
		name = c.Container
		expected = fmt.Sprintf("`%s` in %s gives %s", strings.Join(c.Command, " "), c.Container, c.Expect.describe())
		if _, _, o, done := lookUpContainer(ctx, t, expected, c.Container, true); done {
			return o
		}
	}
	out, err := ex.Exec(ctx, name, ExecSpec{Cmd: c.Command, User: c.User})
	if err != nil && c.Container != "" {
		return commandsOutcome(expected, c.Container, err)
	}
	if err != nil {
		return engineOutcome(expected, err)
	}
	if msg := c.Expect.check(out); msg != "" {
		return Fail(expected, showOutput(out), msg)
	}
	return Pass(expected, showOutput(out))
}
