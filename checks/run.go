package checks

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Run grades a fresh container of the image run to completion, with
// arguments replacing CMD and, optionally, the entrypoint overridden
// (docker run [--entrypoint E] IMAGE ARGS…). It is how CMD versus ENTRYPOINT
// is graded.
type Run struct {
	// Args replace the image's CMD; absent means run with the image's own.
	Args []string `yaml:"args"`
	// Entrypoint overrides the image's ENTRYPOINT (docker run --entrypoint).
	Entrypoint []string          `yaml:"entrypoint"`
	Env        map[string]string `yaml:"env"`
	Expect     OutputExpect      `yaml:"expect"`
}

// Requires reports that run needs the image.
func (*Run) Requires() Requirement { return NeedsImage }

// Validate checks the expectation's patterns.
func (c *Run) Validate() error { return c.Expect.validate() }

// command shows the docker run line the check performs.
func (c *Run) command() string {
	var b strings.Builder
	b.WriteString("docker run")
	if c.Entrypoint != nil {
		fmt.Fprintf(&b, " --entrypoint %s", strings.Join(c.Entrypoint, " "))
	}
	b.WriteString(" IMAGE")
	for _, a := range c.Args {
		if strings.ContainsAny(a, " \t\"'") || a == "" {
			a = fmt.Sprintf("%q", a)
		}
		b.WriteString(" " + a)
	}
	return b.String()
}

// Run starts the container, waits for it to exit, and compares its output.
func (c *Run) Run(ctx context.Context, t Target) Outcome {
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
	out, err := r.RunImage(ctx, RunSpec{Args: c.Args, Entrypoint: c.Entrypoint, Env: env})
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
	return Pass(expected, showOutput(out))
}
