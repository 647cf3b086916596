package scenario

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gradeproject/grade/checks"
)

const valid = `version: 1
id: ch04-first-dockerfile
chapter: 4
section: "4.1"
title: {en: Your first Dockerfile, zh: 第一个Dockerfile}
requires: [Dockerfile, app.js]
images: [node:18-alpine]
stack:
  image: {build: ., run: {env: {NODE_ENV: production}}}
limits: {job: 3m, memory: 256MiB, cpus: 0.5}
checks:
  - id: builds
    kind: build
    points: 10
  - id: greets
    kind: http
    port: 3000
    expect: {status: 200, body_contains: "Running on host: ${hostname}"}
    points: 30
    hint: {en: Listen on 0.0.0.0, zh: 监听 0.0.0.0}
    see: "4.1"
  - id: exposes
    kind: image
    expect: {exposes: [3000], workdir: /app}
    points: 10
    visibility: hidden
`

func TestParseValid(t *testing.T) {
	s, err := Parse("ok.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "ch04-first-dockerfile" || len(s.Checks) != 3 || s.Title.In("zh") != "第一个Dockerfile" {
		t.Fatalf("decoded %+v", s)
	}
	h, ok := s.Checks[1].Check.(*checks.HTTP)
	if !ok || h.Port != 3000 || h.Expect.BodyContains != "Running on host: ${hostname}" {
		t.Fatalf("http check decoded as %#v", s.Checks[1].Check)
	}
	if s.Checks[1].Line != 15 || s.Checks[1].Hint.In("en") != "Listen on 0.0.0.0" {
		t.Errorf("check line %d hint %q", s.Checks[1].Line, s.Checks[1].Hint.In("en"))
	}
	if got := s.MaxPoints(false); got != 40 {
		t.Errorf("visible points = %v, want 40", got)
	}
	if got := s.MaxPoints(true); got != 50 {
		t.Errorf("all points = %v, want 50", got)
	}
	lim := s.Effective(checks.DefaultLimits)
	if !strings.HasPrefix(s.Digest, "sha256:") || lim.Job.Std().String() != "3m0s" || lim.Memory != 256<<20 ||
		lim.CPUs != 0.5 || lim.Build != checks.DefaultLimits.Build {
		t.Errorf("digest %q limits %v", s.Digest, lim)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		old  string // replaced in valid
		new  string
		want []string
	}{
		{"misspelt key", "    port: 3000", "    prot: 3000", []string{`x.yaml:17:5: checks[1].prot: unknown key; did you mean "port"?`}},
		{"missing port", "    port: 3000\n", "", []string{`x.yaml:15:5: checks[1]`, "port"}},
		{"container outside a commands stack", "    port: 3000", "    port: 3000\n    container: web", []string{`checks[1].container`}},
		{"misspelt top key", "chapter: 4", "chapterr: 4", []string{`x.yaml:3:1: chapterr: unknown key; did you mean "chapter"?`}},
		{"nested misspelt key", "body_contains:", "body_contain:", []string{`x.yaml:18:27: checks[1].expect.body_contain: unknown key; did you mean "body_contains"?`}},
		{"wrong type", "port: 3000", "port: three", []string{`x.yaml:17:11: checks[1].port: is text; want a whole number`}},
		{"unknown kind", "kind: http", "kind: htpp", []string{`x.yaml:16:11: checks[1].kind: unknown check kind "htpp"; did you mean "http"?; known kinds: bind-mount, build, compose-down`}},
		{"kind for the other stack", "kind: build", "kind: compose-down", []string{`x.yaml:13:11: checks[0].kind: a compose-down check grades a compose stack, and this scenario's stack is image`}},
		{"missing field", "    points: 30\n", "", []string{`x.yaml:15:5: checks[1].points: missing; this key is required here`}},
		{"zero checks", "checks:" + strings.SplitN(valid, "checks:", 2)[1], "checks: []\n", []string{`checks: the scenario has no checks`}},
		{"bad duration", "job: 3m", "job: 3 minutes", []string{`x.yaml:10:15: limits.job: "3 minutes" is not a duration`}},
		{"bad size", "memory: 256MiB", "memory: lots", []string{`x.yaml:10:27: limits.memory: "lots" is not a size`}},
		{"unknown limit", "cpus: 0.5", "cpu: 0.5", []string{`limits.cpu: unknown key; did you mean "cpus"?`}},
		{"bad text", "title: {en: Your first Dockerfile, zh: 第一个Dockerfile}", "title: [a, b]", []string{`x.yaml:5:8: title: is a list; want text or a mapping`}},
		{"bad regexp", `body_contains: "Running on host: ${hostname}"`, `body_matches: "("`, []string{`checks[1].expect.body_matches: not a valid regular expression`}},
		{"unknown variable", "${hostname}", "${host}", []string{`checks[1].expect.body_contains: unknown variable ${host}`}},
		{"duplicate id", "id: exposes", "id: greets", []string{`x.yaml:22:9: checks[2].id: "greets" is also the id of checks[1]`}},
		{"path outside", "requires: [Dockerfile, app.js]", "requires: [../secret]", []string{`requires[0]: "../secret" must be a path inside`}},
		{"version", "version: 1", "version: 2", []string{`x.yaml:1:10: version: 2 is not one of: 1`}},
		{"yaml syntax", "checks:", "checks: [", []string{`x.yaml:`}},
		{"duplicate key", "chapter: 4", "chapter: 4\nchapter: 5", []string{`x.yaml:4:1: chapter: this key appears twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(valid, tt.old) {
				t.Fatalf("test input %q not in the valid scenario", tt.old)
			}
			_, err := Parse("x.yaml", []byte(strings.Replace(valid, tt.old, tt.new, 1)))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error = %v, want Errors", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors lack %q:\n%s", w, err)
				}
			}
		})
	}
}

// TestHostileYAML: files built to exhaust the loader are refused quickly.
func TestHostileYAML(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"self alias", "a: &a [*a]\n", "the alias *a refers to itself"},
		{"self alias in a mapping", "a: &a {b: *a}\n", "the alias *a refers to itself"},
		{"deep nesting", strings.Repeat("[", 500) + strings.Repeat("]", 500) + "\n", "nests deeper than 64 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("h.yaml", []byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestYAMLBomb(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += n + ": &" + n + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = n
	}
	_, err := Parse("bomb.yaml", []byte(bomb))
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Fatalf("error = %v", err)
	}
}

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml":    {Data: []byte(valid)},
		"b.yaml":    {Data: []byte(strings.Replace(valid, "chapter: 4", "chapter: four", 1))},
		"c.yaml":    {Data: []byte(valid)},
		"notes.txt": {Data: []byte("ignored")},
	}
	_, err := Load(fsys, "dir/")
	if err == nil {
		t.Fatal("loaded a set with errors")
	}
	for _, w := range []string{"dir/b.yaml:3:10: chapter: is text; want a whole number", `dir/c.yaml:1:1: id: "ch04-first-dockerfile" is also the id of dir/a.yaml`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q:\n%s", w, err)
		}
	}
	if _, err := Load(fstest.MapFS{}, "empty/"); err == nil {
		t.Error("an empty directory loaded")
	}
	big := fstest.MapFS{"big.yaml": {Data: []byte("# " + strings.Repeat("x", MaxFileSize))}}
	if _, err := Load(big, ""); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}

func TestSchemaIsJSON(t *testing.T) {
	b, err := JSONSchema()
	if err != nil || !strings.Contains(string(b), `"$defs"`) {
		t.Fatalf("schema: %v", err)
	}
}
