package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// LifecycleCheck grades a container's lifecycle (course 3.2): grade writes
// a value it made up into the running container, stops it (docker stop),
// starts it again (docker start) and reads the value back: a stopped
// container keeps its files, unless it was run with --rm, which removes it
// when it stops. With remove, grade then removes it (docker rm -f) and
// requires it gone; a check with remove: true belongs at the end of a
// scenario, since the container is gone for the checks after it.
type LifecycleCheck struct {
	// Container is the container's name as the student's docker run
	// --name gave it.
	Container string `yaml:"container" jsonschema:"required"`
	// Write and Read are commands run in the container (no shell; use
	// [sh, -c, "…"] for one). ${token} in them is replaced by a value grade
	// makes up; Write must write it, and Read's output must contain it.
	Write []string `yaml:"write" jsonschema:"required,minItems=1"`
	Read  []string `yaml:"read" jsonschema:"required,minItems=1"`
	// Remove also removes the container at the end and requires it gone.
	Remove bool `yaml:"remove"`
}

// Requires reports that lifecycle needs the student's container.
func (*LifecycleCheck) Requires() Requirement { return NeedsContainer }

// Stack reports that lifecycle grades what a student's docker commands made.
func (*LifecycleCheck) Stack() string { return StackCommands }

// Validate checks the name and the commands.
func (c *LifecycleCheck) Validate() error {
	if err := objectName("container", "container", c.Container); err != nil {
		return err
	}
	return tokenCommands(c.Write, c.Read)
}

func (c *LifecycleCheck) expected() string {
	s := fmt.Sprintf("what grade writes in %s survives docker stop and docker start", c.Container)
	if c.Remove {
		s += ", and docker rm -f removes the container"
	}
	return s
}

// Run writes, stops, starts, reads back and, with remove, removes.
func (c *LifecycleCheck) Run(ctx context.Context, t Target) Outcome {
	expected := c.expected()
	ex, ok1 := t.(Execer)
	lc, ok2 := t.(Lifecycle)
	oi, ok3 := t.(ObjectInspector)
	if !ok1 || !ok2 || !ok3 {
		return capErr(expected, "stop and start a student's container")
	}
	if _, _, o, done := lookUpContainer(ctx, t, expected, c.Container, true); done {
		return o
	}
	token := newToken()
	w, err := ex.Exec(ctx, c.Container, ExecSpec{Cmd: expandToken(c.Write, token)})
	if err != nil {
		return commandsOutcome(expected, c.Container, err)
	}
	if w.ExitCode != 0 {
		return Fail(expected, fmt.Sprintf("`%s` exited %d: %s", strings.Join(c.Write, " "), w.ExitCode, quote(strings.TrimSpace(w.Stdout+w.Stderr), 300)),
			"grade could not write its data into "+c.Container)
	}
	if err := lc.Stop(ctx, c.Container); err != nil {
		return commandsOutcome(expected, c.Container, err)
	}
	stopped, err := oi.Container(ctx, c.Container)
	switch {
	case errors.Is(err, ErrNotExist):
		return Fail(expected, c.Container+" was gone after docker stop",
			"the container was removed when it stopped: it was run with --rm, so docker start has nothing to start")
	case err != nil:
		return engineOutcome(expected, err)
	case stopped.Running:
		return Fail(expected, c.Container+" was still running after docker stop",
			fmt.Sprintf("docker stop did not stop %s (is something starting it again?)", c.Container))
	}
	if err := lc.Start(ctx, c.Container); err != nil {
		return commandsOutcome(expected, c.Container, err)
	}
	started, err := oi.Container(ctx, c.Container)
	if err != nil {
		return commandsOutcome(expected, c.Container, err)
	}
	if !started.Running {
		o := Fail(expected, fmt.Sprintf("after docker start, %s: %s", c.Container, showStatus(started)),
			"after docker start, "+notRunning(c.Container, started))
		o.Detail = containerLog(ctx, t, c.Container)
		return o
	}
	r, err := ex.Exec(ctx, c.Container, ExecSpec{Cmd: expandToken(c.Read, token)})
	if err != nil {
		return commandsOutcome(expected, c.Container, err)
	}
	if !strings.Contains(r.Stdout, token) {
		return Fail(expected, fmt.Sprintf("after docker stop and docker start, `%s` printed %s", strings.Join(c.Read, " "), quote(strings.TrimSpace(r.Stdout+r.Stderr), 200)),
			"the file changed inside the container was gone after docker stop and docker start")
	}
	actual := fmt.Sprintf("%s stopped (%s) and started again; the value written before docker stop was read back after docker start", c.Container, showStatus(stopped))
	if !c.Remove {
		return Pass(expected, actual)
	}
	if err := lc.Remove(ctx, c.Container); err != nil {
		return commandsOutcome(expected, c.Container, err)
	}
	left, err := oi.Container(ctx, c.Container)
	switch {
	case err == nil:
		return Fail(expected, fmt.Sprintf("%s; after docker rm -f, %s is still there (%s)", actual, c.Container, showStatus(left)),
			"docker rm -f did not remove "+c.Container)
	case !errors.Is(err, ErrNotExist):
		return engineOutcome(expected, err)
	}
	return Pass(expected, actual+"; docker rm -f removed it")
}
