package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gradeproject/grade/grader"
	"github.com/gradeproject/grade/grader/engine"
	"github.com/gradeproject/grade/grader/report"
	"github.com/gradeproject/grade/grader/scenario"
	"github.com/gradeproject/grade/scenarios"
)

// version and commit are set at build time (-ldflags "-X main.version=…
// -X main.commit=…"; GoReleaser and make build do); a `go install`ed grade
// reads them from its build information instead.
var version, commit = "", ""

func gradeVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// gradeCommit is the commit grade was built from: the linker's, else the
// one go build recorded (a build in a git checkout), else "unknown".
func gradeCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
	}
	return "unknown"
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return ee.code // the result was printed; only the code remains
	}
	if !errors.As(err, &ee) && !errors.Is(err, context.Canceled) {
		// cobra's own errors (unknown flag, bad argument) are usage errors
		if isCobraUsage(err) {
			fmt.Fprintf(stderr, "grade: %v\nRun 'grade --help' for usage.\n", err)
			return exitUsage
		}
	}
	fmt.Fprintf(stderr, "grade: %v\n", err)
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	return codeOf(err)
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, s := range []string{"unknown flag", "unknown shorthand", "unknown command", "accepts ", "requires at least", "flag needs an argument", "invalid argument"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "grade",
		Short: "Grade Docker course assignments on a real Docker engine",
		Long: `grade builds each student's submission on a Docker engine, runs the checks of
the assignment's scenario against what comes up, scores them, removes
everything it created and prints a score table.

Submissions live in submissions/<student>/<scenario-id>/.`,
		Example: `  grade --all                          grade every student × scenario under submissions/
  grade --all --student alice          only alice's submissions
  grade --all -o json > results.json   the same results as JSON
  grade check . --scenario ch04-first-dockerfile
                                       a student checks their own folder
  grade lint --scenarios my-scenarios/ validate scenario files
  grade clean                          remove what crashed runs left behind`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, _ := cmd.Flags().GetBool("all")
			if !all {
				_ = cmd.Help()
				return usageErr("say what to grade: --all, or 'grade check DIR'")
			}
			o, err := bind(cmd)
			if err != nil {
				return err
			}
			return gradeAll(cmd.Context(), o, stdout, stderr)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%v", err) })
	addGlobalFlags(root.PersistentFlags())
	f := root.Flags()
	f.Bool("all", false, "grade every student × scenario under the submissions folder")
	f.String("submissions", "submissions", "the folder of submissions: <student>/<scenario-id>/")
	f.StringSlice("student", nil, "grade only these students (repeatable)")
	f.StringSlice("scenario", nil, "grade only these scenarios (repeatable)")
	f.StringSlice("job", nil, "grade only these student/scenario pairs (repeatable)")
	f.String("shard", "", "grade only share I of N, e.g. 2/4 (CI: $CI_NODE_INDEX/$CI_NODE_TOTAL); merge the shards' JSON with 'grade merge'")
	addGradeFlags(f)
	root.AddCommand(newCheck(stdout, stderr), newLint(stdout), newList(stdout), newImages(stdout), newClean(stdout, stderr), newVersion(stdout), newMerge(stdout), newInit(stdout), newSchema(stdout), newDoctor(stdout))
	return root
}

// loadScenarios loads and validates every scenario before anything else.
func loadScenarios(o *options) ([]*scenario.Scenario, error) {
	var (
		list []*scenario.Scenario
		err  error
	)
	if o.Scenarios != "" {
		st, serr := os.Stat(o.Scenarios)
		if serr != nil || !st.IsDir() {
			return nil, usageErr("--scenarios %s: not a folder", o.Scenarios)
		}
		list, err = scenario.Load(os.DirFS(o.Scenarios), filepath.Clean(o.Scenarios)+"/")
	} else {
		list, err = scenario.Load(scenarios.FS, "scenarios/")
	}
	var es scenario.Errors
	if errors.As(err, &es) {
		return nil, &exitError{code: exitScenario, err: fmt.Errorf("invalid scenario:\n%w", es)}
	}
	return list, err
}

// connect connects to the engine, sweeping what dead runs left behind.
func connect(ctx context.Context, o *options, stderr io.Writer, sweep bool) (*engine.Engine, error) {
	eng, err := engine.New(ctx)
	if err != nil {
		if se := (*engine.SettingError)(nil); errors.As(err, &se) {
			return nil, envErr(err)
		}
		return nil, envErr(fmt.Errorf("%w\nIs the Docker engine running? Try 'docker info'; set DOCKER_HOST for a remote engine", err))
	}
	if !sweep {
		return eng, nil
	}
	if r, err := eng.Sweep(ctx, false); err == nil && r.Total() > 0 && !o.Quiet {
		fmt.Fprintf(stderr, "grade: removed what earlier runs left behind: %s\n", r)
	}
	return eng, nil
}

// grade runs the jobs and renders the results; it returns the exit status.
func grade(ctx context.Context, o *options, subs []grader.Submission, hidden bool, stdout, stderr io.Writer) error {
	eng, err := connect(ctx, o, stderr, true)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	var progress grader.Progress
	if !o.Quiet {
		f, ok := stderr.(*os.File)
		progress = grader.NewProgress(stderr, ok && isTerminal(f) && !o.NoColor, len(subs))
	}
	missing, err := missingImages(ctx, eng, subs)
	if err != nil {
		return envErr(err)
	}
	if len(missing) > 0 {
		names := slices.Sorted(maps.Keys(missing))
		affected := 0
		for _, s := range subs {
			if slices.ContainsFunc(s.Scenario.Images, func(i string) bool { return missing[i] }) {
				affected++
			}
		}
		if affected == len(subs) {
			return envErr(fmt.Errorf("the engine lacks the base images the assignment uses: %s; nothing was graded. "+
				"Run 'make images' (or docker pull them), then grade again ('grade images' lists them)", strings.Join(names, ", ")))
		}
		jobs := fmt.Sprintf("the %d jobs that use them are", affected)
		if affected == 1 {
			jobs = "the job that uses them is"
		}
		fmt.Fprintf(stderr, "grade: the engine lacks the base images %s: %s not graded "+
			"(run 'make images' or docker pull them)\n", strings.Join(names, ", "), jobs)
	}
	if o.Jobs == 0 {
		o.Jobs = defaultJobs(runtime.NumCPU(), eng.CPUs(ctx))
	}
	start := time.Now()
	rctx := ctx
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	res := grader.Run(rctx, grader.EngineJobs{Engine: eng}, subs, grader.Options{
		Parallel: o.Jobs, Hidden: hidden, Progress: progress, Version: gradeVersion(), Limits: o.Limits,
		RunTimeout: o.Timeout, Missing: missing,
	})
	vctx, vcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer vcancel()
	if v, err := eng.Version(vctx); err == nil {
		res.Engine = v
	}
	if _, err := eng.CleanRun(); err != nil {
		fmt.Fprintf(stderr, "grade: cleaning up run %s: %v\n", eng.RunID(), err)
	}
	if progress != nil {
		fmt.Fprintf(stderr, "graded %d jobs in %s\n", len(res.Jobs), time.Since(start).Round(100*time.Millisecond))
	}
	if err := render(stdout, o, res); err != nil {
		return envErr(err)
	}
	switch {
	case res.Interrupted && ctx.Err() == nil:
		return &exitError{code: exitEnvironment} // the run's own time limit
	case res.Interrupted:
		return &exitError{code: exitInterrupted}
	case res.GradeErrors():
		return &exitError{code: exitEnvironment}
	case res.Failed():
		return &exitError{code: exitFailed}
	}
	return nil
}

// missingImages lists the base images of the jobs' scenarios that the
// engine lacks (grade pulls none).
func missingImages(ctx context.Context, eng *engine.Engine, subs []grader.Submission) (map[string]bool, error) {
	seen, missing := map[string]bool{}, map[string]bool{}
	for _, s := range subs {
		for _, img := range s.Scenario.Images {
			if seen[img] {
				continue
			}
			seen[img] = true
			ok, err := eng.ImagePresent(ctx, img)
			if err != nil {
				return nil, fmt.Errorf("looking for the base image %s: %w", img, err)
			}
			if !ok {
				missing[img] = true
			}
		}
	}
	return missing, nil
}

// defaultJobs is how many jobs run at once by default: one per CPU of this
// machine and of the engine, the fewer (builds and apps run on the engine,
// HTTP polling here), at most 8.
func defaultJobs(local, engine int) int {
	n := local
	if engine > 0 && engine < n {
		n = engine
	}
	return max(1, min(n, 8))
}

func render(w io.Writer, o *options, r *report.Run) error {
	color := !o.NoColor
	if f, ok := w.(*os.File); !ok || !isTerminal(f) {
		color = false
	}
	ro := report.Options{Lang: o.Lang}
	for _, t := range o.Reports {
		if err := writeReport(t, r, ro); err != nil {
			return err
		}
	}
	ro.Color = color
	return report.Render(w, o.Output, r, ro)
}

// writeReport writes one --report file, creating its folder.
func writeReport(t reportTarget, r *report.Run, o report.Options) error {
	if dir := filepath.Dir(t.file); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", t.file, err)
		}
	}
	f, err := os.Create(t.file)
	if err != nil {
		return fmt.Errorf("writing %s: %w", t.file, err)
	}
	if err := report.Render(f, t.format, r, o); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", t.file, err)
	}
	return f.Close()
}

func gradeAll(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	list, err := loadScenarios(o)
	if err != nil {
		return err
	}
	subs, unknown, err := grader.Discover(o.Submissions, list, grader.Filter{Students: o.Students, Scenarios: o.ScenarioIDs, Jobs: o.Only})
	if err != nil {
		return usageErr("%v", err)
	}
	for _, u := range unknown {
		if !o.Quiet {
			fmt.Fprintf(stderr, "grade: %s: no scenario has this id; skipped\n", u)
		}
	}
	if len(subs) == 0 {
		return usageErr("nothing to grade in %s (expected <student>/<scenario-id>/ folders)", o.Submissions)
	}
	if o.ShardN > 0 {
		subs = grader.Shard(subs, o.ShardI, o.ShardN)
		if !o.Quiet {
			fmt.Fprintf(stderr, "grade: shard %d/%d: %d jobs\n", o.ShardI, o.ShardN, len(subs))
		}
	}
	return grade(ctx, o, subs, true, stdout, stderr)
}
