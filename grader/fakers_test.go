package grader_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/scenario"
	"github.com/gradeproject/grade/scenarios"
)

// fakerMax is the most a faking sample may score: well below a course's
// usual pass mark of 60.
const fakerMax = 50

// TestFakers requires, for every bundled scenario, a sample that fakes the
// exercise (submissions/faker/<scenario>: it shows the checks what they
// look for without doing the work) whose expected verdict is at most
// fakerMax, with feedback fragments for the checks it fails (what the
// check proved that the faking did not). TestSamples holds the real
// verdicts to these.
func TestFakers(t *testing.T) {
	list, err := scenario.Load(scenarios.FS, "scenarios/")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range list {
		t.Run(sc.ID, func(t *testing.T) {
			if st, err := os.Stat(filepath.Join(submissionsDir, "faker", sc.ID)); err != nil || !st.IsDir() {
				t.Fatalf("no faking sample submissions/faker/%s", sc.ID)
			}
			b, err := os.ReadFile(filepath.Join(submissionsDir, "faker", sc.ID+".expected.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var want expected
			if err := yaml.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if want.Score > fakerMax {
				t.Errorf("the faking sample is expected to score %v; a fake must score at most %d", want.Score, fakerMax)
			}
			if len(want.Feedback) == 0 {
				t.Errorf("the faking sample's expected verdict names no feedback: say what the failing checks proved")
			}
			for id := range want.Feedback {
				if want.Checks[id] != checks.StatusFail {
					t.Errorf("feedback for %s, which is expected to %s, not to fail", id, want.Checks[id])
				}
			}
		})
	}
}
