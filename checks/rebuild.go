package checks

import (
	"context"
	"fmt"
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
	if c.Change == "" || strings.HasPrefix(c.Change, "/") || strings.Contains("/"+c.Change+"/", "/../") {
		return fieldErr("change", "%q must be a path inside the build context", c.Change)
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

// step is one build step of a classic-builder log.
type step struct {
	n      int
	instr  string
	cached bool
}

var stepLineRe = regexp.MustCompile(`^Step (\d+)/\d+ : (.*)$`)

// parseSteps reads the steps of a classic-builder log and whether each came
// from the cache (" ---> Using cache").
func parseSteps(log string) []step {
	var out []step
	for _, line := range strings.Split(log, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := stepLineRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, step{n: n, instr: m[2]})
			continue
		}
		if strings.TrimSpace(line) == "---> Using cache" && len(out) > 0 {
			out[len(out)-1].cached = true
		}
	}
	return out
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
	info, err := r.Rebuild(ctx, map[string][]byte{c.Change: []byte(add)})
	if err != nil {
		return engineOutcome(expected, err)
	}
	if !info.OK {
		o := Fail(expected, "the rebuild failed: "+info.Error, "")
		o.Detail = info.Log
		return o
	}
	steps := parseSteps(info.Log)
	firstRun := -1
	for i, s := range steps {
		if !s.cached && !strings.HasPrefix(strings.ToUpper(s.instr), "FROM ") {
			firstRun = i
			break
		}
	}
	var bad, gots []string
	for _, p := range c.Expect.Cached {
		re := regexp.MustCompile(p)
		matched := false
		for _, s := range steps {
			if !re.MatchString(s.instr) {
				continue
			}
			matched = true
			if s.cached {
				gots = append(gots, fmt.Sprintf("step %d `%s` came from the cache", s.n, s.instr))
				continue
			}
			gots = append(gots, fmt.Sprintf("step %d `%s` ran again", s.n, s.instr))
			why := fmt.Sprintf("step %d `%s` ran again after a change to %s alone", s.n, s.instr, c.Change)
			if firstRun >= 0 && steps[firstRun].n < s.n {
				why += fmt.Sprintf(": the cache stopped at step %d `%s`, which comes before it; copy only the dependency list first, install, then copy the rest of the code",
					steps[firstRun].n, steps[firstRun].instr)
			}
			bad = append(bad, why)
		}
		if !matched {
			gots = append(gots, fmt.Sprintf("no step matches %q", p))
			bad = append(bad, fmt.Sprintf("no build step matches %q (the Dockerfile does not install its dependencies the expected way)", p))
		}
	}
	if len(bad) > 0 {
		o := Fail(expected, strings.Join(gots, "; "), strings.Join(bad, "; "))
		o.Detail = info.Log
		return o
	}
	return Pass(expected, strings.Join(gots, "; "))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}
