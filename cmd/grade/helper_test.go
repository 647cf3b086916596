package main

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestEmbeddedHelper: a grade that cannot be its own helper (here a
// dynamically linked Linux build, as a macOS or Windows one cannot either)
// makes the helper's image from the static Linux build it embeds
// (make build-embed), and grades with it: grade doctor's test job answers
// through the helper.
func TestEmbeddedHelper(t *testing.T) {
	eng := integration(t)
	helper := filepath.Join("..", "..", "grader", "engine", "helperbin", "grade-linux-"+runtime.GOARCH)
	build := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", append([]string{"build"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", args, err, out)
		}
	}
	// The helper as make helpers builds it (kept: it is ignored by git, and
	// make build-embed builds it again anyway).
	build([]string{"CGO_ENABLED=0", "GOOS=linux"}, "-trimpath", "-o", helper, ".")
	dyn := filepath.Join(t.TempDir(), "grade-dynamic")
	build([]string{"CGO_ENABLED=1"}, "-tags", "embedhelper", "-o", dyn, ".")
	f, err := elf.Open(dyn)
	if err != nil {
		t.Fatal(err)
	}
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	_ = f.Close()
	if !dynamic {
		t.Fatal("the cgo build is statically linked: it would be its own helper, and the test would prove nothing")
	}
	cmd := exec.CommandContext(context.Background(), dyn, "doctor")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "LANG=C")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "answered at") || !strings.Contains(string(out), "through grade's helper container") {
		t.Errorf("grade doctor with the embedded helper: %v\n%s", err, out)
	}
	nothingLeft(t, eng)
}
