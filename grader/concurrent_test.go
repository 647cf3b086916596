package grader_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gradeproject/grade/grader"
	"github.com/gradeproject/grade/grader/report"
)

// concurrency is what TestSamples' second grade process grades while the
// test grades every sample (never for the subset, nor with -update):
// GRADE_TEST_CONCURRENT=full: every sample too (two full runs at once);
// =share: a sixth of the samples (repeatShare, which sixth turning
// with the day); unset or 0: nothing. Its verdicts must be the expected
// ones: concurrent runs do not disturb each other. Off in make test: with
// four jobs at once on 2 cores a check's time limit can still run out
// (docs/design.md, Tests).
func concurrency() string {
	if updating() || os.Getenv("GRADE_TEST_SAMPLES") == "subset" {
		return "0"
	}
	switch v := os.Getenv("GRADE_TEST_CONCURRENT"); v {
	case "full", "share":
		return v
	default:
		return "0"
	}
}

// otherRun is a grade process (the real command, built for the test)
// grading samples beside the test's own run.
type otherRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan error
}

// startOtherRun builds grade and starts `grade --all` over the jobs of
// subs, printing JSON.
func startOtherRun(t *testing.T, subs []grader.Submission) *otherRun {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "grade")
	build := exec.Command("go", "build", "-o", bin, "../cmd/grade")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // the executable is also its helper, on the engine
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building grade: %v\n%s", err, out)
	}
	args := []string{"--all", "--submissions", submissionsDir, "-o", "json", "--quiet", "--jobs", "2", "--lang", "en"}
	for _, s := range subs {
		args = append(args, "--job", s.Student+"/"+s.Scenario.ID)
	}
	o := &otherRun{done: make(chan error, 1)}
	o.cmd = exec.Command(bin, args...)
	o.cmd.Stdout, o.cmd.Stderr = &o.stdout, &o.stderr
	if err := o.cmd.Start(); err != nil {
		t.Fatalf("starting the other grade process: %v", err)
	}
	go func() { o.done <- o.cmd.Wait() }()
	t.Cleanup(func() {
		if o.cmd.ProcessState == nil {
			_ = o.cmd.Process.Signal(os.Interrupt)
			select {
			case err := <-o.done:
				_ = err // stopped by the test: its status says nothing
			case <-time.After(time.Minute):
				_ = o.cmd.Process.Kill()
			}
		}
	})
	return o
}

// wait waits for the other run, checks it graded every job of subs and left
// nothing, and returns its jobs.
func (o *otherRun) wait(t *testing.T, subs []grader.Submission) []*report.Job {
	t.Helper()
	err := <-o.done
	var run report.Run
	if jerr := json.Unmarshal(o.stdout.Bytes(), &run); jerr != nil {
		t.Fatalf("the other grade process (%v) printed no JSON run: %v\n%s", err, jerr, tail(o.stderr.String()))
	}
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 1) { // 1: some submission failed
		t.Errorf("the other grade process: %v\n%s", err, tail(o.stderr.String()))
	}
	if len(run.Jobs) != len(subs) || run.Interrupted {
		t.Errorf("the other grade process graded %d of %d jobs", len(run.Jobs), len(subs))
	}
	t.Logf("the other grade process graded %d jobs in %.0fs", len(run.Jobs), run.DurationSec)
	eng := connectEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if left, err := eng.Leftovers(ctx, run.RunID); err != nil || len(left) > 0 {
		t.Errorf("the other grade process left on the engine (%v):\n%s", err, strings.Join(left, "\n"))
	}
	return run.Jobs
}

// tail is the end of a long output.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
