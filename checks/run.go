package checks

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Run grades a fresh container of the image run to completion, with
// arguments replacing CMD and, optionally, the entrypoint overridden
// (docker run [--entrypoint E] IMAGE ARGS…). It is how CMD versus ENTRYPOINT
// is graded.
//
// ${token} in the arguments, the entrypoint, the environment's values, the
// volume's files and the expectations is a value grade makes up for the
// run (grade-<16 hex digits>): an image that prints or writes what it was
// given passes, one that prints a sentence typed in from the assignment
// does not.
type Run struct {
	// Args replace the image's CMD; absent means run with the image's own.
	Args []string `yaml:"args"`
	// Entrypoint overrides the image's ENTRYPOINT (docker run --entrypoint).
	Entrypoint []string          `yaml:"entrypoint"`
	Env        map[string]string `yaml:"env"`
	// Volume mounts a fresh named volume with input files at a path
	// (course 9.2: a script reading its input from a mounted volume).
	Volume *RunVolumeSpec `yaml:"volume"`
	Expect OutputExpect   `yaml:"expect"`
	// Outputs are files the run must leave in the volume, by their path in
	// it, and what they must hold.
	Outputs map[string]FileExpect `yaml:"outputs"`
}

// RunVolumeSpec is the volume of a run and the files grade puts in it.
type RunVolumeSpec struct {
	Path  string            `yaml:"path" jsonschema:"required"`
	Files map[string]string `yaml:"files"`
}

// Requires reports that run needs the image.
func (*Run) Requires() Requirement { return NeedsImage }

// Validate checks the expectation's patterns and the volume's paths.
func (c *Run) Validate() error {
	if err := c.Expect.validate(); err != nil {
		return err
	}
	if err := c.validateVars(); err != nil {
		return err
	}
	if len(c.Outputs) > 0 && c.Volume == nil {
		return fieldErr("outputs", "needs a volume: the files are read from it after the run")
	}
	if c.Volume == nil {
		return nil
	}
	if !strings.HasPrefix(c.Volume.Path, "/") || c.Volume.Path == "/" {
		return fieldErr("volume.path", "%q must be an absolute path below /, like /data", c.Volume.Path)
	}
	for _, name := range slices.Concat(slices.Collect(maps.Keys(c.Volume.Files)), slices.Collect(maps.Keys(c.Outputs))) {
		if submissionPath("volume", name) != nil {
			return fieldErr("volume", "%q must be a path inside the volume", name)
		}
	}
	for name, e := range c.Outputs {
		if err := (&FileCheck{Path: "/" + name, Expect: e}).Validate(); err != nil {
			return fieldErr("outputs."+name, "%v", err)
		}
	}
	return nil
}

// validateVars refuses ${names} other than ${token}, and ${token} in an
// expectation when the run is given none (it would be a value the image
// cannot know).
func (c *Run) validateVars() error {
	given := c.given()
	expects := []string{c.Expect.StdoutContains, c.Expect.StdoutMatches, deref(c.Expect.StdoutEquals),
		c.Expect.StderrContains, c.Expect.StderrMatches, c.Expect.OutputContains}
	for _, e := range c.Outputs {
		expects = append(expects, e.Contains, e.Matches, deref(e.Equals))
	}
	for _, s := range slices.Concat(given, expects) {
		for _, m := range bracedVarRe.FindAllStringSubmatch(s, -1) {
			if m[1] != "token" {
				return fieldErr("args", "unknown variable ${%s}; only ${token} is known (a value grade makes up for the run)", m[1])
			}
		}
	}
	if !c.usesToken() && strings.Contains(strings.Join(expects, "\x00"), "${token}") {
		return fieldErr("expect", "uses ${token}, but the run is given none (in args, entrypoint, env or the volume's files)")
	}
	return nil
}

// given lists what the run gives the image: args, entrypoint, the
// environment's values and the volume's files.
func (c *Run) given() []string {
	given := slices.Concat(c.Args, c.Entrypoint, slices.Collect(maps.Values(c.Env)))
	if c.Volume != nil {
		given = slices.Concat(given, slices.Collect(maps.Values(c.Volume.Files)))
	}
	return given
}

// usesToken reports whether the run gives the image ${token}.
func (c *Run) usesToken() bool { return strings.Contains(strings.Join(c.given(), "\x00"), "${token}") }

// withToken returns a copy of the check with ${token} replaced by token;
// in patterns by the token quoted.
func (c *Run) withToken(token string) *Run {
	lit := func(s string) string { return strings.ReplaceAll(s, "${token}", token) }
	pat := func(s string) string { return strings.ReplaceAll(s, "${token}", regexp.QuoteMeta(token)) }
	ptrLit := func(s *string) *string {
		if s == nil {
			return nil
		}
		v := lit(*s)
		return &v
	}
	out := *c
	out.Args, out.Entrypoint = expandToken(c.Args, token), expandToken(c.Entrypoint, token)
	if c.Args == nil {
		out.Args = nil
	}
	if c.Entrypoint == nil {
		out.Entrypoint = nil
	}
	if c.Env != nil {
		out.Env = make(map[string]string, len(c.Env))
		for k, v := range c.Env {
			out.Env[k] = lit(v)
		}
	}
	if c.Volume != nil {
		v := *c.Volume
		v.Files = make(map[string]string, len(c.Volume.Files))
		for k, f := range c.Volume.Files {
			v.Files[k] = lit(f)
		}
		out.Volume = &v
	}
	e := c.Expect
	e.StdoutContains, e.StdoutMatches, e.StdoutEquals = lit(e.StdoutContains), pat(e.StdoutMatches), ptrLit(e.StdoutEquals)
	e.StderrContains, e.StderrMatches, e.OutputContains = lit(e.StderrContains), pat(e.StderrMatches), lit(e.OutputContains)
	out.Expect = e
	if c.Outputs != nil {
		out.Outputs = make(map[string]FileExpect, len(c.Outputs))
		for k, f := range c.Outputs {
			f.Contains, f.Matches, f.Equals = lit(f.Contains), pat(f.Matches), ptrLit(f.Equals)
			out.Outputs[k] = f
		}
	}
	return &out
}

// command shows the docker run line the check performs.
func (c *Run) command() string { return dockerRunLine(c.Entrypoint, "IMAGE", c.Args) }

// Run starts the container, waits for it to exit, and compares its output.
func (c *Run) Run(ctx context.Context, t Target) Outcome {
	if c.usesToken() {
		// The student reads the value grade gave, not a placeholder.
		c = c.withToken(newToken())
	}
	expected := fmt.Sprintf("`%s` gives %s", c.command(), c.Expect.describe())
	r, ok := t.(Runner)
	if !ok {
		return capErr(expected, "run the image")
	}
	env := make([]string, 0, len(c.Env))
	for k, v := range c.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	spec := RunSpec{Args: c.Args, Entrypoint: c.Entrypoint, Env: env}
	if v := c.Volume; v != nil {
		spec.Volume = &RunVolume{Path: v.Path, Files: v.Files}
		for _, name := range slices.Sorted(maps.Keys(c.Outputs)) {
			spec.Volume.Collect = append(spec.Volume.Collect, name)
			expected += fmt.Sprintf(", and leaves %s in the volume at %s", name, v.Path)
		}
	}
	out, err := r.RunImage(ctx, spec)
	if err != nil {
		return engineOutcome(expected, err)
	}
	if out.TimedOut {
		return Fail(expected, "still running at the time limit; stdout so far "+quote(out.Stdout, 200),
			"the container did not exit by itself")
	}
	if msg := c.Expect.check(out); msg != "" {
		return Fail(expected, showOutput(out), msg)
	}
	actual := showOutput(out)
	for _, name := range slices.Sorted(maps.Keys(c.Outputs)) { // outputs come with a volume
		content, ok := out.Files[name]
		e := c.Outputs[name]
		fc := &FileCheck{Path: name, Expect: e}
		if !ok {
			if !fc.exists() {
				continue
			}
			return Fail(expected, actual+"; "+name+" is not in the volume",
				fmt.Sprintf("the run left no %s in the volume mounted at %s: the script must write it there "+
					"(a file written anywhere else stays in the container and is gone with it)", name, c.Volume.Path))
		}
		if !fc.exists() {
			return Fail(expected, actual+"; "+name+" is in the volume", name+" should not be in the volume")
		}
		actual += fmt.Sprintf("; %s holds %s", name, quote(content, 200))
		if msg := fc.text().check(name, content); msg != "" {
			return Fail(expected, actual, msg)
		}
	}
	return Pass(expected, actual)
}

// Stack reports that run grades the image built from the Dockerfile.
func (*Run) Stack() string { return StackImage }
