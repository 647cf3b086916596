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

// TestInitGrades grades the scaffold as the walkthrough of docs/scenarios.md does.
func TestInitGrades(t *testing.T) {
	eng := integration(t)
	dir := initDemo(t)
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

// TestCheckHidesHidden: a student's self-check never shows a hidden check,
// in any format; the instructor's run does.
func TestCheckHidesHidden(t *testing.T) {
	eng := integration(t)
	dir := initDemo(t)
	sc := filepath.Join(dir, "scenarios", "ch99-demo.yaml")
	b, err := os.ReadFile(sc)
	if err != nil {
		t.Fatal(err)
	}
	hidden := "  - id: zz-secret-probe\n    kind: image\n    title: Secret probe title\n    expect: {non_root: true}\n    points: 5\n    visibility: hidden\n"
	if err := os.WriteFile(sc, append(b, hidden...), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "submissions", "example-broken", "ch99-demo")
	for _, format := range []string{"table", "json", "junit", "markdown", "gradescope", "html", "csv"} {
		_, out, errOut := runGrade(t, context.Background(), "check", broken, "--scenarios", filepath.Join(dir, "scenarios"), "-o", format)
		if strings.Contains(out+errOut, "zz-secret-probe") || strings.Contains(out+errOut, "Secret probe") {
			t.Errorf("grade check -o %s shows the hidden check:\n%s", format, out)
		}
		if format == "csv" && !strings.Contains(out, "example-broken,10,10,100") {
			t.Errorf("the hidden check's points count for the student:\n%s", out)
		}
	}
	_, out, _ := runGrade(t, context.Background(), "--all", "--scenarios", filepath.Join(dir, "scenarios"),
		"--submissions", filepath.Join(dir, "submissions"), "-o", "json")
	if !strings.Contains(out, "zz-secret-probe") {
		t.Error("the instructor's run does not show the hidden check")
	}
	nothingLeft(t, eng)
}
