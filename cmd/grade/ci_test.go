package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/gradeproject/grade/grader/report"
)

const gitlabSchema = "../../third_party/schemas/gitlab-ci.schema.json"

func loadPipeline(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func compileGitLab(t *testing.T) *sjs.Schema {
	t.Helper()
	f, err := os.Open(gitlabSchema)
	if err != nil {
		t.Fatalf("GitLab's schema: %v", err)
	}
	defer func() { _ = f.Close() }()
	doc, err := sjs.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := sjs.NewCompiler()
	if err := c.AddResource("gitlab-ci.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("gitlab-ci.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGitLabCIValidates validates .gitlab-ci.yml against GitLab's schema,
// and makes sure the validation can fail.
func TestGitLabCIValidates(t *testing.T) {
	s := compileGitLab(t)
	doc := loadPipeline(t)
	if err := s.Validate(doc); err != nil {
		t.Fatalf(".gitlab-ci.yml does not validate against GitLab's schema:\n%v", err)
	}
	broken := loadPipeline(t)
	broken["grade-class"].(map[string]any)["parallel"] = "four"
	if err := s.Validate(broken); err == nil {
		t.Fatal("a pipeline with parallel: four validated: the check cannot fail")
	}
}

// jobScript returns a pipeline job's script lines.
func jobScript(t *testing.T, doc map[string]any, job string) []string {
	t.Helper()
	j, ok := doc[job].(map[string]any)
	if !ok {
		t.Fatalf("no job %s in .gitlab-ci.yml", job)
	}
	var lines []string
	for _, l := range j["script"].([]any) {
		lines = append(lines, l.(string))
	}
	return lines
}

// runLines runs pipeline script lines in the repository with sh, bin/grade
// being the binary under test.
func runLines(t *testing.T, dir string, env []string, lines []string) {
	t.Helper()
	for _, l := range lines {
		cmd := exec.Command("sh", "-c", l)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", l, err, out.String())
		}
	}
}

// TestShardAndMerge runs the pipeline's class jobs the way GitLab would with
// two shards, and requires the merged results to equal an unsharded run.
func TestShardAndMerge(t *testing.T) {
	eng := integration(t)
	doc := loadPipeline(t)
	// A scratch copy of what the jobs read: the binary, scenarios, submissions.
	dir := t.TempDir()
	for _, d := range []string{"bin", ".ci"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", bin, filepath.Join(dir, "bin", "grade")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	// Three students, an image scenario and a compose one: the pipeline is
	// what is tested here; every sample's verdict is TestSamples' business.
	for _, student := range []string{"alice", "bob", "carol"} {
		for _, sc := range []string{"ch04-cmd-entrypoint", "ch07-compose-counter"} {
			to := filepath.Join(dir, "submissions", student)
			if err := os.MkdirAll(to, 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("cp", "-r", "../../submissions/"+student+"/"+sc, to).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
		}
	}
	for i := 1; i <= 2; i++ {
		runLines(t, dir, []string{fmt.Sprintf("CI_NODE_INDEX=%d", i), "CI_NODE_TOTAL=2"}, jobScript(t, doc, "grade-class"))
	}
	runLines(t, dir, nil, jobScript(t, doc, "class-report"))
	for _, f := range []string{"out/grades.csv", "out/index.html", "out/junit.xml", "out/results.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("the merge job did not write %s: %v", f, err)
		}
	}
	merged := readResults(t, filepath.Join(dir, "out/results.json"))

	code, out, errOut := runGrade(t, context.Background(), "--all", "--quiet", "-o", "json", "--submissions", filepath.Join(dir, "submissions"))
	if code != 1 {
		t.Fatalf("unsharded run: exit %d\n%s", code, errOut)
	}
	whole, err := report.ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := verdicts(merged), verdicts(whole); got != want {
		t.Errorf("shards merged:\n%s\nunsharded:\n%s", got, want)
	}
	nothingLeft(t, eng)
}

func readResults(t *testing.T, path string) *report.Run {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	r, err := report.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// verdicts summarises a run: every job's score and every check's status.
func verdicts(r *report.Run) string {
	var b strings.Builder
	for _, j := range r.Jobs {
		fmt.Fprintf(&b, "%s %v/%v:", j.Name(), j.Score, j.Max)
		for _, c := range j.Checks {
			fmt.Fprintf(&b, " %s=%s", c.Check, c.Status)
		}
		b.WriteString("\n")
	}
	return b.String()
}
