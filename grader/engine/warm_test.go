package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gradeproject/grade/grader/engine"
)

// TestWarmThenClose: a job closed at any moment of a Warm (before it has
// begun, mid-way, after it) leaves nothing on the engine, and a Warm given
// time has made the job's network and helper.
func TestWarmThenClose(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatalf("integration tests need the Docker engine: %v", err)
	}
	defer func() { _ = eng.Close() }()
	for _, wait := range []time.Duration{0, 150 * time.Millisecond, 400 * time.Millisecond, 5 * time.Second} {
		job := eng.NewImageJob("warm/"+wait.String(), engine.JobOptions{})
		job.Warm(ctx, true)
		time.Sleep(wait)
		if wait == 5*time.Second {
			made, err := eng.Leftovers(ctx, eng.RunID())
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(made, "\n"); !strings.Contains(s, "network ") || !strings.Contains(s, "container ") {
				t.Errorf("after %s, the Warm had made:\n%s\nwant the job's network and its helper container", wait, s)
			}
		}
		if err := job.Close(); err != nil {
			t.Errorf("closing after %s: %v", wait, err)
		}
		if left, err := eng.Leftovers(ctx, eng.RunID()); err != nil || len(left) > 0 {
			t.Errorf("closed %s into a Warm: left on the engine (%v): %v", wait, err, left)
		}
	}
	_, _ = eng.CleanRun()
	if left, _ := eng.Leftovers(context.Background()); len(left) > 0 {
		t.Errorf("left on the engine: %v", left)
	}
}
