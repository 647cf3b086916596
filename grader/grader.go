package grader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/engine"
	"github.com/gradeproject/grade/grader/report"
	"github.com/gradeproject/grade/grader/scenario"
)

// Job is what the grader needs of one job on the engine: a check target
// that cleans up after itself. An image stack's job also builds (Builder),
// a compose stack's brings its stack up (Upper).
type Job interface {
	checks.Target
	Close() error
}

// Builder builds the image of an image stack's job.
type Builder interface {
	Build(ctx context.Context, spec engine.BuildSpec) (checks.BuildInfo, error)
}

// Upper brings a compose stack's job's stack up.
type Upper interface {
	Up(ctx context.Context, spec engine.ComposeSpec) (checks.StackInfo, error)
}

// Warmer is a job that can make, while its image builds, what its checks
// will need whatever the build gives (its network, its helper).
type Warmer interface {
	Warm(ctx context.Context, helper bool)
}

// warmFor says what an image stack's job warms while it builds: its
// network when a check starts the app (NeedsContainer), and its helper
// when a check reaches the app over the network (http).
func warmFor(sc *scenario.Scenario, hidden bool) (network, helper bool) {
	for _, c := range sc.Checks {
		if c.Hidden() && !hidden {
			continue
		}
		if c.Check.Requires() >= checks.NeedsContainer {
			network = true
		}
		if c.Kind == "http" {
			network, helper = true, true
		}
	}
	return network, helper
}

// Engine makes jobs. *engine.Engine satisfies it through EngineJobs.
type Engine interface {
	NewJob(name string, opts engine.JobOptions) Job
	RunID() string
}

// EngineJobs adapts *engine.Engine to Engine.
type EngineJobs struct{ *engine.Engine }

// NewJob makes an engine job.
func (e EngineJobs) NewJob(name string, opts engine.JobOptions) Job {
	return e.Engine.NewJob(name, opts)
}

// Options says how to run.
type Options struct {
	// Parallel is the number of jobs graded at once (at least 1).
	Parallel int
	// Hidden includes hidden checks (instructor mode).
	Hidden bool
	// Progress hears of every job started and finished; nil for none.
	Progress Progress
	// Version is grade's version, recorded in the report.
	Version string
	// RunTimeout is the run's time limit, for the report (0: none).
	RunTimeout time.Duration
	// Limits are the configured limits (over checks.DefaultLimits); each
	// scenario may override them.
	Limits checks.Limits
	// Missing are base images the engine lacks: a job whose scenario
	// names one is not graded (an error verdict naming them), never the
	// student's failure.
	Missing map[string]bool

	// busy says what else kept the engine busy (set by Run).
	busy func() string
}

// OtherRuns is an engine that knows whether other grade processes are
// grading on it (engine.Engine does, for those of this machine).
type OtherRuns interface{ OtherRunsLive() bool }

// busyNote says what else kept the engine busy while a job ran: the run's
// other jobs in flight, other grade processes on the engine; "" if nothing.
func busyNote(inflight int32, eng Engine) string {
	var parts []string
	if n := inflight - 1; n == 1 {
		parts = append(parts, "1 other job of this run was being graded")
	} else if n > 1 {
		parts = append(parts, fmt.Sprintf("%d other jobs of this run were being graded", n))
	}
	if o, ok := eng.(OtherRuns); ok && o.OtherRunsLive() {
		parts = append(parts, "another grade process was grading on the same engine")
	}
	return strings.Join(parts, ", and ")
}

// Run grades every submission and returns the results. When ctx is
// cancelled (Ctrl-C) it starts no new job, stops the running ones, cleans
// up, and returns what was graded with Interrupted set.
func Run(ctx context.Context, eng Engine, subs []Submission, o Options) *report.Run {
	start := time.Now()
	run := &report.Run{Format: report.FormatVersion, Grade: o.Version, RunID: eng.RunID(), Started: start.UTC().Truncate(time.Second)}
	results := make([]*report.Job, len(subs))
	work := make(chan int)
	var inflight atomic.Int32
	o.busy = func() string { return busyNote(inflight.Load(), eng) }
	var wg sync.WaitGroup
	for range max(o.Parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				s := subs[i]
				if o.Progress != nil {
					o.Progress.Started(s.Name())
				}
				inflight.Add(1)
				j := gradeOne(ctx, eng, s, o)
				inflight.Add(-1)
				if ctx.Err() != nil {
					continue // interrupted: not graded
				}
				results[i] = j
				if o.Progress != nil {
					o.Progress.Finished(s.Name(), j)
				}
			}
		}()
	}
	for i := range subs {
		if ctx.Err() != nil {
			break
		}
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	for i, j := range results {
		if j == nil {
			run.Interrupted = true
			run.NotGraded = append(run.NotGraded, subs[i].Name())
			continue
		}
		run.Jobs = append(run.Jobs, j)
	}
	if run.Interrupted {
		run.StopReason = "interrupted (Ctrl-C or SIGTERM)"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			run.StopReason = fmt.Sprintf("the run's time limit (%s) ran out", o.RunTimeout)
		}
	}
	run.DurationSec = round(time.Since(start).Seconds())
	return run
}

// gradeOne grades one submission; the job's objects are removed before it returns.
func gradeOne(ctx context.Context, eng Engine, s Submission, o Options) *report.Job {
	start := time.Now()
	sc := s.Scenario
	res := &report.Job{Student: s.Student, Scenario: sc.ID, Title: sc.Title, Section: sc.Section,
		Max: sc.MaxPoints(o.Hidden), ScenarioDigest: sc.Digest}
	defer func() { res.DurationSec = round(time.Since(start).Seconds()) }()
	if d, err := digestDir(s.Dir); err == nil {
		res.SubmissionDigest = d
	}

	if imgs := missingImages(sc, o.Missing); len(imgs) > 0 {
		why := fmt.Sprintf("not graded: the engine lacks the base image %s that the assignment uses "+
			"(run 'make images' or docker pull it, then grade again)", strings.Join(imgs, ", "))
		res.Error = why
		for _, c := range sc.Checks {
			if !c.Hidden() || o.Hidden {
				res.Checks = append(res.Checks, errored(c, why))
			}
		}
		return res
	}
	if missing := missingFiles(s.Dir, sc.Requires); len(missing) > 0 {
		why := fmt.Sprintf("the submission has no %s (the assignment needs it)", strings.Join(missing, ", "))
		for _, c := range sc.Checks {
			if c.Hidden() && !o.Hidden {
				continue
			}
			res.Checks = append(res.Checks, skipped(c, why))
		}
		return res
	}
	env := make([]string, 0)
	if sc.Stack.Image != nil {
		for k, v := range sc.Stack.Image.Run.Env {
			env = append(env, k+"="+v)
		}
		sort.Strings(env)
	}
	lim := sc.Effective(o.Limits.Over(checks.DefaultLimits))
	opts := engine.JobOptions{Env: env, Outbound: sc.Stack.Outbound, OfflineBuild: sc.Stack.OfflineBuild(), Dir: s.Dir, Limits: lim, Compose: sc.IsCompose()}
	if sc.IsCommands() {
		opts.Commands = &engine.CommandsOptions{Images: sc.Images}
	}
	job := eng.NewJob(s.Name(), opts)
	defer func() {
		if err := job.Close(); err != nil {
			res.Error = joinErr(res.Error, "cleaning up: "+err.Error())
		}
	}()
	jctx, cancel := context.WithTimeout(ctx, lim.Job.Std())
	defer cancel()

	if w, ok := job.(Warmer); ok && sc.Stack.Image != nil {
		if network, helper := warmFor(sc, o.Hidden); network {
			w.Warm(jctx, helper)
		}
	}
	ready, err := prepare(jctx, job, s, lim, res)
	if err != nil {
		if ctx.Err() != nil {
			return res
		}
		res.Error = err.Error()
		for _, c := range sc.Checks {
			if !c.Hidden() || o.Hidden {
				res.Checks = append(res.Checks, errored(c, "grade could not build or start the submission: "+err.Error()))
			}
		}
		return res
	}
	prepCheck, what := "the build", "the image did not build"
	switch {
	case sc.IsCompose():
		prepCheck, what = "the stack", "the compose stack did not come up"
	case sc.IsCommands() && res.Build != nil:
		what = res.Build.Error
	}
	for _, c := range sc.Checks {
		if c.Kind == "build" || c.Kind == "compose-up" {
			prepCheck = "check " + c.ID
			break
		}
	}
	for _, c := range sc.Checks {
		if c.Hidden() && !o.Hidden {
			continue
		}
		if ctx.Err() != nil {
			return res
		}
		if c.Check.Requires() >= checks.NeedsImage && !ready {
			why := "skipped: " + what + " (see " + prepCheck + ")"
			if sc.IsCommands() {
				why = "skipped: " + what
			}
			res.Checks = append(res.Checks, skipped(c, why))
			continue
		}
		if jctx.Err() != nil {
			r := result(c, checks.Fail("", "", fmt.Sprintf("the job's time limit (%s) ran out before this check", lim.Job.Std())))
			res.Checks = append(res.Checks, r)
			continue
		}
		r := runCheck(jctx, c, job, lim.Check.Std(), o.busy)
		if ctx.Err() != nil {
			return res // interrupted mid-check: the verdict is not trustworthy
		}
		res.Checks = append(res.Checks, r)
		res.Score += r.Points
	}
	res.Score = round(res.Score)
	return res
}

// prepare builds the submission's image, or brings its compose stack up,
// and records it in res. ready says whether checks that need it can run.
func prepare(ctx context.Context, job Job, s Submission, lim checks.Limits, res *report.Job) (bool, error) {
	sc := s.Scenario
	if sc.IsCommands() {
		// Nothing to build or start: the script check runs the commands.
		return true, nil
	}
	if sc.IsCompose() {
		up, ok := job.(Upper)
		if !ok {
			return false, fmt.Errorf("grade's job for %s cannot bring a compose stack up (grade's bug)", s.Name())
		}
		info, err := up.Up(ctx, engine.ComposeSpec{Dir: s.Dir, File: sc.Stack.Compose, BuildTimeout: lim.Build.Std(), Images: sc.Images})
		if err != nil {
			return false, err
		}
		b := &report.Build{OK: info.OK, Dockerfile: info.File, Error: info.Error, Log: info.Log}
		if len(info.Refused) > 0 {
			b.Error = "refused: " + strings.Join(info.Refused, "; ")
		}
		res.Build = b
		return info.OK, nil
	}
	b, ok := job.(Builder)
	if !ok {
		return false, fmt.Errorf("grade's job for %s cannot build an image (grade's bug)", s.Name())
	}
	build, err := b.Build(ctx, engine.BuildSpec{
		Dir:        filepath.Join(s.Dir, filepath.FromSlash(sc.Context())),
		Dockerfile: filepath.FromSlash(sc.Dockerfile()),
		Shown:      filepath.ToSlash(filepath.Join(sc.Context(), sc.Dockerfile())),
		Timeout:    lim.Build.Std(),
		Target:     sc.Stack.Image.Target,
		Plant:      plants(sc),
	})
	if err != nil {
		return false, err
	}
	res.Build = &report.Build{OK: build.OK, Dockerfile: build.Dockerfile, Error: build.Error, Line: build.Line,
		ImageID: build.ImageID, Log: build.Log}
	return build.OK, nil
}

// plants gathers the files the scenario's checks put into the build context
// (a secret a working .dockerignore must keep out of the image).
func plants(sc *scenario.Scenario) map[string][]byte {
	var out map[string][]byte
	for _, c := range sc.Checks {
		p, ok := c.Check.(checks.Planter)
		if !ok {
			continue
		}
		for path, content := range p.Plants() {
			if out == nil {
				out = map[string][]byte{}
			}
			out[path] = []byte(content)
		}
	}
	return out
}

// runCheck runs one check within its time limit; a panic in a check is
// grade's bug and becomes an error verdict, not a crash.
//
// A check that did not pass because its time limit ran out says what else
// kept the engine busy meanwhile (busy may be nil).
func runCheck(ctx context.Context, c scenario.CheckSpec, t checks.Target, def time.Duration, busy func() string) (r report.Result) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			r = result(c, checks.Errored("", fmt.Errorf("internal error in the %s check: %v", c.Kind, p)))
		}
		r.DurationSec = round(time.Since(start).Seconds())
	}()
	limit := c.Limit(def)
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	o := c.Check.Run(cctx, t)
	if errors.Is(cctx.Err(), context.DeadlineExceeded) && (o.Status == checks.StatusFail || o.Status == checks.StatusError) && busy != nil {
		if note := busy(); note != "" {
			o.Message = strings.TrimSpace(o.Message + fmt.Sprintf(" (the check's time limit of %s ran out while the engine was busy: %s)", limit, note))
		}
	}
	return result(c, o)
}

func result(c scenario.CheckSpec, o checks.Outcome) report.Result {
	score := o.Score
	hint := c.Hint
	if o.Hint.EN != "" || o.Hint.ZH != "" {
		hint = o.Hint
	}
	return report.Result{
		Check: c.ID, Kind: c.Kind, Title: c.Title, Status: o.Status,
		Points: round(c.Points * score), Max: c.Points,
		Expected: o.Expected, Actual: o.Actual, Message: o.Message, Detail: o.Detail,
		Hint: hint, See: c.See, Hidden: c.Hidden(),
	}
}

func skipped(c scenario.CheckSpec, why string) report.Result {
	return result(c, checks.Outcome{Status: checks.StatusSkipped, Message: why})
}

func errored(c scenario.CheckSpec, why string) report.Result {
	return result(c, checks.Errored("", errors.New(why)))
}

// missingImages lists the scenario's images that are in missing.
func missingImages(sc *scenario.Scenario, missing map[string]bool) []string {
	var out []string
	for _, img := range sc.Images {
		if missing[img] {
			out = append(out, img)
		}
	}
	return out
}

// missingFiles lists the required paths absent from dir.
func missingFiles(dir string, required []string) []string {
	var missing []string
	for _, r := range required {
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(r))); err != nil {
			missing = append(missing, r)
		}
	}
	return missing
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func round(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func trim(f float64) string { return fmt.Sprintf("%g", f) }
