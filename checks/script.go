package checks

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Script grades a shell script of docker commands in the submission. grade
// runs it with the docker CLI in a container that has no network; the
// CLI's Docker API is grade's guard, which refuses what the exercise does
// not allow with a message.
//
// In an image stack (course 8.3: docker tag, docker login, docker push) the
// guard knows the image built from the submission as ImageName and serves
// the job's own registry as Registry. In a commands stack (course 3, 5, 6:
// docker run, docker volume create, docker network create, …) there is no
// image name or registry: the script's containers, volumes and networks are
// what the scenario's other checks grade.
type Script struct {
	// File is the script's path inside the submission, run as `sh FILE`
	// in a copy of the submission.
	File string `yaml:"file" jsonschema:"required"`
	// ImageName is the name under which the script finds the image grade
	// built from the Dockerfile, e.g. my-app:1.0 (image stack only).
	ImageName string `yaml:"image_name"`
	// Registry is the registry address the script pushes to, e.g.
	// localhost:5000 (image stack only).
	Registry string       `yaml:"registry"`
	Expect   ScriptExpect `yaml:"expect"`
}

// ScriptExpect is how the script must end and what it must print (stdout
// and stderr together, in order).
type ScriptExpect struct {
	// ExitCode is the script's expected exit code; default 0.
	ExitCode       *int   `yaml:"exit_code"`
	OutputContains string `yaml:"output_contains"`
	OutputMatches  string `yaml:"output_matches"`
	// Pushed (an image stack) requires that the script pushed something to
	// the job's registry: a script that only tags the image, or prints
	// what docker push would print, leaves the registry empty.
	Pushed bool `yaml:"pushed"`
}

// Requires reports that a script that pushes needs the image it pushes; a
// script of a commands stack needs nothing before it.
func (c *Script) Requires() Requirement {
	if c.commands() {
		return NeedsNothing
	}
	return NeedsImage
}

// commands reports a script of a commands stack: no image to push.
func (c *Script) commands() bool { return c.ImageName == "" && c.Registry == "" }

// CheckStack requires image_name and registry in an image stack and
// refuses them in a commands stack; a compose stack has no script step.
func (c *Script) CheckStack(stack string) error {
	switch stack {
	case StackImage:
		if c.ImageName == "" {
			return fieldErr("image_name", "is required in an image stack: the name under which the script finds the image grade built (like my-app:1.0)")
		}
		if c.Registry == "" {
			return fieldErr("registry", "is required in an image stack: the registry address the script pushes to (like localhost:5000)")
		}
	case StackCommands:
		if c.Expect.Pushed {
			return fieldErr("expect.pushed", "is for an image stack; a commands stack has no registry to push to")
		}
		if c.ImageName != "" {
			return fieldErr("image_name", "is for an image stack; in a commands stack nothing is built, and the script's docker run names the images it runs")
		}
		if c.Registry != "" {
			return fieldErr("registry", "is for an image stack; a commands stack has no registry to push to")
		}
	default:
		return fieldErr("kind", "script grades an image or commands stack, and this scenario's stack is %s", stack)
	}
	return nil
}

// imageNameRe is a Docker image name, optionally with a tag (no digest).
var imageNameRe = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$`)

// registryAddrRe is a registry address: a host name or IPv4 address, and a port.
var registryAddrRe = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?$`)

// Validate checks the file, the image name and the registry address.
func (c *Script) Validate() error {
	if err := submissionPath("file", c.File); err != nil {
		return err
	}
	switch {
	case c.ImageName == "" && c.Registry != "":
		return fieldErr("image_name", "is required with registry: the name under which the script finds the image grade built (like my-app:1.0)")
	case c.Registry == "" && c.ImageName != "":
		return fieldErr("registry", "is required with image_name: the registry address the script pushes to (like localhost:5000)")
	}
	if !c.commands() {
		if !imageNameRe.MatchString(c.ImageName) {
			return fieldErr("image_name", "%q is not an image name (like my-app:1.0)", c.ImageName)
		}
		if !registryAddrRe.MatchString(c.Registry) || (!strings.ContainsAny(c.Registry, ".:") && c.Registry != "localhost") {
			return fieldErr("registry", "%q is not a registry address (like localhost:5000)", c.Registry)
		}
		if first, _, ok := strings.Cut(c.ImageName, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
			return fieldErr("image_name", "%q names a registry (%s); give the name without one, as `docker build -t` would", c.ImageName, first)
		}
	}
	if c.Expect.OutputMatches != "" {
		if _, err := regexp.Compile(c.Expect.OutputMatches); err != nil {
			return fieldErr("expect.output_matches", "not a valid regular expression: %v", err)
		}
	}
	return nil
}

// submissionPath refuses a path that is not inside the submission.
func submissionPath(field, p string) error {
	clean := path.Clean(p)
	if p == "" || path.IsAbs(p) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(p, "\\") {
		return fieldErr(field, "%q must be a path inside the submission", p)
	}
	return nil
}

func (c *Script) exitCode() int {
	if c.Expect.ExitCode == nil {
		return 0
	}
	return *c.Expect.ExitCode
}

func (c *Script) expected() string {
	parts := []string{fmt.Sprintf("exits with code %d", c.exitCode())}
	if c.Expect.OutputContains != "" {
		parts = append(parts, fmt.Sprintf("prints %q", c.Expect.OutputContains))
	}
	if c.Expect.OutputMatches != "" {
		parts = append(parts, fmt.Sprintf("prints something matching /%s/", c.Expect.OutputMatches))
	}
	if c.Expect.Pushed && !c.commands() {
		parts = append(parts, fmt.Sprintf("pushes the image to %s", c.Registry))
	}
	if c.commands() {
		return fmt.Sprintf("`sh %s` %s", c.File, strings.Join(parts, " and "))
	}
	return fmt.Sprintf("`sh %s` %s (the image built from your Dockerfile is %s; the registry is %s)",
		c.File, strings.Join(parts, " and "), c.ImageName, c.Registry)
}

// maxScriptLines is how much of a script's output feedback shows.
const maxScriptLines = 30

// maxRefusedCommand is the longest refused command feedback shows, in
// runes: a raw API call can make it anything.
const maxRefusedCommand = 200

// Run runs the script and compares how it ended with the expectation.
func (c *Script) Run(ctx context.Context, t Target) Outcome {
	expected := c.expected()
	sr, ok := t.(ScriptRunner)
	if !ok {
		return capErr(expected, "run a script")
	}
	missing := Fail(expected, "the submission has no "+c.File,
		fmt.Sprintf("write %s: the script with the docker commands that tag the image and push it to %s", c.File, c.Registry))
	if c.commands() {
		missing.Message = fmt.Sprintf("write %s: the script with the docker commands the exercise asks for", c.File)
	}
	if src, ok := t.(SourceReader); ok {
		if _, err := src.ReadSource(c.File, 0); errors.Is(err, ErrNotExist) {
			return missing
		}
	}
	run, err := sr.RunScript(ctx, ScriptSpec{File: c.File, ImageName: c.ImageName, Registry: c.Registry})
	var le *LimitError
	var re *RefusedError
	switch {
	case errors.Is(err, ErrNotExist):
		return missing
	case errors.As(err, &le):
		// The submission is too big to copy for the script: its fault.
		return Fail(expected, "the script was not run", le.Error())
	case errors.As(err, &re):
		// It holds a file grade does not copy: its fault.
		return Fail(expected, "the script was not run", re.Error())
	case err != nil:
		return engineOutcome(expected, err)
	}
	out := run.Stdout + run.Stderr
	actual := fmt.Sprintf("exit code %d", run.ExitCode)
	if run.OOMKilled {
		actual += " (" + OOMMessage(run.MemoryLimit) + ")"
	}
	var msg string
	switch {
	case run.TimedOut:
		actual = "still running at the check's time limit; stopped"
		msg = "the script did not finish: does a command wait for input? (docker login asks for a password unless given --password-stdin)"
		if c.commands() {
			msg = "the script did not finish: a docker run without -d stays attached to its container (3.2), and docker logs -f never ends"
		}
	case run.ExitCode != c.exitCode():
		msg = fmt.Sprintf("the script exited with code %d, not %d", run.ExitCode, c.exitCode())
		if why := scriptCause(run, c); why != "" {
			msg += ": " + why
		}
	case len(run.Refused) > 0:
		// A call the exercise does not allow fails the step, even when
		// the script went on and exited 0.
		r := run.Refused[0]
		msg = fmt.Sprintf("the script ran `%s`, which grade refused: %s", r.Command, r.Why)
		if n := len(run.Refused) - 1; n > 0 {
			msg += fmt.Sprintf(" (and %d more refused, listed below)", n)
		}
	case c.Expect.OutputContains != "" && !strings.Contains(out, c.Expect.OutputContains):
		msg = fmt.Sprintf("the script's output does not contain %q", c.Expect.OutputContains)
	case c.Expect.OutputMatches != "" && !regexp.MustCompile(c.Expect.OutputMatches).MatchString(out):
		msg = fmt.Sprintf("the script's output does not match /%s/", c.Expect.OutputMatches)
	case c.Expect.Pushed && !c.commands():
		rr, ok := t.(RegistryReader)
		if !ok {
			return capErr(expected, "read the job's registry")
		}
		tags, err := rr.RegistryTags(ctx)
		if err != nil {
			return engineOutcome(expected, err)
		}
		if len(tags) == 0 {
			actual += fmt.Sprintf("; the registry %s holds nothing", c.Registry)
			msg = fmt.Sprintf("the script exited 0, but nothing was pushed to %s: no docker push of the image reached the registry "+
				"(tagging the image does not upload it, and printing what docker push prints is not pushing): docker tag %s %s/%s, then docker push %s/%s",
				c.Registry, c.ImageName, c.Registry, c.ImageName, c.Registry, c.ImageName)
		}
	}
	var o Outcome
	if msg == "" {
		o = Pass(expected, actual)
	} else {
		o = Fail(expected, actual, msg)
	}
	refused := run.Refused
	if len(refused) == 1 && strings.Contains(msg, refused[0].Why) {
		refused = nil // the cause already says it
	}
	o.Detail = scriptDetail(out, refused)
	return o
}

// scriptDetail shows the end of what the script printed and what grade
// refused it.
func scriptDetail(out string, refused []Refusal) string {
	var parts []string
	if len(refused) > 0 {
		lines := []string{"refused by grade:"}
		for _, r := range refused {
			lines = append(lines, clip("  `"+clip(r.Command, maxRefusedCommand)+"`: "+r.Why, 400))
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	if strings.TrimSpace(out) == "" {
		parts = append(parts, "the script printed nothing")
	} else {
		parts = append(parts, "script output:\n"+logTail(out, maxScriptLines))
	}
	return strings.Join(parts, "\n")
}

var (
	notCommandRe   = regexp.MustCompile(`docker: '([^']*)' is not a docker command`)
	nameInUseRe    = regexp.MustCompile(`The container name "/?([^"]+)" is already in use`)
	unableToFindRe = regexp.MustCompile(`Unable to find image '([^']+)' locally`)
	noNetworkRe    = regexp.MustCompile(`network ([^\s]+) not found`)
	noContainerRe  = regexp.MustCompile(`No such container: ([^\s"]+)`)
	portTakenRe    = regexp.MustCompile(`Bind for [^\s]*:(\d+) failed: port is already allocated`)
	noTagRe        = regexp.MustCompile(`(?:An image does not exist locally with the tag|tag does not exist): (\S+)`)
	noSuchRe       = regexp.MustCompile(`No such image: ([^\s"(]+)`)
	shNotFoundRe   = regexp.MustCompile(`(?m)^[^:\n]*: \d+: ([^:\n]+): not found`)
)

// scriptCause explains in a sentence why a script failed, from what grade
// refused and the docker CLI's own messages; "" when nothing is known.
func scriptCause(run ScriptRun, c *Script) string {
	out := run.Stdout + run.Stderr
	if len(run.Refused) > 0 {
		r := run.Refused[0]
		s := fmt.Sprintf("the script ran `%s`, which grade refused: %s", clip(r.Command, maxRefusedCommand), r.Why)
		if n := len(run.Refused) - 1; n > 0 {
			s += fmt.Sprintf(" (and %d more refused call(s), listed below)", n)
		}
		return s
	}
	if c.commands() {
		return commandsCause(out)
	}
	if m := notCommandRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("`docker %s` is not a docker command (a typo?); the commands here are docker tag, docker push and docker login", m[1])
	}
	if m := noTagRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("the script pushed %s, but no image has that name: tag the image first (docker tag %s %s/…), then push that name",
			m[1], c.ImageName, c.Registry)
	}
	if m := noSuchRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("there is no image %s; the image built from your Dockerfile is %s", m[1], c.ImageName)
	}
	if m := shNotFoundRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("the shell found no command %q", strings.TrimSpace(m[1]))
	}
	if strings.Contains(out, "Cannot perform an interactive login") {
		return "docker login asked for a password, and nobody can type one here: give it with --password-stdin (echo secret | docker login … --password-stdin)"
	}
	return ""
}

// commandsCause explains in a sentence why a script of a commands stack
// failed, from the docker CLI's own messages; "" when nothing is known.
func commandsCause(out string) string {
	if m := notCommandRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("`docker %s` is not a docker command (a typo?)", m[1])
	}
	if m := nameInUseRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("the script runs two containers named %s: remove the first (docker rm -f %s) or name them apart", m[1], m[1])
	}
	if m := unableToFindRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("there is no image %s on this machine, and nothing can be pulled here: a typo in the name? use one the exercise names", m[1])
	}
	if m := noSuchRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("there is no image %s on this machine, and nothing can be pulled here: use one the exercise names", m[1])
	}
	if m := noNetworkRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("there is no network %s when the script uses it: docker network create %s first, before the docker run that joins it", m[1], m[1])
	}
	if m := noContainerRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("there is no container %s when the script uses it: run it with --name %s first (was it run with --rm, and has it stopped?)", m[1], m[1])
	}
	if m := portTakenRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("two containers publish host port %s: a host port can be published once; give each its own (or remove the first)", m[1])
	}
	if strings.Contains(out, "the input device is not a TTY") {
		return "docker run -it and docker exec -it need a terminal, and a script has none: leave out -it (docker exec my-container cat /path/file)"
	}
	if strings.Contains(out, "invalid reference format") {
		return "an image name in a docker command is not valid: image names are lower-case, and every option (-d, -p, --name, …) goes before the image name"
	}
	if m := shNotFoundRe.FindStringSubmatch(out); m != nil {
		return fmt.Sprintf("the shell found no command %q", strings.TrimSpace(m[1]))
	}
	return ""
}
