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
// grade writes a value it made up (a command run in the service's
// container), takes the stack down and up again, and reads the value back.
// The path the data lives in must be a named volume: not a bind mount, not
// an anonymous volume, not the container's own filesystem.
type Persistence struct {
	// Service is the compose service holding the data.
	Service string `yaml:"service" jsonschema:"required"`
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

// Validate requires an absolute path and the token in both commands.
func (c *Persistence) Validate() error {
	if !strings.HasPrefix(c.Path, "/") {
		return fieldErr("path", "%q is not an absolute path in the container", c.Path)
	}
	if !strings.Contains(strings.Join(c.Write, " "), "${token}") {
		return fieldErr("write", "does not write ${token}, the value grade reads back")
	}
	if unknown := unknownVars(strings.Join(append(slices.Clone(c.Write), c.Read...), " "), "token"); len(unknown) > 0 {
		return fieldErr("write", "unknown variable ${%s}; only ${token} is known", unknown[0])
	}
	return nil
}

func expandToken(argv []string, token string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = strings.ReplaceAll(a, "${token}", token)
	}
	return out
}

// Run writes, recreates the stack and reads back.
func (c *Persistence) Run(ctx context.Context, t Target) Outcome {
	expected := fmt.Sprintf("what %s stores in %s survives `docker compose down` and `up`, on a named volume", c.Service, c.Path)
	ex, ok1 := t.(Execer)
	sc, ok2 := t.(StackCycler)
	mi, ok3 := t.(MountInspector)
	if !ok1 || !ok2 || !ok3 {
		return capErr(expected, "recreate a compose stack")
	}
	mounts, err := mi.Mounts(ctx, c.Service)
	if err != nil {
		return engineOutcome(expected, err)
	}
	where, problem := describeMount(mounts, c.Path), volumeProblem(mounts, c.Path, c.Service)
	if problem != "" {
		if other := elsewhere(mounts, c.Path); other != "" {
			problem += " (" + other + ")"
		}
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	token := "grade-" + hex.EncodeToString(b)
	w, err := ex.Exec(ctx, c.Service, ExecSpec{Cmd: expandToken(c.Write, token)})
	if err != nil {
		return engineOutcome(expected, err)
	}
	if w.ExitCode != 0 {
		return Fail(expected, fmt.Sprintf("%s; writing failed: `%s` exited %d: %s", where, strings.Join(c.Write, " "), w.ExitCode,
			quote(strings.TrimSpace(w.Stdout+w.Stderr), 300)), joinMsg("grade could not write its data into "+c.Service, problem))
	}
	down, err := sc.Down(ctx)
	if err != nil {
		return engineOutcome(expected, err)
	}
	if len(down.Containers) > 0 {
		return Fail(expected, "the containers of "+strings.Join(down.Containers, ", ")+" were still there after down",
			"the stack was not recreated, so reading the data back would prove nothing")
	}
	up, err := sc.UpAgain(ctx)
	if err != nil {
		return engineOutcome(expected, err)
	}
	if !up.OK {
		return Fail(expected, "the stack did not come up again: "+up.Error, "")
	}
	r, err := ex.Exec(ctx, c.Service, ExecSpec{Cmd: expandToken(c.Read, token)})
	if err != nil {
		return engineOutcome(expected, err)
	}
	if !strings.Contains(r.Stdout, token) {
		return Fail(expected, fmt.Sprintf("%s; after down and up, `%s` printed %s", where, strings.Join(c.Read, " "), quote(strings.TrimSpace(r.Stdout), 200)),
			joinMsg(fmt.Sprintf("the data was gone after the stack was recreated: what grade wrote into %s before down was not there after up", c.Service), problem))
	}
	if problem != "" {
		return Fail(expected, where+"; the value written before down was read back after up", problem)
	}
	return Pass(expected, where+"; the value written before down was read back after up")
}

func joinMsg(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// volumeProblem says what is wrong with the mount at path, "" when it is a
// named volume.
func volumeProblem(mounts []Mount, path, service string) string {
	for _, m := range mounts {
		if strings.TrimSuffix(m.Destination, "/") != strings.TrimSuffix(path, "/") {
			continue
		}
		switch {
		case m.Type == "bind":
			return fmt.Sprintf("%s is a bind mount of %s, a folder of the host; keep the data in a named volume (volumes: {data: {}} and data:%s)", path, m.Source, path)
		case m.Type == "volume" && m.Anonymous:
			return fmt.Sprintf("%s is an anonymous volume (from the image's VOLUME or a bare - %s), which a new container does not get back; name it: data:%s under the service's volumes, and data: under the top-level volumes", path, path, path)
		case m.Type == "volume":
			return ""
		default:
			return fmt.Sprintf("%s is a %s mount, which does not outlive the container; use a named volume", path, m.Type)
		}
	}
	return fmt.Sprintf("nothing is mounted at %s in %s, so its data lives in the container and goes with it; mount a named volume there", path, service)
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

// Stack reports that persistence grades a compose stack.
func (*Persistence) Stack() string { return StackCompose }
