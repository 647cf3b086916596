package grader_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gradeproject/grade/grader/scenario"
	"github.com/gradeproject/grade/scenarios"
)

// TestDemoClass holds make demo's class (submissions/demo.jobs) to what it
// promises: every line a sample with an expected verdict, for every
// bundled scenario a full-score sample and one that is not, and every
// hostile sample.
func TestDemoClass(t *testing.T) {
	f, err := os.Open(filepath.Join(submissionsDir, "demo.jobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	list, err := scenario.Load(scenarios.FS, "scenarios/")
	if err != nil {
		t.Fatal(err)
	}
	full, broken, inClass := map[string]bool{}, map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		student, id, ok := strings.Cut(line, "/")
		if !ok || strings.Contains(id, "/") {
			t.Errorf("demo.jobs:%d: %q is not student/scenario", n, line)
			continue
		}
		if inClass[line] {
			t.Errorf("demo.jobs:%d: %s twice", n, line)
		}
		inClass[line] = true
		b, err := os.ReadFile(filepath.Join(submissionsDir, student, id+".expected.yaml"))
		if err != nil {
			t.Errorf("demo.jobs:%d: %s is not a sample with an expected verdict: %v", n, line, err)
			continue
		}
		var want expected
		if err := yaml.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		max := -1.0
		for _, s := range list {
			if s.ID == id {
				max = s.MaxPoints(true) // TestSamples grades the hidden checks too
			}
		}
		if max < 0 {
			t.Errorf("demo.jobs:%d: no bundled scenario %s", n, id)
		}
		if want.Score == max {
			full[id] = true
		} else {
			broken[id] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if !full[s.ID] || !broken[s.ID] {
			t.Errorf("the demo class has no %s for %s", map[bool]string{true: "broken submission", false: "correct submission"}[full[s.ID]], s.ID)
		}
	}
	hostile, _ := filepath.Glob(filepath.Join(submissionsDir, "hostile-*", "*"))
	for _, h := range hostile {
		if st, err := os.Stat(h); err != nil || !st.IsDir() {
			continue
		}
		name := filepath.Base(filepath.Dir(h)) + "/" + filepath.Base(h)
		if !inClass[name] {
			t.Errorf("the demo class leaves out the hostile sample %s", name)
		}
	}
}
