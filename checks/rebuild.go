package checks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
)

// Rebuild grades the build cache (course 4.4, cache-friendly order): grade
// changes only the app's code (appends to one file of the build context) and
// builds again; the steps that install dependencies must come from the
// cache. A Dockerfile that copies all the code before installing
// dependencies reinstalls them on every change.
type Rebuild struct {
	// Change is the file of the build context grade changes, e.g. app.py.
	Change string `yaml:"change" jsonschema:"required"`
	// Append is what grade appends to it; default a newline. Give a
	// comment in the file's language to keep it valid, e.g. "# changed".
	Append string        `yaml:"append"`
	Expect RebuildExpect `yaml:"expect" jsonschema:"required"`
}

// RebuildExpect lists the steps that must be cached on the rebuild.
type RebuildExpect struct {
	// Cached lists patterns (regular expressions) of build steps, e.g.
	// "pip install": every step whose instruction matches must come from
	// the cache, and each pattern must match a step.
	Cached []string `yaml:"cached" jsonschema:"required,minItems=1"`
}

// Requires reports that rebuild needs the first build to have succeeded.
func (*Rebuild) Requires() Requirement { return NeedsImage }

// Validate checks the change and the patterns.
func (c *Rebuild) Validate() error {
	if err := submissionPath("change", c.Change); err != nil {
		return err
	}
	if len(c.Expect.Cached) == 0 {
		return fieldErr("expect.cached", "lists no step")
	}
	for i, p := range c.Expect.Cached {
		if _, err := regexp.Compile(p); err != nil {
			return fieldErr(fmt.Sprintf("expect.cached[%d]", i), "%v", err)
		}
	}
	return nil
}

// Run rebuilds after the change and reads the cache use off the log.
func (c *Rebuild) Run(ctx context.Context, t Target) Outcome {
	expected := fmt.Sprintf("after a change to %s only, the rebuild takes %s from the cache", c.Change, strings.Join(quoteAll(c.Expect.Cached), ", "))
	r, ok := t.(Rebuilder)
	if !ok {
		return capErr(expected, "rebuild the image")
	}
	add := c.Append
	if add == "" {
		add = "\n"
	}
	info, err := r.Rebuild(ctx, map[string][]byte{c.Change: []byte(add + uniqueBlankLine())})
	if err != nil {
		return engineOutcome(expected, err)
	}
	if !info.OK {
		o := Fail(expected, "the rebuild failed: "+info.Error, "")
		o.Detail = info.Log
		return o
	}
	steps := info.Steps
	if len(steps) == 0 {
		return Errored(expected, errors.New("grade could not read the rebuilt image's history"))
	}
	stopped := -1 // the first step the cache did not give
	for i, st := range steps {
		if !st.Cached {
			stopped = i
			break
		}
	}
	var bad, gots []string
	for _, p := range c.Expect.Cached {
		re := regexp.MustCompile(p)
		matched := false
		for i, st := range steps {
			if !re.MatchString(st.Instruction) {
				continue
			}
			matched = true
			if st.Cached {
				gots = append(gots, fmt.Sprintf("`%s` came from the cache", st.Instruction))
				continue
			}
			gots = append(gots, fmt.Sprintf("`%s` ran again", st.Instruction))
			why := fmt.Sprintf("`%s` ran again after a change to %s alone", st.Instruction, c.Change)
			if stopped >= 0 && stopped < i {
				why += fmt.Sprintf(": the cache stopped at `%s`, which comes before it; copy only the dependency list first, install, then copy the rest of the code",
					steps[stopped].Instruction)
			}
			bad = append(bad, why)
		}
		if !matched {
			gots = append(gots, fmt.Sprintf("no step matches %q", p))
			bad = append(bad, fmt.Sprintf("no step of the image matches %q (the Dockerfile does not install its dependencies the expected way)", p))
		}
	}
	if len(bad) > 0 {
		o := Fail(expected, strings.Join(gots, "; "), strings.Join(bad, "; "))
		o.Detail = info.Log
		return o
	}
	return Pass(expected, strings.Join(gots, "; "))
}

// uniqueBlankLine is a line of spaces and tabs that differs on every
// rebuild (32 random bits). The changed file is then new to the builder's
// cache: an earlier grade run's rebuild of the same submission, whose
// cache another run on the engine kept, cannot make the steps after the
// change look cached. A line of blanks is valid in every language's source.
func uniqueBlankLine() string {
	var b [32]byte
	n := rand.Uint32()
	for i := range b {
		b[i] = " \t"[n>>i&1]
	}
	return string(b[:]) + "\n"
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// Stack reports that rebuild grades the image built from the Dockerfile.
func (*Rebuild) Stack() string { return StackImage }
