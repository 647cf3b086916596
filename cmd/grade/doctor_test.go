package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDoctor runs grade doctor against the real engine (everything works
// here), and against an engine that is not there (it says what to do).
func TestDoctor(t *testing.T) {
	eng := integration(t)
	kind := "✓ kind: an engine on this machine"
	if h := os.Getenv("DOCKER_HOST"); h != "" && !strings.HasPrefix(h, "unix://") {
		kind = "✓ kind: an engine not on this machine"
	}
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		want   []string
		reject []string
	}{
		{"here", nil, nil, 0, []string{"✓ engine: Docker", kind, "every bundled scenario can be graded on it",
			"✓ a test container built, ran and answered", "through grade's helper container", "All good"}, []string{"✗"}},
		{"chinese", nil, []string{"--lang", "zh"}, 0, []string{"一切正常"}, nil},
		{"no engine", []string{"DOCKER_HOST=unix:///nonexistent.sock"}, nil, 3, []string{"✗", "nonexistent.sock", "→ start it"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.CommandContext(context.Background(), bin, append([]string{"doctor"}, tt.args...)...)
			cmd.Dir = "../.."
			cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "LANG=C"), tt.env...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, r := range tt.reject {
				if strings.Contains(out.String(), r) {
					t.Errorf("output has %q:\n%s", r, out.String())
				}
			}
		})
	}
	nothingLeft(t, eng)
}
