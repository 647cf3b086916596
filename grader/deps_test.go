package grader_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gradeproject/grade"

// TestDependencyDirection asserts DESIGN.md's import direction, over every
// package each one reaches (transitively, as `go list -deps` lists them):
// cmd → grader → {scenario, report, engine} → checks, with checks free of
// Docker and testcontainers, the engine-side helper free of everything of
// grade's and of Docker's, and no package of grade's below cmd importing
// viper or cobra (a library the engine uses may: docker compose does).
func TestDependencyDirection(t *testing.T) {
	docker := []string{"github.com/moby/", "github.com/docker/docker", "github.com/testcontainers/"}
	cli := []string{"github.com/spf13/viper", "github.com/spf13/cobra", "github.com/spf13/pflag"}
	own := func(p ...string) []string {
		for i := range p {
			p[i] = module + "/" + p[i]
		}
		return p
	}
	// forbidden[pkg] lists import prefixes pkg must not reach.
	forbidden := map[string][]string{
		"checks":          concat(docker, own("grader", "cmd")),
		"grader/scenario": concat(docker, own("grader/engine", "grader/report", "grader/helper", "cmd")),
		"grader/report":   concat(docker, own("grader/engine", "grader/scenario", "grader/helper", "cmd")),
		"grader/engine":   own("grader/scenario", "grader/report", "cmd"),
		"grader/helper":   concat(docker, own("checks", "grader/engine", "grader/scenario", "grader/report", "grader/submission", "cmd")),
		// The API guard takes the engine and the job's sandbox as
		// interfaces: nothing of grade's engine, nor anything above it.
		"grader/guard": own("grader/engine", "grader/scenario", "grader/report", "grader/helper", "grader/submission", "cmd"),
		// The walk of a submission's files, shared by grader and
		// grader/engine: below both, with no Docker in it.
		"grader/submission": concat(docker, own("grader", "cmd")),
		"grader":            own("cmd"),
		"scenarios":         concat(docker, own("grader", "checks", "cmd")),
	}
	// allowed[pkg] lists what pkg may reach although a forbidden prefix
	// covers it: buildkit's Dockerfile parser (and the error stacks it
	// uses) reads text; it talks to no engine.
	parser := []string{"github.com/moby/buildkit/frontend/dockerfile/", "github.com/moby/buildkit/util/stack"}
	allowed := map[string][]string{"checks": parser, "grader/scenario": parser, "grader/report": parser, "grader/submission": parser}
	bad := func(d string, list []string) bool {
		return slices.ContainsFunc(list, func(b string) bool {
			return d == b || strings.HasPrefix(d, b+"/") || (strings.HasSuffix(b, "/") && strings.HasPrefix(d, b))
		})
	}
	for pkg, not := range forbidden {
		deps := reached(t, pkg)
		if len(deps) == 0 {
			t.Errorf("package %s not found", pkg)
			continue
		}
		for d, imports := range deps {
			if d != module+"/"+pkg && bad(d, not) && !slices.ContainsFunc(allowed[pkg], func(a string) bool { return strings.HasPrefix(d, a) }) {
				t.Errorf("%s reaches %s, against the dependency direction", pkg, d)
			}
			if strings.HasPrefix(d, module+"/") && !strings.HasPrefix(d, module+"/cmd/") {
				for _, i := range imports {
					if bad(i, cli) {
						t.Errorf("%s (reached from %s) imports %s; only cmd reads the command line", d, pkg, i)
					}
				}
			}
		}
	}
	// The walk of a submission's files takes only the standard library and
	// checks (for its LimitError): grader and grader/engine both import it,
	// so it stays below them and free of anything else.
	for _, d := range reached(t, "grader/submission")[module+"/grader/submission"] {
		if first, _, _ := strings.Cut(d, "/"); strings.Contains(first, ".") && d != module+"/checks" {
			t.Errorf("grader/submission imports %s; only the standard library and checks", d)
		}
	}
	// grader itself must not reach around the engine into Docker.
	for _, d := range reached(t, "grader")[module+"/grader"] {
		if bad(d, docker) {
			t.Errorf("grader imports %s; only grader/engine talks to Docker", d)
		}
	}
}

// reached maps every package pkg (of this module) reaches, itself
// included, to its direct imports.
func reached(t *testing.T, pkg string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, module+"/"+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p, deps, _ := strings.Cut(line, ":")
		m[p] = strings.Fields(deps)
	}
	return m
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// TestDependencyCheckCatches makes sure the rule above can fail: packages
// known to reach Docker, directly and through another, must be seen doing so.
func TestDependencyCheckCatches(t *testing.T) {
	for _, pkg := range []string{"grader/engine", "grader"} { // grader reaches it through the engine
		if _, ok := reached(t, pkg)["github.com/moby/moby/client"]; !ok {
			t.Errorf("%s is not seen reaching the Docker client", pkg)
		}
	}
}
