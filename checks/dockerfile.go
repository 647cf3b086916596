package checks

// The dockerfile kind reads the submission's Dockerfile as the student wrote
// it and checks the rules its expect block turns on, each taken from the
// course:
//
//	key                   rule                                                         course
//	min_stages            at least N stages (FROM instructions)                        8.1
//	copy_from             some COPY --from copies from an earlier stage (by name or    8.1
//	                      index; --from naming an image does not count)
//	tagged_base           every base image that is not an earlier stage or scratch     4.4
//	                      is pinned: a tag other than latest, or a digest
//	non_root              the final stage's last USER names a user other than          4.4
//	                      root or 0 (a USER of the stage it builds on counts)
//	exec_form             the final stage's CMD and ENTRYPOINT, where present, are     4.1, 4.3
//	                      JSON arrays
//	copy_not_add          no ADD of local files: ADD of a URL, or of a local tar       4.2, 4.4
//	                      archive it unpacks (.tar, .tar.gz, .tgz, .tar.bz2, .tbz2,
//	                      .tar.xz, .txz), is allowed
//	apt_cache_cleaned     every RUN that runs apt-get (or apt) update or install also  4.4
//	                      removes /var/lib/apt/lists after it, in the same RUN
//	max_consecutive_runs  at most N RUN instructions in a row within a stage           4.4
//	base                  the final stage's base image is one of these references     4.4, 8.1
//	                      (through earlier stages it builds on)
//
// The Dockerfile is parsed with BuildKit's parser: line continuations,
// comments, parser directives and heredocs are handled as docker build
// handles them, and every finding names its file:line. Variables in FROM are
// expanded with the defaults of the ARGs before the first FROM, as docker
// build does without --build-arg.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Dockerfile grades the submission's Dockerfile itself, as written, against
// the course's rules for Dockerfiles (best practices, multi-stage builds,
// exec form). It does not need the image to have been built; a Dockerfile
// that does not parse fails with the parser's message and line.
type Dockerfile struct {
	// Path is the Dockerfile's path inside the submission, e.g.
	// web/Dockerfile in a compose submission; by default the Dockerfile the
	// build used.
	Path   string           `yaml:"path"`
	Expect DockerfileExpect `yaml:"expect" jsonschema:"required"`
}

// DockerfileExpect lists the rules the Dockerfile must follow. Only the
// rules given are checked; a boolean rule is checked when true.
type DockerfileExpect struct {
	// MinStages requires at least this many stages (FROM instructions): 2
	// for a multi-stage build (course 8.1).
	MinStages *int `yaml:"min_stages" jsonschema:"minimum=1"`
	// CopyFrom requires a COPY --from that copies from an earlier stage, by
	// name or index; --from naming an image does not count (course 8.1).
	CopyFrom *bool `yaml:"copy_from"`
	// TaggedBase requires every base image that is not an earlier stage or
	// scratch to be pinned: a tag other than latest, or a digest (course 4.4).
	TaggedBase *bool `yaml:"tagged_base"`
	// NonRoot requires the final stage's last USER to name a user other than
	// root or 0; with no USER the container runs as root (course 4.4).
	NonRoot *bool `yaml:"non_root"`
	// ExecForm requires the final stage's CMD and ENTRYPOINT, where present,
	// to be in exec form, a JSON array (course 4.1, 4.3).
	ExecForm *bool `yaml:"exec_form"`
	// CopyNotAdd refuses ADD of local files, which COPY does more plainly;
	// ADD of a URL, or of a local tar archive to unpack, is allowed (course
	// 4.2, 4.4).
	CopyNotAdd *bool `yaml:"copy_not_add"`
	// AptCacheCleaned requires every RUN that runs apt-get (or apt) update or
	// install to remove /var/lib/apt/lists after it in the same RUN, so that
	// no layer keeps the package lists (course 4.4).
	AptCacheCleaned *bool `yaml:"apt_cache_cleaned"`
	// MaxConsecutiveRuns allows at most this many RUN instructions in a row
	// within a stage; 1 means related commands are merged with && (course 4.4).
	MaxConsecutiveRuns *int `yaml:"max_consecutive_runs" jsonschema:"minimum=1"`
	// Base requires the final stage's base image to be one of these image
	// references, e.g. python:3.9-slim (course 4.4, 8.1).
	Base []string `yaml:"base" jsonschema:"uniqueItems=true"`
}

// dockerfileLimit caps how much of a Dockerfile is read.
const dockerfileLimit = 1 << 20

// Requires reports that dockerfile needs nothing: it reads the submission.
func (*Dockerfile) Requires() Requirement { return NeedsNothing }

// Validate refuses a dockerfile check that checks nothing or asks for
// something no Dockerfile can be.
func (c *Dockerfile) Validate() error {
	e := c.Expect
	if e.MinStages == nil && e.CopyFrom == nil && e.TaggedBase == nil && e.NonRoot == nil && e.ExecForm == nil &&
		e.CopyNotAdd == nil && e.AptCacheCleaned == nil && e.MaxConsecutiveRuns == nil && len(e.Base) == 0 {
		return fieldErr("expect", "says nothing to check; give at least one of min_stages, copy_from, tagged_base, non_root, exec_form, copy_not_add, apt_cache_cleaned, max_consecutive_runs, base")
	}
	if c.Path != "" {
		p := path.Clean(c.Path)
		if path.IsAbs(c.Path) || p == "." || p == ".." || strings.HasPrefix(p, "../") {
			return fieldErr("path", "%q must be a file's path inside the submission, like web/Dockerfile", c.Path)
		}
	}
	if e.MinStages != nil && *e.MinStages < 1 {
		return fieldErr("expect.min_stages", "%d: a Dockerfile has at least one stage; give 2 or more to require a multi-stage build", *e.MinStages)
	}
	if e.MaxConsecutiveRuns != nil && *e.MaxConsecutiveRuns < 1 {
		return fieldErr("expect.max_consecutive_runs", "%d: must be at least 1 (1 allows no two RUN instructions in a row)", *e.MaxConsecutiveRuns)
	}
	for _, r := range []struct {
		key string
		v   *bool
	}{{"copy_from", e.CopyFrom}, {"tagged_base", e.TaggedBase}, {"non_root", e.NonRoot}, {"exec_form", e.ExecForm},
		{"copy_not_add", e.CopyNotAdd}, {"apt_cache_cleaned", e.AptCacheCleaned}} {
		if r.v != nil && !*r.v {
			return fieldErr("expect."+r.key, "false checks nothing; write true to check the rule, or leave the key out")
		}
	}
	for _, b := range e.Base {
		if _, err := reference.ParseNormalizedNamed(b); err != nil {
			return fieldErr("expect.base", "%q is not an image reference like python:3.9-slim: %v", b, err)
		}
	}
	return nil
}

// dfFinding is one thing wrong in the Dockerfile, at lines start to end (0:
// no line).
type dfFinding struct {
	start, end int
	msg        string
}

// dfRule is one rule's result: what the Dockerfile has, and what is wrong
// with it (nothing when the rule holds).
type dfRule struct {
	got string
	bad []dfFinding
}

// dfStage is one stage of the Dockerfile: its FROM and what follows it.
type dfStage struct {
	from *parser.Node
	// name is the stage's name (FROM … AS name), lower-cased; "" if none.
	name string
	// raw is the base as written, base as expanded; unresolved names the
	// variables in raw that have no value, why the error says base is bad.
	raw, base  string
	unresolved []string
	expandErr  error
	// parent is the index of the earlier stage this one builds on, -1 when
	// it builds on an image.
	parent int
	nodes  []*parser.Node
}

// dfFile is a parsed Dockerfile.
type dfFile struct {
	path   string
	lines  []string
	lex    *shell.Lex
	meta   dfVars
	stages []*dfStage
}

// dfVars are build variables by name; it is the lexer's environment.
type dfVars map[string]string

// Get returns a variable's value.
func (v dfVars) Get(k string) (string, bool) { s, ok := v[k]; return s, ok }

// Keys returns the variables' names.
func (v dfVars) Keys() []string {
	ks := make([]string, 0, len(v))
	for k := range v {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Run reads the Dockerfile, parses it and checks every rule given.
func (c *Dockerfile) Run(_ context.Context, t Target) Outcome {
	p := c.Path
	if p == "" {
		if br, ok := t.(BuildReporter); ok {
			p = br.BuildInfo().Dockerfile
		}
	}
	if p == "" {
		p = "Dockerfile"
	}
	expected := c.expected(p)
	sr, ok := t.(SourceReader)
	if !ok {
		return capErr(expected, "read the submission's files")
	}
	data, err := sr.ReadSource(p, dockerfileLimit+1)
	switch {
	case errors.Is(err, ErrNotExist):
		return Fail(expected, p+" is not in the submission",
			fmt.Sprintf("the submission has no %s; the file must be named exactly %s (capital D, no extension)", p, path.Base(p)))
	case err != nil:
		return Fail(expected, "cannot read "+p, fmt.Sprintf("reading %s: %v", p, err))
	case len(data) > dockerfileLimit:
		return Fail(expected, fmt.Sprintf("%s is larger than %s", p, Size(dockerfileLimit)),
			p+" is too large to be a Dockerfile; it should be a short text file of instructions")
	}
	f, bad := parseDockerfile(p, data)
	if bad != nil {
		o := Fail(expected, p+" does not parse", f.at(*bad))
		o.Detail = f.excerpt([]dfFinding{*bad})
		return o
	}
	rules := c.rules(f)
	var gots, msgs []string
	var all []dfFinding
	for _, r := range rules {
		gots = append(gots, r.got)
		for _, b := range r.bad {
			msgs = append(msgs, f.at(b))
		}
		all = append(all, r.bad...)
	}
	if len(msgs) > 0 {
		o := Fail(expected, strings.Join(gots, "; "), strings.Join(msgs, "; "))
		o.Detail = f.excerpt(all)
		return o
	}
	return Pass(expected, strings.Join(gots, "; "))
}

// expected says what the rules given want, in order.
func (c *Dockerfile) expected(p string) string {
	e := c.Expect
	var ws []string
	if e.MinStages != nil {
		ws = append(ws, fmt.Sprintf("at least %s (FROM instructions)", dfCount(*e.MinStages, "stage", "stages")))
	}
	if dfIs(e.CopyFrom) {
		ws = append(ws, "a COPY --from=<stage> that copies from an earlier stage")
	}
	if dfIs(e.TaggedBase) {
		ws = append(ws, "every base image pinned to a version (a tag other than latest, or a digest)")
	}
	if dfIs(e.NonRoot) {
		ws = append(ws, "a non-root USER at the end of the final stage")
	}
	if dfIs(e.ExecForm) {
		ws = append(ws, `CMD and ENTRYPOINT in exec form (a JSON array: CMD ["program", "arg"])`)
	}
	if dfIs(e.CopyNotAdd) {
		ws = append(ws, "COPY, not ADD, for local files")
	}
	if dfIs(e.AptCacheCleaned) {
		ws = append(ws, "every RUN with apt-get update or install also runs rm -rf /var/lib/apt/lists/*")
	}
	if e.MaxConsecutiveRuns != nil {
		ws = append(ws, fmt.Sprintf("at most %s in a row", dfCount(*e.MaxConsecutiveRuns, "RUN instruction", "RUN instructions")))
	}
	if len(e.Base) > 0 {
		ws = append(ws, "the final stage FROM "+strings.Join(e.Base, " or "))
	}
	return p + ": " + strings.Join(ws, "; ")
}

// dfIs reports whether a rule is turned on.
func dfIs(b *bool) bool { return b != nil && *b }

func (c *Dockerfile) rules(f *dfFile) []dfRule {
	e := c.Expect
	var rs []dfRule
	if e.MinStages != nil {
		rs = append(rs, f.minStages(*e.MinStages))
	}
	if dfIs(e.CopyFrom) {
		rs = append(rs, f.copyFrom())
	}
	if dfIs(e.TaggedBase) {
		rs = append(rs, f.taggedBase())
	}
	if dfIs(e.NonRoot) {
		rs = append(rs, f.nonRoot())
	}
	if dfIs(e.ExecForm) {
		rs = append(rs, f.execForm())
	}
	if dfIs(e.CopyNotAdd) {
		rs = append(rs, f.copyNotAdd())
	}
	if dfIs(e.AptCacheCleaned) {
		rs = append(rs, f.aptCleaned())
	}
	if e.MaxConsecutiveRuns != nil {
		rs = append(rs, f.consecutiveRuns(*e.MaxConsecutiveRuns))
	}
	if len(e.Base) > 0 {
		rs = append(rs, f.finalBase(e.Base))
	}
	return rs
}

// parseDockerfile parses data into stages. A Dockerfile that docker build
// would refuse before running any step comes back with what is wrong.
func parseDockerfile(p string, data []byte) (*dfFile, *dfFinding) {
	f := &dfFile{path: p, lines: strings.Split(string(data), "\n"), meta: dfVars{}}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		line := 0
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			line = le.Locations[0][0].Start.Line
		}
		msg := err.Error()
		if msg == "file with no instructions" {
			return f, &dfFinding{msg: "the Dockerfile has no instructions; it starts with FROM <base image> (4.1)"}
		}
		return f, &dfFinding{start: line, end: line, msg: msg}
	}
	f.lex = shell.NewLex(res.EscapeToken)
	var st *dfStage
	for _, n := range res.AST.Children {
		instr := strings.ToLower(n.Value)
		if _, known := command.Commands[instr]; !known {
			msg := "unknown instruction: " + clip(n.Value, 40)
			if guess := strings.ToLower(strings.TrimFunc(n.Value, func(r rune) bool { return !unicode.IsLetter(r) })); guess != instr {
				if _, ok := command.Commands[guess]; ok {
					msg += fmt.Sprintf(" (did you mean %s?)", strings.ToUpper(guess))
				}
			}
			return f, &dfFinding{start: n.StartLine, end: n.EndLine, msg: msg}
		}
		switch {
		case instr == command.From:
			s, bad := f.stage(n)
			if bad != nil {
				return f, bad
			}
			st = s
			f.stages = append(f.stages, st)
		case st != nil:
			st.nodes = append(st.nodes, n)
		case instr == command.Arg:
			f.declare(f.meta, f.meta, n)
		default:
			return f, &dfFinding{start: n.StartLine, end: n.EndLine,
				msg: strings.ToUpper(instr) + " comes before the first FROM; only ARG may come before it, everything else belongs to a stage that starts with FROM (4.2)"}
		}
	}
	if len(f.stages) == 0 {
		return f, &dfFinding{msg: "the Dockerfile has no FROM instruction; it starts with FROM <base image> (4.1)"}
	}
	return f, nil
}

// stage reads a FROM instruction.
func (f *dfFile) stage(n *parser.Node) (*dfStage, *dfFinding) {
	args := dfNodeArgs(n)
	s := &dfStage{from: n, parent: -1}
	switch {
	case len(args) == 3 && strings.EqualFold(args[1], "as"):
		s.name = strings.ToLower(args[2])
		if !dfValidStageName(s.name) {
			return nil, &dfFinding{start: n.StartLine, end: n.EndLine,
				msg: fmt.Sprintf("invalid name for build stage: %q, name can't start with a number or contain symbols", args[2])}
		}
	case len(args) != 1:
		return nil, &dfFinding{start: n.StartLine, end: n.EndLine, msg: "FROM requires either one or three arguments (FROM image, or FROM image AS name)"}
	}
	s.raw = args[0]
	r, err := f.lex.ProcessWordWithMatches(s.raw, f.meta)
	s.base, s.expandErr = r.Result, err
	for v := range r.Unmatched {
		s.unresolved = append(s.unresolved, v)
	}
	slices.Sort(s.unresolved)
	for i, prev := range f.stages {
		if prev.name != "" && strings.EqualFold(prev.name, s.base) {
			s.parent = i
			break
		}
	}
	return s, nil
}

// dfValidStageName is BuildKit's rule for stage names: a lower-case letter,
// then letters, digits, '-', '_' or '.'.
func dfValidStageName(name string) bool {
	for i, r := range name {
		letter := r >= 'a' && r <= 'z'
		other := r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !letter && (i == 0 || !other) {
			return false
		}
	}
	return name != ""
}

// declare records an ARG's variables in vars, their defaults expanded with
// env; an ARG without a default takes its value from outer (the ARGs
// before the first FROM) when it has one there.
func (f *dfFile) declare(vars, outer dfVars, n *parser.Node) {
	for _, w := range dfNodeArgs(n) {
		name, val, hasVal := strings.Cut(w, "=")
		if !hasVal {
			if v, ok := outer[name]; ok {
				vars[name] = v
			}
			continue
		}
		if x, _, err := f.lex.ProcessWord(val, vars); err == nil {
			vars[name] = x
		}
	}
}

// env returns the variables a stage has before its instruction upto (all
// of them when upto is nil): its ARGs and ENVs.
func (f *dfFile) env(s *dfStage, upto *parser.Node) dfVars {
	vars := dfVars{}
	for _, n := range s.nodes {
		if n == upto {
			break
		}
		switch strings.ToLower(n.Value) {
		case command.Arg:
			f.declare(vars, f.meta, n)
		case command.Env:
			// ENV's arguments come in threes: name, value, separator.
			args := dfNodeArgs(n)
			for i := 0; i+1 < len(args); i += 3 {
				if x, _, err := f.lex.ProcessWord(args[i+1], vars); err == nil {
					vars[args[i]] = x
				}
			}
		}
	}
	return vars
}

// dfNodeArgs returns an instruction's arguments.
func dfNodeArgs(n *parser.Node) []string {
	var args []string
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	return args
}

// dfIsInstr reports whether n is the instruction instr.
func dfIsInstr(n *parser.Node, instr string) bool { return strings.EqualFold(n.Value, instr) }

// at formats a finding with its place: "Dockerfile:3: …", "Dockerfile:7-9: …".
func (f *dfFile) at(b dfFinding) string {
	switch {
	case b.start <= 0:
		return b.msg
	case b.end > b.start:
		return fmt.Sprintf("%s:%d-%d: %s", f.path, b.start, b.end, b.msg)
	default:
		return fmt.Sprintf("%s:%d: %s", f.path, b.start, b.msg)
	}
}

// excerpt shows the lines the findings blame, numbered.
func (f *dfFile) excerpt(bad []dfFinding) string {
	var nums []int
	for _, b := range bad {
		for n := b.start; n > 0 && n <= max(b.start, b.end) && n < b.start+5; n++ {
			if n <= len(f.lines) && !slices.Contains(nums, n) {
				nums = append(nums, n)
			}
		}
	}
	if len(nums) == 0 {
		return ""
	}
	slices.Sort(nums)
	const most = 30
	var b strings.Builder
	b.WriteString(f.path + ":")
	for i, n := range nums {
		if i == most {
			fmt.Fprintf(&b, "\n… (%d more lines)", len(nums)-most)
			break
		}
		fmt.Fprintf(&b, "\n%6d | %s", n, clip(strings.TrimRight(f.lines[n-1], "\r"), 160))
	}
	return b.String()
}

// final returns the last stage, the one docker build makes the image of.
func (f *dfFile) final() *dfStage { return f.stages[len(f.stages)-1] }

// fromLines lists the lines of the FROM instructions.
func (f *dfFile) fromLines() string {
	ls := make([]string, len(f.stages))
	for i, s := range f.stages {
		ls[i] = strconv.Itoa(s.from.StartLine)
	}
	if len(ls) == 1 {
		return "FROM at line " + ls[0]
	}
	return "FROM at lines " + strings.Join(ls, ", ")
}

func (f *dfFile) minStages(n int) dfRule {
	got := fmt.Sprintf("%s (%s)", dfCount(len(f.stages), "stage", "stages"), f.fromLines())
	r := dfRule{got: got}
	switch {
	case len(f.stages) >= n:
	case len(f.stages) == 1:
		r.bad = []dfFinding{{msg: "only one stage (" + f.fromLines() + "); a multi-stage build has a builder stage and a final stage that copies from it with COPY --from (8.1)"}}
	default:
		r.bad = []dfFinding{{msg: fmt.Sprintf("%s (%s), fewer than the %d this assignment asks for; each stage starts with its own FROM (8.1)", dfCount(len(f.stages), "stage", "stages"), f.fromLines(), n)}}
	}
	return r
}

// dfCopySource is where a COPY --from copies from.
type dfCopySource struct {
	n     *parser.Node
	stage int // the stage it is in
	from  string
	// earlier is the stage it copies from, -1 when none before it.
	earlier int
	why     string
}

func (f *dfFile) copyFroms() []dfCopySource {
	var cs []dfCopySource
	for i, s := range f.stages {
		for _, n := range s.nodes {
			if !dfIsInstr(n, command.Copy) {
				continue
			}
			for _, fl := range n.Flags {
				name, val, ok := strings.Cut(fl, "=")
				if !ok || name != "--from" {
					continue
				}
				if x, _, err := f.lex.ProcessWord(val, f.env(s, n)); err == nil && x != "" {
					val = x
				}
				cs = append(cs, f.resolveFrom(n, i, val))
			}
		}
	}
	return cs
}

// resolveFrom says what COPY --from=val in stage i copies from.
func (f *dfFile) resolveFrom(n *parser.Node, i int, val string) dfCopySource {
	c := dfCopySource{n: n, stage: i, from: val, earlier: -1}
	for j, s := range f.stages {
		if s.name != "" && strings.EqualFold(s.name, val) {
			if j < i {
				c.earlier = j
				return c
			}
			c.why = fmt.Sprintf("COPY --from=%s names the stage at line %d, which does not come before this one; a stage can only copy from the stages before it (8.1)", val, s.from.StartLine)
			return c
		}
	}
	if k, err := strconv.Atoi(val); err == nil {
		if k >= 0 && k < i {
			c.earlier = k
			return c
		}
		c.why = fmt.Sprintf("COPY --from=%d names stage %d, which is not an earlier stage (stages count from 0, and this is stage %d) (8.1)", k, k, i)
		return c
	}
	c.why = fmt.Sprintf("COPY --from=%s copies from the image %s, not from an earlier stage; build in a stage named with FROM … AS builder and copy its output with COPY --from=builder (8.1)", val, val)
	return c
}

func (f *dfFile) copyFrom() dfRule {
	var r dfRule
	cs := f.copyFroms()
	var good []string
	for _, c := range cs {
		if c.earlier >= 0 {
			s := f.stages[c.earlier]
			good = append(good, fmt.Sprintf("COPY --from=%s at line %d copies from the stage at line %d", c.from, c.n.StartLine, s.from.StartLine))
		}
	}
	switch {
	case len(good) > 0:
		r.got = good[0]
		if len(good) > 1 {
			r.got += fmt.Sprintf(" (and %d more)", len(good)-1)
		}
	case len(f.stages) == 1:
		r.got = "one stage, nothing to copy from"
		r.bad = []dfFinding{{msg: "no COPY --from: with one stage there is no earlier stage to copy from; build in a stage named with FROM … AS builder and copy its output into the final stage with COPY --from=builder (8.1)"}}
	case len(cs) == 0:
		r.got = "no COPY --from"
		r.bad = []dfFinding{{msg: "no COPY --from in the Dockerfile, so the final stage takes nothing from the builder stage; copy what it built with COPY --from=<stage name> <path> <path> (8.1)"}}
	default:
		r.got = "no COPY --from copies from an earlier stage"
		for _, c := range cs {
			r.bad = append(r.bad, dfFinding{c.n.StartLine, c.n.EndLine, c.why})
		}
	}
	return r
}

// dfVersionHints suggest a pinned version for images the course uses.
var dfVersionHints = map[string]string{
	"node": "node:18-alpine", "python": "python:3.12-slim", "nginx": "nginx:1.25-alpine", "redis": "redis:7-alpine",
	"golang": "golang:1.22-alpine", "alpine": "alpine:3.19", "debian": "debian:bookworm-slim", "ubuntu": "ubuntu:22.04",
}

// dfPinHint suggests a pinned form of an image.
func dfPinHint(named reference.Named) string {
	name := reference.FamiliarName(named)
	if h, ok := dfVersionHints[name]; ok {
		return h
	}
	return name + ":<version>"
}

// dfIsScratch reports whether a base is the empty image.
func dfIsScratch(base string) bool { return strings.EqualFold(base, "scratch") }

// unresolvedBase says why a base could not be worked out, or "".
func (f *dfFile) unresolvedBase(s *dfStage) string {
	_, refErr := reference.ParseNormalizedNamed(s.base)
	switch {
	case s.expandErr != nil:
		return fmt.Sprintf("FROM %s: %v", s.raw, s.expandErr)
	case len(s.unresolved) > 0 && (s.base == "" || refErr != nil && !dfIsScratch(s.base)):
		return fmt.Sprintf("FROM %s depends on %s, which has no default value, so the base image is only known at build time; give it a pinned default, e.g. ARG %s=<image>:<version> before the FROM (4.4)",
			s.raw, strings.Join(s.unresolved, ", "), s.unresolved[0])
	case s.base == "":
		return "FROM " + s.raw + " names no image"
	}
	return ""
}

func (f *dfFile) taggedBase() dfRule {
	var r dfRule
	var seen []string
	for _, s := range f.stages {
		if s.parent >= 0 || (dfIsScratch(s.base) && s.expandErr == nil) {
			continue
		}
		line := s.from.StartLine
		bad := func(msg string) { r.bad = append(r.bad, dfFinding{line, s.from.EndLine, msg}) }
		if why := f.unresolvedBase(s); why != "" {
			seen = append(seen, fmt.Sprintf("FROM %s (line %d)", s.raw, line))
			bad(why)
			continue
		}
		shown := s.base
		if s.raw != s.base {
			shown = fmt.Sprintf("%s (%s)", s.raw, s.base)
		}
		seen = append(seen, fmt.Sprintf("FROM %s (line %d)", shown, line))
		named, err := reference.ParseNormalizedNamed(s.base)
		if err != nil {
			bad(fmt.Sprintf("FROM %s: %q is not a valid image reference (%v)", s.raw, s.base, err))
			continue
		}
		if _, ok := named.(reference.Digested); ok {
			continue
		}
		if tg, ok := named.(reference.Tagged); ok {
			if tg.Tag() == "latest" {
				bad(fmt.Sprintf("FROM %s uses the latest tag, which changes whenever the image is updated; pin a version such as %s (4.4)", shown, dfPinHint(named)))
			}
			continue
		}
		bad(fmt.Sprintf("FROM %s has no tag, so it means %s:latest, which changes whenever the image is updated; pin a version such as %s (4.4)",
			shown, reference.FamiliarName(named), dfPinHint(named)))
	}
	r.got = "base images: " + strings.Join(seen, ", ")
	if len(seen) == 0 {
		r.got = "no base image but scratch and earlier stages"
	}
	return r
}

// dfLastInstr returns the last instruction instr of a stage, nil if none.
func dfLastInstr(s *dfStage, instr string) *parser.Node {
	for i := len(s.nodes) - 1; i >= 0; i-- {
		if dfIsInstr(s.nodes[i], instr) {
			return s.nodes[i]
		}
	}
	return nil
}

func (f *dfFile) nonRoot() dfRule {
	var r dfRule
	s, inherited := f.final(), ""
	for s != nil {
		u := dfLastInstr(s, command.User)
		if u == nil {
			if s.parent < 0 {
				break
			}
			s = f.stages[s.parent]
			inherited = fmt.Sprintf(" (in the stage at line %d, which the final stage builds on)", s.from.StartLine)
			continue
		}
		raw := strings.Join(dfNodeArgs(u), " ")
		user := raw
		if x, _, err := f.lex.ProcessWord(raw, f.env(s, u)); err == nil {
			user = x
		}
		shown := "USER " + raw
		if user != raw {
			shown = fmt.Sprintf("USER %s (%s)", raw, user)
		}
		r.got = fmt.Sprintf("%s at line %d%s", shown, u.StartLine, inherited)
		switch {
		case user == "":
			r.bad = []dfFinding{{u.StartLine, u.EndLine, shown + " names no user, so the container runs as root; name an unprivileged user, e.g. USER node (4.4)"}}
		case isRoot(user):
			r.bad = []dfFinding{{u.StartLine, u.EndLine, shown + " is the last USER of the final stage" + inherited +
				", so the container runs as root; end the final stage with USER <an unprivileged user>, e.g. USER node (4.4)"}}
		}
		return r
	}
	r.got = "no USER in the final stage"
	r.bad = []dfFinding{{msg: fmt.Sprintf("the final stage (FROM at line %d) has no USER instruction, so the container runs as root; create an unprivileged user and switch to it with USER near the end of the final stage (4.4)", f.final().from.StartLine)}}
	return r
}

func (f *dfFile) execForm() dfRule {
	var r dfRule
	var gots []string
	for _, instr := range []string{command.Entrypoint, command.Cmd} {
		n := dfLastInstr(f.final(), instr)
		if n == nil {
			continue
		}
		name := strings.ToUpper(instr)
		args := dfNodeArgs(n)
		if n.Attributes["json"] {
			gots = append(gots, fmt.Sprintf("%s %s at line %d", name, showArgv(args), n.StartLine))
			continue
		}
		text := strings.Join(args, " ")
		gots = append(gots, fmt.Sprintf("%s %s (shell form) at line %d", name, text, n.StartLine))
		var msg string
		if strings.HasPrefix(text, "[") {
			msg = fmt.Sprintf("%s %s is not a valid JSON array (every item in double quotes, items separated by commas), so Docker runs it in shell form through /bin/sh; fix the array, e.g. %s [\"program\", \"arg\"] (4.3)",
				name, clip(text, 80), name)
		} else {
			msg = fmt.Sprintf("%s %s is in shell form, so /bin/sh runs as PID 1 and the program gets no stop signal; write it as a JSON array: %s %s (4.3)",
				name, clip(text, 80), name, dfExecSuggestion(text))
		}
		r.bad = append(r.bad, dfFinding{n.StartLine, n.EndLine, msg})
	}
	r.got = strings.Join(gots, ", ")
	if len(gots) == 0 {
		r.got = "no CMD or ENTRYPOINT in the final stage"
	}
	return r
}

// dfExecSuggestion writes a shell-form command as a JSON array when it is
// plain words, else a template.
func dfExecSuggestion(text string) string {
	if strings.ContainsAny(text, "$&|;<>()*?\"'`\\{}~#") || strings.TrimSpace(text) == "" {
		return `["program", "arg"]`
	}
	return showArgv(strings.Fields(text))
}

// dfArchiveExts are the archives ADD unpacks.
var dfArchiveExts = []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz"}

// dfAddAllowed reports whether ADD of src is something COPY cannot do: a
// URL, a git repository, or a local tar archive ADD unpacks.
func dfAddAllowed(src string) bool {
	l := strings.ToLower(src)
	if strings.Contains(l, "://") || strings.HasPrefix(l, "git@") || strings.HasPrefix(l, "<<") {
		return true
	}
	for _, ext := range dfArchiveExts {
		if strings.HasSuffix(l, ext) {
			return true
		}
	}
	return false
}

func (f *dfFile) copyNotAdd() dfRule {
	var r dfRule
	var adds []string
	for _, s := range f.stages {
		for _, n := range s.nodes {
			if !dfIsInstr(n, command.Add) {
				continue
			}
			adds = append(adds, strconv.Itoa(n.StartLine))
			args := dfNodeArgs(n)
			srcs := args
			if len(args) > 1 {
				srcs = args[:len(args)-1]
			}
			var local []string
			for _, a := range srcs {
				if !dfAddAllowed(a) {
					local = append(local, a)
				}
			}
			if len(local) == 0 {
				continue
			}
			rest, _ := strings.CutPrefix(strings.TrimSpace(n.Original), n.Value)
			rest = strings.TrimSpace(rest)
			r.bad = append(r.bad, dfFinding{n.StartLine, n.EndLine, fmt.Sprintf(
				"ADD %s copies local files; use COPY %s instead, as ADD is only for URLs and for unpacking tar archives (4.2)",
				clip(rest, 80), clip(rest, 80))})
		}
	}
	switch len(adds) {
	case 0:
		r.got = "no ADD"
	case 1:
		r.got = "ADD at line " + adds[0]
	default:
		r.got = "ADD at lines " + strings.Join(adds, ", ")
	}
	return r
}

// dfRunCommands returns the simple commands a RUN runs, each as its words.
func dfRunCommands(n *parser.Node) [][]string {
	args := dfNodeArgs(n)
	var cmds [][]string
	if n.Attributes["json"] {
		if len(args) >= 3 && (path.Base(args[0]) == "sh" || path.Base(args[0]) == "bash") && args[1] == "-c" {
			cmds = dfShellCommands(args[2])
		} else if len(args) > 0 {
			cmds = [][]string{args}
		}
	} else {
		cmds = dfShellCommands(strings.Join(args, " "))
	}
	for _, h := range n.Heredocs {
		cmds = append(cmds, dfShellCommands(h.Content)...)
	}
	return cmds
}

// dfShellCommands splits shell text into its simple commands, each a list of
// words with quotes removed: enough to see which programs a RUN runs, not a
// shell.
func dfShellCommands(script string) [][]string {
	var (
		cmds   [][]string
		words  []string
		w      strings.Builder
		inWord bool
	)
	endWord := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	r := []rune(script)
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '\\' && i+1 < len(r):
			i++
			if r[i] != '\n' {
				w.WriteRune(r[i])
				inWord = true
			}
		case c == '\'':
			inWord = true
			for i++; i < len(r) && r[i] != '\''; i++ {
				w.WriteRune(r[i])
			}
		case c == '"':
			inWord = true
			for i++; i < len(r) && r[i] != '"'; i++ {
				if r[i] == '\\' && i+1 < len(r) && strings.ContainsRune("\"\\$`", r[i+1]) {
					i++
				}
				w.WriteRune(r[i])
			}
		case c == '#' && !inWord:
			for i+1 < len(r) && r[i+1] != '\n' {
				i++
			}
		case strings.ContainsRune(";&|()`\n", c):
			endCmd()
		case unicode.IsSpace(c):
			endWord()
		default:
			w.WriteRune(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

// dfProgram returns the index of the program a simple command runs, past
// variable assignments and wrappers like sudo or env (-1: none).
func dfProgram(words []string) int {
	for i, w := range words {
		switch {
		case w == "sudo" || w == "env" || w == "command" || w == "exec" || w == "time" || w == "nice":
		case strings.HasPrefix(w, "-") && i > 0:
		case dfIsAssignment(w):
		default:
			return i
		}
	}
	return -1
}

// dfIsAssignment reports whether a word is NAME=value.
func dfIsAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, r := range name {
		ok := r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r)
		if !ok {
			return false
		}
	}
	return true
}

// dfAptFetch returns "apt-get update" or "apt-get install" (or with apt) when
// a simple command fills or uses apt's package lists, else "".
func dfAptFetch(words []string) string {
	i := dfProgram(words)
	if i < 0 {
		return ""
	}
	prog := path.Base(words[i])
	if prog != "apt-get" && prog != "apt" {
		return ""
	}
	for j := i + 1; j < len(words); j++ {
		a := words[j]
		switch {
		case a == "-o" || a == "-c" || a == "-t":
			j++
		case strings.HasPrefix(a, "-"):
		case a == "update" || a == "install":
			return prog + " " + a
		default:
			return ""
		}
	}
	return ""
}

// dfRemovesAptLists reports whether a simple command is rm of
// /var/lib/apt/lists or what is in it.
func dfRemovesAptLists(words []string) bool {
	i := dfProgram(words)
	if i < 0 || path.Base(words[i]) != "rm" {
		return false
	}
	for _, a := range words[i+1:] {
		p := strings.TrimRight(a, "/*")
		if p == "/var/lib/apt/lists" || strings.HasPrefix(p, "/var/lib/apt/lists/") {
			return true
		}
	}
	return false
}

func (f *dfFile) aptCleaned() dfRule {
	var r dfRule
	var fetching, cleaned int
	for _, s := range f.stages {
		for _, n := range s.nodes {
			if !dfIsInstr(n, command.Run) {
				continue
			}
			last, what := -1, ""
			clean := false
			for i, words := range dfRunCommands(n) {
				if a := dfAptFetch(words); a != "" {
					last, what, clean = i, a, false
				} else if last >= 0 && dfRemovesAptLists(words) {
					clean = true
				}
			}
			if last < 0 {
				continue
			}
			fetching++
			if clean {
				cleaned++
				continue
			}
			r.bad = append(r.bad, dfFinding{n.StartLine, n.EndLine, fmt.Sprintf(
				"RUN %s does not remove /var/lib/apt/lists in the same RUN, so the package lists stay in the layer; end that RUN with && rm -rf /var/lib/apt/lists/* (4.4)",
				dfRunShown(n, what))})
		}
	}
	r.got = "no RUN uses apt-get"
	if fetching > 0 {
		r.got = fmt.Sprintf("%s with apt-get update or install, %d of them removing /var/lib/apt/lists", dfCount(fetching, "RUN", "RUNs"), cleaned)
	}
	return r
}

// dfRunShown shows a RUN briefly for a message, starting at the apt command
// what when the RUN is long.
func dfRunShown(n *parser.Node, what string) string {
	text := strings.Join(strings.Fields(strings.Join(dfNodeArgs(n), " ")), " ")
	if n.Attributes["json"] {
		text = showArgv(dfNodeArgs(n))
	}
	r := []rune(text)
	if len(r) <= 60 {
		return text
	}
	if i := strings.Index(text, what); i > 0 {
		text = "… " + text[i:]
		r = []rune(text)
	}
	if len(r) > 60 {
		return string(r[:60]) + " …"
	}
	return text
}

func (f *dfFile) consecutiveRuns(most int) dfRule {
	var r dfRule
	longest, at := 0, ""
	for _, s := range f.stages {
		var streak []*parser.Node
		flush := func() {
			if len(streak) > longest {
				longest = len(streak)
				at = fmt.Sprintf(" (lines %d-%d)", streak[0].StartLine, streak[len(streak)-1].EndLine)
			}
			if len(streak) > most {
				fix := "merge them with && into one layer (4.4)"
				if most > 1 {
					fix = fmt.Sprintf("at most %s are allowed; merge related commands with && into one layer (4.4)", dfSpell(most))
				}
				r.bad = append(r.bad, dfFinding{streak[0].StartLine, streak[len(streak)-1].EndLine,
					fmt.Sprintf("%s RUN instructions in a row; %s", dfSpell(len(streak)), fix)})
			}
			streak = nil
		}
		for _, n := range s.nodes {
			if dfIsInstr(n, command.Run) {
				streak = append(streak, n)
				continue
			}
			flush()
		}
		flush()
	}
	switch longest {
	case 0:
		r.got = "no RUN instructions"
	case 1:
		r.got = "no two RUN instructions in a row"
	default:
		r.got = fmt.Sprintf("at most %d RUN instructions in a row%s", longest, at)
	}
	return r
}

// dfNormalRef returns an image reference in full, with :latest when it has
// no tag or digest, or ref itself when it is not one.
func dfNormalRef(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}

func (f *dfFile) finalBase(allowed []string) dfRule {
	var r dfRule
	s := f.final()
	via := ""
	for s.parent >= 0 {
		via = fmt.Sprintf(", through the stage at line %d", s.from.StartLine)
		s = f.stages[s.parent]
	}
	line := f.final().from.StartLine
	if why := f.unresolvedBase(s); why != "" {
		r.got = fmt.Sprintf("the final stage is FROM %s (line %d%s)", s.raw, s.from.StartLine, via)
		r.bad = []dfFinding{{s.from.StartLine, s.from.EndLine, why}}
		return r
	}
	r.got = fmt.Sprintf("the final stage is FROM %s (line %d%s)", s.base, s.from.StartLine, via)
	for _, a := range allowed {
		if dfNormalRef(a) == dfNormalRef(s.base) {
			return r
		}
	}
	r.bad = []dfFinding{{line, f.final().from.EndLine, fmt.Sprintf(
		"the final stage is based on %s%s; this assignment wants %s, a small base for the image that ships (4.4, 8.1)",
		s.base, via, strings.Join(allowed, " or "))}}
	return r
}

// dfCount writes "one stage", "3 stages".
func dfCount(n int, one, many string) string {
	if n == 1 {
		return "one " + one
	}
	return strconv.Itoa(n) + " " + many
}

// dfSpell writes small numbers as words, as a sentence would.
func dfSpell(n int) string {
	words := []string{"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	if n >= 0 && n < len(words) {
		return words[n]
	}
	return strconv.Itoa(n)
}
