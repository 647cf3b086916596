package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gradeproject/grade/grader/engine"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "grade-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "grade")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static: it is also the helper in a container
	if out, err := build.CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// runGrade runs the binary from the repository root and returns its exit code,
// stdout and stderr.
func runGrade(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "LANG=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("running grade: %v", err)
	return 0, "", ""
}

func TestUsageAndLint(t *testing.T) {
	bad := t.TempDir()
	good, err := os.ReadFile("../../scenarios/ch04-first-dockerfile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	misspelt := strings.Replace(string(good), "    port: 3000\n    path: /", "    prot: 3000\n    path: /", 1)
	if misspelt == string(good) {
		t.Fatal("test input not found in the scenario")
	}
	if err := os.WriteFile(filepath.Join(bad, "s.yaml"), []byte(misspelt), 0o644); err != nil {
		t.Fatal(err)
	}
	bomb, err := filepath.Abs("testdata/yaml-bomb")
	if err != nil {
		t.Fatal(err)
	}
	bundled, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil || len(bundled) == 0 {
		t.Fatalf("no bundled scenarios found: %v", err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"lint bundled", []string{"lint"}, 0, fmt.Sprintf("%d scenarios, ", len(bundled)), ""},
		{"lint misspelt key", []string{"lint", "--scenarios", bad}, 78, "", `s.yaml:`},
		{"misspelt key says where", []string{"lint", "--scenarios", bad}, 78, "", `prot: unknown key; did you mean "port"?`},
		{"invalid scenario stops grading", []string{"--all", "--scenarios", bad}, 78, "", "invalid scenario"},
		{"nothing to do", nil, 2, "", "say what to grade"},
		{"unknown flag", []string{"--bogus"}, 2, "", "unknown flag"},
		{"bad output", []string{"--all", "-o", "xml"}, 2, "", `--output "xml"`},
		{"help has examples", []string{"--help"}, 0, "grade check . --scenario", ""},
		{"check needs a scenario", []string{"check", "."}, 2, "", "--scenario ID"},
		{"version", []string{"version"}, 0, "scenarios: ", ""},
		{"list", []string{"list", "--lang", "zh"}, 0, "编写你的第一个Dockerfile", ""},
		{"yaml bomb refused", []string{"lint", "--scenarios", bomb}, 78, "", "expands to more than"},
		{"unknown limit", []string{"--all", "--limit", "mem=1GiB"}, 2, "", `unknown limit "mem"`},
		{"bad limit", []string{"--all", "--limit", "memory=lots"}, 2, "", `"lots" is not a size`},
		{"bad run timeout", []string{"--all", "--timeout", "soon"}, 2, "", "--timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runGrade(t, context.Background(), tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			if !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, out)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, errOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic:") {
				t.Errorf("a stack trace reached the user:\n%s", errOut)
			}
		})
	}
	// The line and column of the misspelt key: line of "prot:" in the file.
	before, _, _ := strings.Cut(misspelt, "    prot:")
	line := 1 + strings.Count(before, "\n")
	_, _, errOut := runGrade(t, context.Background(), "lint", "--scenarios", bad)
	if want := filepath.Join(bad, "s.yaml") + ":" + strconv.Itoa(line) + ":5: checks[5].prot"; !strings.Contains(errOut, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut)
	}
}

// integration skips with -short and otherwise connects to the real engine.
func integration(t *testing.T) *engine.Engine {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	return engineFor(t)
}

// initDemo runs grade init ch99-demo in a fresh folder and returns it.
func initDemo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if code, out, errOut := runGrade(t, context.Background(), "init", "ch99-demo", "--dir", dir); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	return dir
}

func engineFor(t *testing.T) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatalf("integration tests need the Docker engine: %v", err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

func nothingLeft(t *testing.T, eng *engine.Engine) {
	t.Helper()
	left, err := eng.Leftovers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("left on the engine:\n%s", strings.Join(left, "\n"))
	}
}

// TestCheckSyntaxError is the student's view of a Dockerfile syntax error:
// the engine's message with the line, later checks skipped, exit code 1.
func TestCheckSyntaxError(t *testing.T) {
	eng := integration(t)
	code, out, errOut := runGrade(t, context.Background(), "check", "submissions/carol/ch04-first-dockerfile")
	if code != 1 {
		t.Errorf("exit code %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"Dockerfile:11: ", "unknown instruction: EXPOSE:", "SKIP greets", "the image did not build"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	nothingLeft(t, eng)
}

// TestMissingBaseImage: a base image the engine lacks is grade's error,
// named before anything starts (exit 3), never the student's 0; in --all
// only the jobs that need it are not graded.
func TestMissingBaseImage(t *testing.T) {
	eng := integration(t)
	dir := t.TempDir()
	for _, id := range []string{"ch04-first-dockerfile", "ch04-cmd-entrypoint"} {
		b, err := os.ReadFile(filepath.Join("../../scenarios", id+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if id == "ch04-first-dockerfile" {
			b = []byte(strings.Replace(string(b), "images: [node:18-alpine]", `images: [node:18-alpine, "grade/no-such-base:1"]`, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, id+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code, out, errOut := runGrade(t, ctx, "check", "submissions/alice/ch04-first-dockerfile", "--scenarios", dir, "--scenario", "ch04-first-dockerfile")
	if code != 3 || !strings.Contains(errOut, "grade/no-such-base:1") || !strings.Contains(errOut, "nothing was graded") || strings.Contains(out, "0/100") {
		t.Errorf("check: exit %d, want 3 naming the image before anything starts\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runGrade(t, ctx, "--all", "--student", "alice", "--scenarios", dir, "--quiet")
	if code != 3 {
		t.Errorf("--all: exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"not graded", "100/100"} { // the other scenario is graded
		if !strings.Contains(out, want) {
			t.Errorf("--all: the table lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "lacks the base images grade/no-such-base:1: the job that uses them is not graded") {
		t.Errorf("--all: stderr does not name the image:\n%s", errOut)
	}
	nothingLeft(t, eng)
}

// TestCtrlC interrupts `grade --all` as a user would and requires a clean
// engine and the interrupted exit code.
func TestCtrlC(t *testing.T) {
	eng := integration(t)
	cmd := exec.Command(bin, "--all", "--jobs", "2")
	cmd.Dir = "../.."
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the first jobs are under way.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(errb.String(), "[start]") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("waiting for grade: %v", err)
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("grade did not stop within 2 minutes of Ctrl-C")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d, want 130\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "Not graded, interrupted") {
		t.Errorf("the table does not say the run was interrupted:\n%s", out.String())
	}
	nothingLeft(t, eng)
}
