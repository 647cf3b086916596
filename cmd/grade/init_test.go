package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInit(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runGrade(t, context.Background(), "init", "ch99-demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range []string{"scenarios/ch99-demo.yaml", "submissions/example-correct/ch99-demo/Dockerfile", "submissions/example-broken/ch99-demo/index.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not write %s", f)
		}
	}
	if code, out, errOut := runGrade(t, context.Background(), "lint", "--scenarios", filepath.Join(dir, "scenarios")); code != 0 {
		t.Errorf("the scaffolded scenario does not lint: %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runGrade(t, context.Background(), "init", "ch99-demo", "--dir", dir)
	if code != 2 || !strings.Contains(errOut, "never overwrites") {
		t.Errorf("a second init: exit %d, %s", code, errOut)
	}
	if code, _, _ := runGrade(t, context.Background(), "init", "Bad Name", "--dir", dir); code != 2 {
		t.Errorf("a bad id: exit %d", code)
	}
}

// TestInitGrades grades the scaffold as the README's walkthrough does.
func TestInitGrades(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	eng := engineFor(t)
	dir := t.TempDir()
	if code, out, errOut := runGrade(t, context.Background(), "init", "ch99-demo", "--dir", dir); code != 0 {
		t.Fatalf("init: %s%s", out, errOut)
	}
	code, out, errOut := runGrade(t, context.Background(), "--all", "--quiet", "-o", "csv",
		"--scenarios", filepath.Join(dir, "scenarios"), "--submissions", filepath.Join(dir, "submissions"))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the broken sample fails)\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"example-correct,100,100,100", "example-broken,10,10,100"} {
		if !strings.Contains(out, want) {
			t.Errorf("gradebook lacks %q:\n%s", want, out)
		}
	}
	nothingLeft(t, eng)
}
