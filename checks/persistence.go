package checks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Persistence grades that data outlives its container (course 5.2, 7.4):
// grade writes a value it made up (a command run in the container), gets
// the container replaced by a new one, and reads the value back. In a
// compose stack (service) it takes the stack down and up again; in a
// commands stack (container) it removes the student's container and runs
// it again as the student's docker run did. The path the data lives in must
// be a named volume: not a bind mount, not an anonymous volume, not the
// container's own filesystem.
type Persistence struct {
	// Service is the compose service holding the data (compose stack).
	Service string `yaml:"service"`
	// Container is the container holding the data, as the student's docker
	// run --name gave it (commands stack).
	Container string `yaml:"container"`
	// Path is where the data lives in the container; it must be the
	// destination of a named volume.
	Path string `yaml:"path" jsonschema:"required"`
	// Write and Read are commands run in the container (no shell; use
	// [sh, -c, "…"] for one). ${token} in them is replaced by a value grade
	// makes up for the job; Read's output must contain it.
	Write []string `yaml:"write" jsonschema:"required,minItems=1"`
	Read  []string `yaml:"read" jsonschema:"required,minItems=1"`
}

// Requires reports that persistence needs the stack running.
func (*Persistence) Requires() Requirement { return NeedsContainer }

// Validate requires a service or a container, an absolute path and the
// token in both commands.
func (c *Persistence) Validate() error {
	switch {
	case c.Service == "" && c.Container == "":
		return fieldErr("service", "is required: the compose service holding the data (or, in a commands stack, container)")
	case c.Service != "" && c.Container != "":
		return fieldErr("container", "give service (a compose stack) or container (a commands stack), not both")
	case c.Container != "":
		if err := objectName("container", "container", c.Container); err != nil {
			return err
		}
	}
	if !strings.HasPrefix(c.Path, "/") {
		return fieldErr("path", "%q is not an absolute path in the container", c.Path)
	}
	return tokenCommands(c.Write, c.Read)
}

// CheckStack requires service in a compose stack and container in a
// commands one; an image stack has nothing to recreate.
func (c *Persistence) CheckStack(stack string) error {
	switch stack {
	case StackCompose:
		if c.Container != "" {
			return fieldErr("container", "is for a commands stack; in a compose stack name the service holding the data with service")
		}
		if c.Service == "" {
			return fieldErr("service", "is required in a compose stack: the service holding the data")
		}
	case StackCommands:
		if c.Service != "" {
			return fieldErr("service", "is for a compose stack; in a commands stack name the container holding the data with container (its docker run --name)")
		}
		if c.Container == "" {
			return fieldErr("container", "is required in a commands stack: the container holding the data, as its docker run --name gives it")
		}
	default:
		return fieldErr("kind", "persistence grades a compose or commands stack, and this scenario's stack is %s", stack)
	}
	return nil
}

// persistWords are the words of persistence's feedback for one kind of stack.
type persistWords struct {
	// who is the container's name: the service's or the container's.
	who string
	// recreate names what replaces the container, e.g. "docker compose
	// down and up"; before and after name its two halves.
	recreate, before, after string
	// cycle is the same in short, e.g. "down and up".
	cycle string
	// recreated is what was recreated, in "after the … was recreated".
	recreated string
	commands  bool
}

func (c *Persistence) words() persistWords {
	if c.Container != "" {
		return persistWords{who: c.Container, recreate: "docker rm and a new docker run", before: "docker rm", after: "docker run",
			cycle: "docker rm and docker run", recreated: "container", commands: true}
	}
	return persistWords{who: c.Service, recreate: "`docker compose down` and `up`", before: "down", after: "up",
		cycle: "down and up", recreated: "stack"}
}

// tokenCommands checks the write and read commands of a kind that writes
// a value grade makes up and reads it back: write must write ${token}, and
// ${token} is the only variable known.
func tokenCommands(write, read []string) error {
	if !strings.Contains(strings.Join(write, " "), "${token}") {
		return fieldErr("write", "does not write ${token}, the value grade reads back")
	}
	if unknown := unknownVars(strings.Join(append(slices.Clone(write), read...), " "), "token"); len(unknown) > 0 {
		return fieldErr("write", "unknown variable ${%s}; only ${token} is known", unknown[0])
	}
	return nil
}

// newToken makes up the value a check writes and reads back.
func newToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "grade-" + hex.EncodeToString(b)
}

// expandToken replaces ${token} in each argument.
func expandToken(argv []string, token string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = strings.ReplaceAll(a, "${token}", token)
	}
	return out
}

// Run writes, recreates the container and reads back.
func (c *Persistence) Run(ctx context.Context, t Target) Outcome {
	w := c.words()
	expected := fmt.Sprintf("what %s stores in %s survives %s, on a named volume", w.who, c.Path, w.recreate)
	ex, ok1 := t.(Execer)
	mi, ok2 := t.(MountInspector)
	sc, ok3 := t.(StackCycler)
	lc, ok4 := t.(Lifecycle)
	switch {
	case w.commands && (!ok1 || !ok2 || !ok4):
		return capErr(expected, "recreate a student's container")
	case !w.commands && (!ok1 || !ok2 || !ok3):
		return capErr(expected, "recreate a compose stack")
	}
	outcome := func(err error) Outcome {
		if w.commands {
			return commandsOutcome(expected, w.who, err)
		}
		return engineOutcome(expected, err)
	}
	mounts, err := mi.Mounts(ctx, w.who)
	if err != nil {
		return outcome(err)
	}
	where, problem := describeMount(mounts, c.Path), volumeProblem(mounts, c.Path, w.who, w.commands)
	if problem != "" {
		if other := elsewhere(mounts, c.Path); other != "" {
			problem += " (" + other + ")"
		}
	}
	token := newToken()
	wr, err := ex.Exec(ctx, w.who, ExecSpec{Cmd: expandToken(c.Write, token)})
	if err != nil {
		return outcome(err)
	}
	if wr.ExitCode != 0 {
		return Fail(expected, fmt.Sprintf("%s; writing failed: `%s` exited %d: %s", where, strings.Join(c.Write, " "), wr.ExitCode,
			quote(strings.TrimSpace(wr.Stdout+wr.Stderr), 300)), joinMsg("grade could not write its data into "+w.who, problem))
	}
	if w.commands {
		if err := lc.Recreate(ctx, w.who); err != nil {
			return outcome(err)
		}
	} else if o, done := c.cycle(ctx, sc, expected); done {
		return o
	}
	r, err := ex.Exec(ctx, w.who, ExecSpec{Cmd: expandToken(c.Read, token)})
	if err != nil {
		return outcome(err)
	}
	if !strings.Contains(r.Stdout, token) {
		return Fail(expected, fmt.Sprintf("%s; after %s, `%s` printed %s", where, w.cycle, strings.Join(c.Read, " "), quote(strings.TrimSpace(r.Stdout), 200)),
			joinMsg(fmt.Sprintf("the data was gone after the %s was recreated: what grade wrote into %s before %s was not there after %s", w.recreated, w.who, w.before, w.after), problem))
	}
	actual := fmt.Sprintf("%s; the value written before %s was read back after %s", where, w.before, w.after)
	if problem != "" {
		return Fail(expected, actual, problem)
	}
	return Pass(expected, actual)
}

// cycle takes the compose stack down and up again; done reports a failure.
func (c *Persistence) cycle(ctx context.Context, sc StackCycler, expected string) (Outcome, bool) {
	down, err := sc.Down(ctx)
	if err != nil {
		return engineOutcome(expected, err), true
	}
	if len(down.Containers) > 0 {
		return Fail(expected, "the containers of "+strings.Join(down.Containers, ", ")+" were still there after down",
			"the stack was not recreated, so reading the data back would prove nothing"), true
	}
	up, err := sc.UpAgain(ctx)
	if err != nil {
		return engineOutcome(expected, err), true
	}
	if !up.OK {
		return Fail(expected, "the stack did not come up again: "+up.Error, ""), true
	}
	return Outcome{}, false
}

func joinMsg(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// volumeProblem says what is wrong with the mount at path, "" when it is a
// named volume; commands gives the advice as docker run options instead of
// compose keys.
func volumeProblem(mounts []Mount, path, who string, commands bool) string {
	m, ok := mountAt(mounts, path)
	if !ok {
		fix := "mount a named volume there"
		if commands {
			fix += fmt.Sprintf(" (docker volume create data, then docker run -v data:%s …)", path)
		}
		return fmt.Sprintf("nothing is mounted at %s in %s, so its data lives in the container and goes with it; %s", path, who, fix)
	}
	switch {
	case m.Type == "bind" && commands:
		return fmt.Sprintf("%s is a bind mount of %s, a folder of the host; keep the data in a named volume (docker volume create data, then -v data:%s: a name, not a path, before the colon)", path, m.Source, path)
	case m.Type == "bind":
		return fmt.Sprintf("%s is a bind mount of %s, a folder of the host; keep the data in a named volume (volumes: {data: {}} and data:%s)", path, m.Source, path)
	case m.Type == "volume" && m.Anonymous && commands:
		return fmt.Sprintf("%s is an anonymous volume (from the image's VOLUME or a bare -v %s), which a new container does not get back; name it: -v data:%s", path, path, path)
	case m.Type == "volume" && m.Anonymous:
		return fmt.Sprintf("%s is an anonymous volume (from the image's VOLUME or a bare - %s), which a new container does not get back; name it: data:%s under the service's volumes, and data: under the top-level volumes", path, path, path)
	case m.Type == "volume":
		return ""
	}
	return fmt.Sprintf("%s is a %s mount, which does not outlive the container; use a named volume", path, m.Type)
}

// elsewhere names the named volumes mounted at other paths, to explain a
// volume mounted where the service keeps nothing.
func elsewhere(mounts []Mount, path string) string {
	var out []string
	for _, m := range mounts {
		if m.Type == "volume" && !m.Anonymous && strings.TrimSuffix(m.Destination, "/") != strings.TrimSuffix(path, "/") {
			out = append(out, fmt.Sprintf("the named volume %s is mounted at %s instead", m.Name, m.Destination))
		}
	}
	return strings.Join(out, "; ")
}

func describeMount(mounts []Mount, path string) string {
	for _, m := range mounts {
		if strings.TrimSuffix(m.Destination, "/") == strings.TrimSuffix(path, "/") {
			switch {
			case m.Type == "volume" && m.Anonymous:
				return path + " is an anonymous volume"
			case m.Type == "volume":
				return fmt.Sprintf("%s is the named volume %s", path, m.Name)
			case m.Type == "bind":
				return fmt.Sprintf("%s is a bind mount of %s", path, m.Source)
			}
			return fmt.Sprintf("%s is a %s mount", path, m.Type)
		}
	}
	return "nothing is mounted at " + path
}
