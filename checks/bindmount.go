package checks

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"
)

// BindMount grades a bind mount for live edits (course 5.3): grade edits a
// file of the submission, as a student editing it on the host would, and a
// command run in the container must print the new content at once. When it
// does not, the container's mounts say why: no bind mount at all (its files
// are a copy), or a bind mount of another folder.
type BindMount struct {
	// Container is the container's name as the student's docker run
	// --name gave it.
	Container string `yaml:"container" jsonschema:"required"`
	// File is the file grade writes, a path inside the submission, e.g.
	// site/grade-edit.html; the container must see it through its bind
	// mount of the folder holding it.
	File string `yaml:"file" jsonschema:"required"`
	// Read is a command run in the container (no shell; use [sh, -c, "…"]
	// for one) that must print what grade wrote into File, e.g.
	// [cat, /usr/share/nginx/html/grade-edit.html].
	Read []string `yaml:"read" jsonschema:"required,minItems=1"`
}

// Timing of the wait for an edit to show. Variables so tests can shorten them.
var (
	bindMountWait = 3 * time.Second
	bindMountPoll = 200 * time.Millisecond
)

// Requires reports that bind-mount needs the student's container.
func (*BindMount) Requires() Requirement { return NeedsContainer }

// Stack reports that bind-mount grades what a student's docker commands made.
func (*BindMount) Stack() string { return StackCommands }

// Validate checks the name and the file.
func (c *BindMount) Validate() error {
	if err := objectName("container", "container", c.Container); err != nil {
		return err
	}
	if len(c.Read) == 0 {
		return fieldErr("read", "is required: the command that prints the file inside the container")
	}
	return submissionPath("file", c.File)
}

func (c *BindMount) expected() string {
	return fmt.Sprintf("an edit of %s on the host shows at once in %s (`%s` prints it)", c.File, c.Container, strings.Join(c.Read, " "))
}

// Run edits the file and reads it inside the container until it shows.
func (c *BindMount) Run(ctx context.Context, t Target) Outcome {
	expected := c.expected()
	we, ok1 := t.(WorkspaceEditor)
	ex, ok2 := t.(Execer)
	if !ok1 || !ok2 {
		return capErr(expected, "edit the submission's files")
	}
	info, known, o, done := lookUpContainer(ctx, t, expected, c.Container, true)
	if done {
		return o
	}
	token := newToken()
	if err := we.EditWorkspace(ctx, path.Clean(c.File), []byte(token+"\n")); err != nil {
		return engineOutcome(expected, err)
	}
	start := time.Now()
	deadline := start.Add(bindMountWait)
	var out Output
	for {
		var err error
		out, err = ex.Exec(ctx, c.Container, ExecSpec{Cmd: c.Read})
		if err != nil {
			return commandsOutcome(expected, c.Container, err)
		}
		if strings.Contains(out.Stdout, token) {
			return Pass(expected, fmt.Sprintf("the edit showed in %s after %s", c.Container, time.Since(start).Round(100*time.Millisecond)))
		}
		if time.Now().Add(bindMountPoll).After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return engineOutcome(expected, ctx.Err())
		case <-time.After(bindMountPoll):
		}
	}
	actual := fmt.Sprintf("%s later, `%s` printed %s", bindMountWait, strings.Join(c.Read, " "), quote(strings.TrimSpace(out.Stdout+out.Stderr), 200))
	msg := fmt.Sprintf("the edit of %s did not show in %s", c.File, c.Container)
	if known {
		msg = c.why(info)
	}
	return Fail(expected, actual, msg)
}

// why explains, from the container's mounts, why the edit did not show.
func (c *BindMount) why(info ContainerInfo) string {
	file := path.Clean(c.File)
	dir := path.Dir(file)
	var binds []Mount
	for _, m := range info.Mounts {
		if m.Type == "bind" {
			binds = append(binds, m)
		}
	}
	dest := c.destination(binds)
	fix := fmt.Sprintf("-v \"$(pwd)/%s\":%s", dir, dest)
	if dir == "." {
		fix = fmt.Sprintf("-v \"$(pwd)\":%s", dest)
	}
	if len(binds) == 0 {
		msg := fmt.Sprintf("%s has no bind mount: its files are a copy made when the image was built or the container started, so an edit on the host never shows; run it with %s (5.3)", c.Container, fix)
		for _, m := range info.Mounts {
			if m.Type == "volume" {
				msg += fmt.Sprintf("; it has %s, and a volume is storage Docker keeps, not a folder of the host", showMount(m))
				break
			}
		}
		return msg
	}
	for _, m := range binds {
		src := path.Clean(m.Source)
		if src == "." || src == dir || strings.HasPrefix(file, src+"/") {
			inside := path.Join(m.Destination, strings.TrimPrefix(strings.TrimPrefix(file, src), "/"))
			if src == "." {
				inside = path.Join(m.Destination, file)
			}
			if inside == path.Join(dest, path.Base(file)) {
				return fmt.Sprintf("the edit of %s did not show in %s, though it bind-mounts %s at %s", c.File, c.Container, m.Source, m.Destination)
			}
			return fmt.Sprintf("%s bind-mounts %s at %s, so the edit of %s is at %s in the container, and the exercise looks for it elsewhere: mount the folder where it wants it (%s)",
				c.Container, m.Source, m.Destination, c.File, inside, fix)
		}
	}
	var have []string
	for _, m := range binds {
		have = append(have, fmt.Sprintf("%s at %s", m.Source, m.Destination))
	}
	return fmt.Sprintf("%s bind-mounts %s, not %s, the folder that holds %s: run it with %s",
		c.Container, strings.Join(have, " and "), dir, c.File, fix)
}

// destination guesses where the exercise wants the folder mounted: the
// directory of the path in Read that names File's base name, else where
// the student mounted a folder, else a placeholder.
func (c *BindMount) destination(binds []Mount) string {
	base := path.Base(c.File)
	for _, arg := range c.Read {
		for _, word := range strings.Fields(arg) {
			word = strings.Trim(word, `"';`)
			if strings.HasPrefix(word, "/") && path.Base(word) == base {
				return path.Dir(word)
			}
		}
	}
	if len(binds) == 1 {
		return binds[0].Destination
	}
	return "/path/in/the/container"
}
