package checks

import (
	"context"
	"testing"
	"time"
)

func TestBuild(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		status Status
		frags  []string
	}{
		{"built", &fake{build: BuildInfo{OK: true, Size: 180e6, Duration: 3 * time.Second}}, StatusPass, []string{"built in 3s", "180MB"}},
		{"syntax error", &fake{build: BuildInfo{Dockerfile: "Dockerfile", Line: 3,
			Error: "dockerfile parse error line 3: unknown instruction: RUNN", Log: "Step 1/4 : FROM node:18-alpine\n"}},
			StatusFail, []string{"Dockerfile:3: dockerfile parse error line 3: unknown instruction: RUNN", "Step 1/4"}},
		{"no line", &fake{build: BuildInfo{Error: "COPY failed: file not found in build context"}},
			StatusFail, []string{"Dockerfile: COPY failed"}},
		{"no capability", bare{}, StatusError, []string{"cannot report a build"}},
		{"timed out", &fake{build: BuildInfo{Dockerfile: "Dockerfile", Line: 7, TimedOut: true, Running: "RUN go test ./...",
			Error: "the build did not finish within 3m0s and was stopped while it ran `RUN go test ./...`"}},
			StatusFail, []string{"ran out of time", "Dockerfile:7: the build did not finish within 3m0s", "RUN go test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := (&Build{}).Run(context.Background(), tt.target)
			want(t, o, tt.status, tt.frags...)
			// The hint is the timeout's own only for a timeout.
			if timedOut := tt.name == "timed out"; timedOut != (o.Hint == timeoutHint) {
				t.Errorf("hint %+v", o.Hint)
			}
		})
	}
}

func TestLogTail(t *testing.T) {
	if got := logTail("a\nb\nc\n", 2); got != "… (1 earlier lines)\nb\nc" {
		t.Errorf("logTail = %q", got)
	}
	if got := logTail("a\n", 5); got != "a" {
		t.Errorf("logTail = %q", got)
	}
}
