package grader

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/engine"
	"github.com/gradeproject/grade/grader/scenario"
)

// fakeEngine makes fakeJobs whose build succeeds unless failBuild is set.
type fakeEngine struct {
	failBuild bool
	buildErr  error
	closed    []string
}

func (e *fakeEngine) RunID() string { return "test" }

func (e *fakeEngine) NewJob(name string, _ engine.JobOptions) Job {
	return &fakeJob{e: e, name: name}
}

type fakeJob struct {
	e    *fakeEngine
	name string
	info checks.BuildInfo
}

// built is the spec the fake engine's last build got.
var built engine.BuildSpec

func (j *fakeJob) Job() string                 { return j.name }
func (j *fakeJob) BuildInfo() checks.BuildInfo { return j.info }
func (j *fakeJob) Close() error {
	j.e.closed = append(j.e.closed, j.name)
	return nil
}

func (j *fakeJob) Build(_ context.Context, spec engine.BuildSpec) (checks.BuildInfo, error) {
	built = spec
	if j.e.buildErr != nil {
		return checks.BuildInfo{}, j.e.buildErr
	}
	j.info = checks.BuildInfo{OK: !j.e.failBuild, Error: "dockerfile parse error line 2: unknown instruction: RUNN", Line: 2}
	if j.info.OK {
		j.info.Error = ""
	}
	return j.info, nil
}

// RunScript runs nothing.
func (j *fakeJob) RunScript(context.Context, checks.ScriptSpec) (checks.ScriptRun, error) {
	return checks.ScriptRun{}, nil
}

func (j *fakeJob) Up(context.Context, engine.ComposeSpec) (checks.StackInfo, error) {
	return checks.StackInfo{}, errors.New("the fake job has no compose stack")
}

func (j *fakeJob) InspectImage(context.Context) (checks.ImageConfig, error) {
	return checks.ImageConfig{WorkingDir: "/app"}, nil
}

const scenarioYAML = `version: 1
id: demo
chapter: 4
title: Demo
requires: [Dockerfile]
images: ["busybox:latest"]
stack: {image: {build: .}}
checks:
  - {id: builds, kind: build, points: 10}
  - {id: workdir, kind: image, expect: {workdir: /app}, points: 20}
  - {id: user, kind: image, expect: {non_root: true}, points: 30}
  - {id: secret, kind: image, expect: {workdir: /app}, points: 40, visibility: hidden}
`

func submission(t *testing.T, withDockerfile bool) Submission {
	t.Helper()
	s, err := scenario.Parse("demo.yaml", []byte(scenarioYAML))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if withDockerfile {
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Submission{Student: "alice", Scenario: s, Dir: dir}
}

func TestRunScoresAndSkips(t *testing.T) {
	tests := []struct {
		name      string
		eng       *fakeEngine
		file      bool
		hidden    bool
		score     float64
		max       float64
		statuses  string
		jobError  bool
		messageIn string
		missing   map[string]bool
	}{
		{"built", &fakeEngine{}, true, false, 30, 60, "pass pass fail", false, "USER is root", nil},
		{"instructor sees hidden", &fakeEngine{}, true, true, 70, 100, "pass pass fail pass", false, "", nil},
		{"build failed", &fakeEngine{failBuild: true}, true, false, 0, 60, "fail skipped skipped", false, "the image did not build (see check builds)", nil},
		{"missing file", &fakeEngine{}, false, false, 0, 60, "skipped skipped skipped", false, "the submission has no Dockerfile", nil},
		{"engine failed", &fakeEngine{buildErr: errors.New("engine gone")}, true, false, 0, 60, "error error error", true, "engine gone", nil},
		// Never the student's 0: nothing is built, the job is grade's error.
		{"base image missing", &fakeEngine{}, true, false, 0, 60, "error error error", true,
			"not graded: the engine lacks the base image busybox:latest", map[string]bool{"busybox:latest": true}},
		{"another image missing", &fakeEngine{}, true, false, 30, 60, "pass pass fail", false, "", map[string]bool{"node:18": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := Run(context.Background(), tt.eng, []Submission{submission(t, tt.file)}, Options{Parallel: 1, Hidden: tt.hidden, Missing: tt.missing})
			if len(run.Jobs) != 1 {
				t.Fatalf("%d jobs", len(run.Jobs))
			}
			j := run.Jobs[0]
			var st []string
			var all string
			for _, c := range j.Checks {
				st = append(st, string(c.Status))
				all += c.Message + c.Actual + "\n"
			}
			if got := strings.Join(st, " "); got != tt.statuses {
				t.Errorf("statuses = %s, want %s", got, tt.statuses)
			}
			if j.Score != tt.score || j.Max != tt.max {
				t.Errorf("score = %v/%v, want %v/%v", j.Score, j.Max, tt.score, tt.max)
			}
			if (j.Error != "") != tt.jobError {
				t.Errorf("job error = %q", j.Error)
			}
			if !strings.Contains(all, tt.messageIn) {
				t.Errorf("messages lack %q:\n%s", tt.messageIn, all)
			}
			if tt.file && tt.jobError && len(tt.missing) > 0 && len(tt.eng.closed) != 0 {
				t.Errorf("a job was made although its base image is missing")
			}
			if tt.file && len(tt.missing) == 0 && len(tt.eng.closed) != 1 {
				t.Errorf("job closed %d times, want once", len(tt.eng.closed))
			}
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	run := Run(ctx, &fakeEngine{}, []Submission{submission(t, true), submission(t, true)}, Options{Parallel: 1})
	if !run.Interrupted || len(run.Jobs) != 0 || len(run.NotGraded) != 2 {
		t.Errorf("interrupted=%v jobs=%d not graded=%v", run.Interrupted, len(run.Jobs), run.NotGraded)
	}
}

func TestDiscover(t *testing.T) {
	s := submission(t, true).Scenario
	root := t.TempDir()
	for _, d := range []string{"alice/demo", "bob/demo", "bob/typo-demo", ".git/demo"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	subs, unknown, err := Discover(root, []*scenario.Scenario{s}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[0].Name() != "alice/demo" || subs[1].Name() != "bob/demo" {
		t.Errorf("subs = %v", subs)
	}
	if len(unknown) != 1 || !strings.HasSuffix(unknown[0], "typo-demo") {
		t.Errorf("unknown = %v", unknown)
	}
	subs, _, _ = Discover(root, []*scenario.Scenario{s}, Filter{Students: []string{"bob"}})
	if len(subs) != 1 || subs[0].Student != "bob" {
		t.Errorf("filtered subs = %v", subs)
	}
}

func TestDigestDir(t *testing.T) {
	a := t.TempDir()
	b := t.TempDir()
	for _, d := range []string{a, b} {
		if err := os.WriteFile(filepath.Join(d, "Dockerfile"), []byte("FROM busybox\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	da, err := digestDir(a)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := digestDir(b)
	if da != db || !strings.HasPrefix(da, "sha256:") {
		t.Errorf("same content, digests %s and %s", da, db)
	}
	if err := os.WriteFile(filepath.Join(b, "Dockerfile"), []byte("FROM busybox \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if db2, _ := digestDir(b); db2 == da {
		t.Error("a changed file kept the digest")
	}
}

// TestDigestDirKept pins the digest of a folder with nested files, links in
// and out and a FIFO to the one filepath.WalkDir gave before the walk was
// submission.Walk: a submission graded before keeps its digest.
func TestDigestDirKept(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"a.txt": "A\n", "a/b": "B\n", "a/z/deep": "", "Dockerfile": "FROM busybox\n"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"a/shadow": "/etc/shadow", "l": "a.txt"} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "sha256:fa274b169bfb17d6882c796af142223cc51d73bbc57e17749f96e7ecd70773b0"
	if got, err := digestDir(dir); err != nil || got != want {
		t.Errorf("digest %s (%v), want %s", got, err, want)
	}
}

// TestBuildTarget: a scenario's stack.image.target is the stage built.
func TestBuildTarget(t *testing.T) {
	s, err := scenario.Parse("demo.yaml", []byte(strings.Replace(scenarioYAML, "{image: {build: .}}", "{image: {build: ., target: release}}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox AS release\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Run(context.Background(), &fakeEngine{}, []Submission{{Student: "alice", Scenario: s, Dir: dir}}, Options{Parallel: 1})
	if built.Target != "release" {
		t.Errorf("built target %q", built.Target)
	}
}

// TestResultHint: an outcome's own hint replaces the scenario's; without
// one, the scenario's is shown.
func TestResultHint(t *testing.T) {
	c := scenario.CheckSpec{Common: scenario.Common{ID: "builds", Kind: "build", Points: 10, Hint: checks.Text{EN: "the scenario's", ZH: "场景的"}}}
	if r := result(c, checks.Fail("e", "a", "m")); r.Hint.EN != "the scenario's" {
		t.Errorf("hint %+v", r.Hint)
	}
	own := checks.Fail("e", "a", "m")
	own.Hint = checks.Text{EN: "the outcome's", ZH: "结果的"}
	if r := result(c, own); r.Hint != own.Hint {
		t.Errorf("hint %+v", r.Hint)
	}
}

// slowCheck fails when its time limit runs out, as a check waiting on a
// busy engine does.
type slowCheck struct{}

func (slowCheck) Requires() checks.Requirement { return checks.NeedsNothing }
func (slowCheck) Run(ctx context.Context, _ checks.Target) checks.Outcome {
	<-ctx.Done()
	return checks.Fail("an answer", "no answer", "nothing answered")
}

// fastFail fails at once.
type fastFail struct{}

func (fastFail) Requires() checks.Requirement { return checks.NeedsNothing }
func (fastFail) Run(context.Context, checks.Target) checks.Outcome {
	return checks.Fail("an answer", "no answer", "nothing answered")
}

// TestBusyNote: a check whose time limit ran out while the engine was busy
// says so; one that failed on its own, or had the engine to itself, does not.
func TestBusyNote(t *testing.T) {
	busy := func() string { return busyNote(3, &fakeEngine{}) }
	idle := func() string { return busyNote(1, &fakeEngine{}) }
	for _, tc := range []struct {
		name  string
		check checks.Check
		busy  func() string
		want  string
	}{
		{"timed out, busy", slowCheck{}, busy, "ran out while the engine was busy: 2 other jobs of this run were being graded"},
		{"timed out, alone", slowCheck{}, idle, ""},
		{"failed on its own", fastFail{}, busy, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := scenario.CheckSpec{Common: scenario.Common{ID: "x", Kind: "x", Points: 1, Timeout: checks.Duration(20 * time.Millisecond)}, Check: tc.check}
			r := runCheck(context.Background(), c, nil, time.Second, tc.busy)
			if tc.want == "" && strings.Contains(r.Message, "busy") || !strings.Contains(r.Message, tc.want) {
				t.Errorf("message %q, want %q", r.Message, tc.want)
			}
		})
	}
}

func TestWarmFor(t *testing.T) {
	const head = "version: 1\nid: demo\nchapter: 4\ntitle: Demo\nstack: {image: {build: .}}\nchecks:\n"
	tests := []struct {
		name            string
		checks          string
		hidden          bool
		network, helper bool
	}{
		{"image checks only", "  - {id: builds, kind: build, points: 10}\n  - {id: w, kind: image, expect: {workdir: /app}, points: 10}\n", false, false, false},
		{"an exec starts the app", "  - {id: e, kind: exec, command: [id], expect: {exit_code: 0}, points: 10}\n", false, true, false},
		{"an http check reaches it", "  - {id: h, kind: http, port: 80, expect: {status: 200}, points: 10}\n", false, true, true},
		{"a hidden http check, student's run", "  - {id: w, kind: image, expect: {workdir: /app}, points: 10}\n  - {id: h, kind: http, port: 80, expect: {status: 200}, points: 10, visibility: hidden}\n", false, false, false},
		{"a hidden http check, instructor's run", "  - {id: w, kind: image, expect: {workdir: /app}, points: 10}\n  - {id: h, kind: http, port: 80, expect: {status: 200}, points: 10, visibility: hidden}\n", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := scenario.Parse("demo.yaml", []byte(head+tt.checks))
			if err != nil {
				t.Fatal(err)
			}
			network, helper := warmFor(sc, tt.hidden)
			if network != tt.network || helper != tt.helper {
				t.Errorf("warmFor = network %v, helper %v; want %v, %v", network, helper, tt.network, tt.helper)
			}
		})
	}
}
