package grader_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gradeproject/grade"

// TestDependencyDirection asserts DESIGN.md's import direction:
// cmd → grader → {scenario, report, engine} → checks, with checks free of
// Docker, testcontainers, viper and cobra, and nothing below cmd reading
// viper or cobra.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		imports[strings.TrimPrefix(pkg, module+"/")] = strings.Fields(deps)
	}
	// forbidden[pkg] lists import prefixes pkg must not use.
	docker := []string{"github.com/moby/", "github.com/docker/docker", "github.com/testcontainers/"}
	cli := []string{"github.com/spf13/viper", "github.com/spf13/cobra", "github.com/spf13/pflag"}
	own := func(p ...string) []string {
		for i := range p {
			p[i] = module + "/" + p[i]
		}
		return p
	}
	forbidden := map[string][]string{
		"checks":          concat(docker, cli, own("grader", "cmd")),
		"grader/scenario": concat(docker, cli, own("grader/engine", "grader/report", "cmd")),
		"grader/report":   concat(docker, cli, own("grader/engine", "grader/scenario", "cmd")),
		"grader/engine":   concat(cli, own("grader/scenario", "grader/report", "cmd")),
		"grader":          concat(cli, own("cmd")),
		"scenarios":       concat(docker, cli, own("grader", "checks", "cmd")),
	}
	// allowed[pkg] lists imports pkg may use although a forbidden prefix
	// covers them: buildkit's Dockerfile parser reads text; it talks to no
	// engine.
	allowed := map[string][]string{
		"checks": {"github.com/moby/buildkit/frontend/dockerfile/"},
	}
	for pkg, bad := range forbidden {
		deps, ok := imports[pkg]
		if !ok {
			t.Errorf("package %s not found", pkg)
			continue
		}
		for _, d := range deps {
			if slices.ContainsFunc(allowed[pkg], func(a string) bool { return strings.HasPrefix(d, a) }) {
				continue
			}
			for _, b := range bad {
				if d == b || strings.HasPrefix(d, b+"/") || (strings.HasSuffix(b, "/") && strings.HasPrefix(d, b)) {
					t.Errorf("%s imports %s, against the dependency direction", pkg, d)
				}
			}
		}
	}
	// grader itself must not reach around the engine into Docker.
	for _, d := range imports["grader"] {
		for _, b := range docker {
			if strings.HasPrefix(d, b) {
				t.Errorf("grader imports %s; only grader/engine talks to Docker", d)
			}
		}
	}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// TestDependencyCheckCatches makes sure the rule above can fail: a package
// known to import Docker must be seen doing so.
func TestDependencyCheckCatches(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, module+"/grader/engine").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/moby/") {
		t.Fatalf("grader/engine's imports do not show the Docker client: %s", out)
	}
}
