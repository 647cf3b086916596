package grader_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader"
	"github.com/gradeproject/grade/grader/engine"
	"github.com/gradeproject/grade/grader/report"
	"github.com/gradeproject/grade/grader/scenario"
	"github.com/gradeproject/grade/scenarios"
)

// updating reports -update: rewrite the expected verdicts (scores and
// statuses) from this run. A library the compose engine pulls in defines the
// same flag (gotest.tools' golden files); share it rather than clash.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the expected verdicts (scores and statuses) from this run")
	}
}

// expected is a sample submission's expected verdict, kept beside it as
// submissions/<student>/<scenario>.expected.yaml.
type expected struct {
	Score  float64                  `yaml:"score"`
	Checks map[string]checks.Status `yaml:"checks"`
	// Feedback lists fragments a check's feedback must contain: the cause
	// in the words a student reads. Kept by -update.
	Feedback map[string][]string `yaml:"feedback,omitempty"`
	// Builder, when set, is the only builder whose verdict this is (a
	// Dockerfile for today's syntax builds with BuildKit alone); under
	// another builder the sample is not graded. Kept by -update.
	Builder string `yaml:"builder,omitempty"`
}

// readExpected reads a sample's expected verdict.
func readExpected(t *testing.T, s grader.Submission) expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(submissionsDir, s.Student, s.Scenario.ID+".expected.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want expected
	if err := yaml.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

// forBuilder leaves out the samples whose verdict is another builder's.
func forBuilder(t *testing.T, subs []grader.Submission, builder string) []grader.Submission {
	t.Helper()
	var out []grader.Submission
	for _, s := range subs {
		if b := readExpected(t, s).Builder; b != "" && b != builder {
			t.Logf("%s/%s: graded only with %s (this engine builds with %s)", s.Student, s.Scenario.ID, b, builder)
			continue
		}
		out = append(out, s)
	}
	return out
}

const submissionsDir = "../submissions"

// connectEngine connects to the real engine (DOCKER_HOST's); without one
// the test fails (in CI a missing engine must fail the run, never skip it).
func connectEngine(t *testing.T) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatalf("integration tests need the Docker engine (run with -short for unit tests only): %v", err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

// assertNothingLeft fails when anything labelled grade.managed is on the
// engine (with runs, anything of these runs).
func assertNothingLeft(t *testing.T, eng *engine.Engine, runs ...string) {
	t.Helper()
	left, err := eng.Leftovers(context.Background(), runs...)
	if err != nil {
		t.Fatalf("listing leftovers: %v", err)
	}
	if len(left) > 0 {
		t.Errorf("left on the engine, labelled grade.managed:\n%s", strings.Join(left, "\n"))
	}
}

func loadAll(t *testing.T) []grader.Submission {
	t.Helper()
	list, err := scenario.Load(scenarios.FS, "scenarios/")
	if err != nil {
		t.Fatal(err)
	}
	var f grader.Filter
	if *only != "" {
		f.Scenarios = strings.Split(*only, ",")
	}
	subs, unknown, err := grader.Discover(submissionsDir, list, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) > 0 {
		t.Fatalf("sample folders named after no scenario: %v", unknown)
	}
	return subs
}

var only = flag.String("scenarios", "", "grade only the samples of these scenarios (comma-separated ids), e.g. while writing one")

var passes = flag.Int("passes", 2, "how many times TestSamples grades the samples (pass 1: all; further passes: a rotating sixth); "+
	"GRADE_TEST_SAMPLES=subset grades only the subset, once")

// TestSamples grades every sample submission on the real engine
// (DOCKER_HOST's) and compares each verdict with the one kept beside it.
// Later passes grade a sixth of the samples again (which sixth turns with
// the day), and must give the same scores and statuses (no flaky check).
// With GRADE_TEST_CONCURRENT=share or full, a second grade process (the
// real command) grades a sixth of the samples, or all of them, beside the
// first pass on the same engine, and its verdicts must be the expected
// ones too (see concurrency).
// With GRADE_TEST_SAMPLES=subset it grades once the subset that covers
// every scenario and check kind (see subset): what make test grades on
// the second engine, against the same expected verdicts.
func TestSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	subs := forBuilder(t, loadAll(t), connectEngine(t).Builder())
	n := *passes
	if updating() {
		n = 1
	}
	if os.Getenv("GRADE_TEST_SAMPLES") == "subset" {
		subs, n = subset(t, subs), 1
		names := make([]string, len(subs))
		for i, s := range subs {
			names[i] = s.Student + "/" + s.Scenario.ID
		}
		t.Logf("the subset: %d samples: %s", len(subs), strings.Join(names, " "))
	}
	var first map[string]string
	for pass := 1; pass <= n; pass++ {
		var other *otherRun
		var otherList []grader.Submission
		if pass == 1 {
			switch concurrency() {
			case "full":
				otherList = subs
			case "share":
				otherList = share(subs, time.Now().YearDay(), repeatShare)
			}
			if len(otherList) > 0 {
				other = startOtherRun(t, otherList)
			}
		}
		list := subs
		if pass >= 2 {
			list = share(subs, time.Now().YearDay()+pass, repeatShare)
		}
		run := gradePass(t, list)
		if pass == 1 {
			for _, j := range run.Jobs {
				t.Run(j.Name(), func(t *testing.T) { compare(t, j) })
			}
			if other != nil {
				// The other process graded these samples on the same
				// engine at the same time: the same verdicts.
				for _, j := range other.wait(t, otherList) {
					t.Run("concurrent/"+j.Name(), func(t *testing.T) { compare(t, j) })
				}
			}
			first = verdicts(run)
			if os.Getenv("GRADE_TEST_SAMPLES") != "subset" {
				checkCoverage(t, run)
			}
			continue
		}
		for name, v := range verdicts(run) {
			if v != first[name] {
				t.Errorf("pass %d: %s changed verdict:\n  pass 1: %s\n  pass %d: %s", pass, name, first[name], pass, v)
			}
		}
	}
}

// subset picks, for every scenario, its full-score sample and the broken
// one whose expected verdict fails or errs the most checks (a hostile one
// only where it is the only broken one), and the samples of hostile-cli-
// privileged and hostile-compose-everything (the guard's and the compose
// vetting's refusals): every scenario and every check kind, passing and
// failing, in about a third of the samples.
func subset(t *testing.T, subs []grader.Submission) []grader.Submission {
	t.Helper()
	type pick struct {
		i, bad  int
		hostile bool
	}
	full, broken := map[string]int{}, map[string]pick{}
	var out []grader.Submission
	for i, s := range subs {
		want := readExpected(t, s)
		bad := 0
		for _, st := range want.Checks {
			if st != checks.StatusPass {
				bad++
			}
		}
		hostile := strings.HasPrefix(s.Student, "hostile-")
		switch {
		case s.Student == "hostile-cli-privileged" || s.Student == "hostile-compose-everything":
			out = append(out, s)
		case bad == 0:
			if _, ok := full[s.Scenario.ID]; !ok {
				full[s.Scenario.ID] = i
			}
		default:
			p, ok := broken[s.Scenario.ID]
			if !ok || (p.hostile && !hostile) || (p.hostile == hostile && bad > p.bad) {
				broken[s.Scenario.ID] = pick{i, bad, hostile}
			}
		}
	}
	for _, i := range full {
		out = append(out, subs[i])
	}
	for _, p := range broken {
		out = append(out, subs[p.i])
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Student+out[a].Scenario.ID < out[b].Student+out[b].Scenario.ID })
	return out
}

// repeatShare: a later pass (or the second grade process) grades one
// sample in repeatShare; over that many days every sample has been
// graded twice.
const repeatShare = 6

// share returns every n-th submission, starting at k mod n.
func share(subs []grader.Submission, k, n int) []grader.Submission {
	var out []grader.Submission
	for i, s := range subs {
		if i%n == k%n {
			out = append(out, s)
		}
	}
	return out
}

// gradePass grades the submissions once, on its own engine connection (so
// with its own run id), and requires that nothing is left afterwards.
func gradePass(t *testing.T, subs []grader.Submission) *report.Run {
	t.Helper()
	eng := connectEngine(t)
	before, err := eng.DanglingVolumes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	run := grader.Run(context.Background(), grader.EngineJobs{Engine: eng}, subs, grader.Options{Parallel: 2, Hidden: true})
	if _, err := eng.CleanRun(); err != nil {
		t.Errorf("cleaning the run: %v", err)
	}
	if run.Interrupted || len(run.Jobs) != len(subs) {
		t.Fatalf("graded %d of %d jobs", len(run.Jobs), len(subs))
	}
	t.Logf("graded %d jobs in %s", len(run.Jobs), time.Since(start).Round(time.Second))
	assertNothingLeft(t, eng, eng.RunID())
	// Anonymous volumes (an image's VOLUME) carry no label: none may be
	// left unused either.
	after, err := eng.DanglingVolumes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if left := slices.DeleteFunc(after, func(v string) bool { return slices.Contains(before, v) }); len(left) > 0 {
		t.Errorf("%d volumes left unused by the run: %v", len(left), left)
	}
	return run
}

// verdicts is each job's score and check statuses, as one comparable line.
func verdicts(run *report.Run) map[string]string {
	out := map[string]string{}
	for _, j := range run.Jobs {
		parts := []string{fmt.Sprintf("score %g", j.Score)}
		for _, c := range j.Checks {
			parts = append(parts, c.Check+"="+string(c.Status))
		}
		out[j.Name()] = strings.Join(parts, " ")
	}
	return out
}

// checkCoverage requires a correct sample and at least three broken ones
// per scenario.
func checkCoverage(t *testing.T, run *report.Run) {
	t.Helper()
	perScenario := map[string][2]int{}
	for _, j := range run.Jobs {
		c := perScenario[j.Scenario]
		if j.Score == j.Max {
			c[0]++
		} else {
			c[1]++
		}
		perScenario[j.Scenario] = c
	}
	for sc, c := range perScenario {
		if c[0] < 1 || c[1] < 3 {
			t.Errorf("%s has %d full-score and %d broken samples; want at least 1 and 3", sc, c[0], c[1])
		}
	}
}

func compare(t *testing.T, j *report.Job) {
	path := filepath.Join(submissionsDir, j.Student, j.Scenario+".expected.yaml")
	got := expected{Score: j.Score, Checks: map[string]checks.Status{}}
	for _, c := range j.Checks {
		got.Checks[c.Check] = c.Status
	}
	var want expected
	b, err := os.ReadFile(path)
	if err == nil {
		err = yaml.Unmarshal(b, &want)
	}
	if updating() {
		got.Feedback, got.Builder = want.Feedback, want.Builder
		out, _ := yaml.Marshal(got)
		header := fmt.Sprintf("# Expected verdict of submissions/%s/%s (rewritten by go test ./grader -run TestSamples -update;\n# feedback fragments are kept).\n", j.Student, j.Scenario)
		if err := os.WriteFile(path, append([]byte(header), out...), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatalf("reading %s: %v (run with -update to create it)", path, err)
	}
	if j.Error != "" {
		t.Errorf("grade error: %s", j.Error)
	}
	if got.Score != want.Score {
		t.Errorf("score = %v, want %v", got.Score, want.Score)
	}
	ids := make([]string, 0, len(want.Checks))
	for id := range want.Checks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if got.Checks[id] != want.Checks[id] {
			t.Errorf("check %s: %s, want %s", id, got.Checks[id], want.Checks[id])
		}
	}
	if len(got.Checks) != len(want.Checks) {
		t.Errorf("%d checks graded, %d expected", len(got.Checks), len(want.Checks))
	}
	for id, frags := range want.Feedback {
		var text string
		for _, c := range j.Checks {
			if c.Check == id {
				text = strings.Join([]string{c.Expected, c.Actual, c.Message, c.Detail}, "\n")
			}
		}
		for _, f := range frags {
			if !strings.Contains(text, f) {
				t.Errorf("check %s: feedback lacks %q:\n%s", id, f, text)
			}
		}
	}
	for _, c := range j.Checks {
		if c.Status == checks.StatusFail && c.Actual == "" && c.Message == "" {
			t.Errorf("check %s failed without saying why", c.Check)
		}
	}
}

// TestInterrupt stops a run in the middle (as Ctrl-C does) and requires that
// what was started is removed: while the first jobs build and run, and while
// a compose stack builds and comes up.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	all := loadAll(t)
	var compose []grader.Submission
	for _, s := range all {
		if s.Name() == "alice/ch07-compose-counter" {
			compose = append(compose, s)
		}
	}
	// when says when to interrupt: after a delay, or once a container of
	// the compose stack exists.
	tests := []struct {
		name  string
		subs  []grader.Submission
		after time.Duration
		when  string
	}{
		{"first jobs", all, 4 * time.Second, ""},
		{"compose stack building", compose, 2 * time.Second, ""},
		{"compose stack coming up", compose, 0, "container "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := connectEngine(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.when == "" {
				timer := time.AfterFunc(tt.after, cancel)
				defer timer.Stop()
			} else {
				go cancelWhen(ctx, eng, tt.when, cancel)
			}
			run := grader.Run(ctx, grader.EngineJobs{Engine: eng}, tt.subs, grader.Options{Parallel: 2, Hidden: true})
			if _, err := eng.CleanRun(); err != nil {
				t.Errorf("cleaning the run: %v", err)
			}
			if !run.Interrupted || len(run.NotGraded) == 0 {
				t.Errorf("the run was not reported as interrupted: %d graded, %v not graded", len(run.Jobs), run.NotGraded)
			}
			assertNothingLeft(t, eng)
		})
	}
}

// cancelWhen cancels once an object labelled grade.managed whose description
// starts with prefix ("container ") is on the engine.
func cancelWhen(ctx context.Context, eng *engine.Engine, prefix string, cancel context.CancelFunc) {
	for ctx.Err() == nil {
		left, _ := eng.Leftovers(ctx)
		for _, l := range left {
			if strings.HasPrefix(l, prefix) {
				cancel()
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestParallelCopies grades two copies of the same command-script
// submission at once: both name their container my-web-server and publish
// host port 8080, and both must get full marks (per-job names and host
// ports: no collision), leaving nothing behind, the script's objects
// included.
func TestParallelCopies(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	list, err := scenario.Load(scenarios.FS, "scenarios/")
	if err != nil {
		t.Fatal(err)
	}
	var sc *scenario.Scenario
	for _, s := range list {
		if s.ID == "ch03-run-nginx" {
			sc = s
		}
	}
	if sc == nil {
		t.Fatal("no bundled scenario ch03-run-nginx")
	}
	dir := filepath.Join(submissionsDir, "alice", sc.ID)
	subs := []grader.Submission{{Student: "twin-a", Scenario: sc, Dir: dir}, {Student: "twin-b", Scenario: sc, Dir: dir}}
	eng := connectEngine(t)
	run := grader.Run(context.Background(), grader.EngineJobs{Engine: eng}, subs, grader.Options{Parallel: 2, Hidden: true})
	if _, err := eng.CleanRun(); err != nil {
		t.Errorf("cleaning the run: %v", err)
	}
	if len(run.Jobs) != 2 {
		t.Fatalf("graded %d of 2 jobs", len(run.Jobs))
	}
	for _, j := range run.Jobs {
		if j.Score != j.Max || j.Error != "" {
			for _, c := range j.Checks {
				t.Logf("%s %s: %s %s %s", j.Name(), c.Check, c.Status, c.Actual, c.Message)
			}
			t.Errorf("%s scored %g of %g %s", j.Name(), j.Score, j.Max, j.Error)
		}
	}
	assertNothingLeft(t, eng)
}
