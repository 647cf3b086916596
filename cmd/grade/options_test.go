package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gradeproject/grade/checks"
)

// TestBindLimits: limits come from grade.yaml, then GRADE_LIMITS_*, then
// --limit; the run's time limit from timeout / --timeout.
func TestBindLimits(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "grade.yaml")
	if err := os.WriteFile(cfg, []byte("timeout: 45m\nlimits:\n  memory: 256MiB\n  build: 3m\n  pids: 128\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    checks.Limits
		timeout time.Duration
		err     string
	}{
		{"file", nil, nil, checks.Limits{Memory: 256 << 20, Build: 3 * 60e9, PIDs: 128}, 45 * time.Minute, ""},
		{"environment over file", map[string]string{"GRADE_LIMITS_MEMORY": "1GiB"}, nil,
			checks.Limits{Memory: 1 << 30, Build: 3 * 60e9, PIDs: 128}, 45 * time.Minute, ""},
		{"flag over environment", map[string]string{"GRADE_LIMITS_MEMORY": "1GiB"}, []string{"--limit", "memory=300MB", "--timeout", "10m"},
			checks.Limits{Memory: 300e6, Build: 3 * 60e9, PIDs: 128}, 10 * time.Minute, ""},
		{"cpus", nil, []string{"--limit", "cpus=0.5"}, checks.Limits{Memory: 256 << 20, Build: 3 * 60e9, PIDs: 128, CPUs: 0.5}, 45 * time.Minute, ""},
		{"too few pids", nil, []string{"--limit", "pids=2"}, checks.Limits{}, 0, "at least 16"},
		{"no value", nil, []string{"--limit", "memory"}, checks.Limits{}, 0, "KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			root := newRoot(io.Discard, io.Discard)
			if err := root.ParseFlags(append([]string{"--config", cfg}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			o, err := bind(root)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Limits != tt.want || o.Timeout != tt.timeout {
				t.Errorf("limits %+v timeout %s, want %+v %s", o.Limits, o.Timeout, tt.want, tt.timeout)
			}
		})
	}
}

// TestUnknownLimitInConfig: a misspelt key under limits: is an error that
// names it, not silently ignored.
func TestUnknownLimitInConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "grade.yaml")
	if err := os.WriteFile(cfg, []byte("limits:\n  memroy: 1GiB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := newRoot(io.Discard, io.Discard)
	if err := root.ParseFlags([]string{"--config", cfg}); err != nil {
		t.Fatal(err)
	}
	if _, err := bind(root); err == nil || !strings.Contains(err.Error(), "limits.memroy: unknown limit") {
		t.Errorf("error = %v", err)
	}
}
