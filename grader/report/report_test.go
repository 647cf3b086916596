package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gradeproject/grade/checks"
)

func sample() *Run {
	hint := checks.Text{EN: "Bind 0.0.0.0.", ZH: "监听 0.0.0.0。"}
	return &Run{Format: FormatVersion, Grade: "test", RunID: "r1", Jobs: []*Job{
		{Student: "alice", Scenario: "ch04-a", Title: checks.Text{EN: "A"}, Score: 100, Max: 100,
			Checks: []Result{{Check: "greets", Kind: "http", Status: checks.StatusPass, Points: 100, Max: 100}}},
		{Student: "bob", Scenario: "ch04-a", Title: checks.Text{EN: "A", ZH: "甲"}, Score: 60, Max: 100,
			Checks: []Result{
				{Check: "builds", Kind: "build", Status: checks.StatusPass, Points: 60, Max: 60},
				{Check: "greets", Kind: "http", Title: checks.Text{EN: "Answers"}, Status: checks.StatusFail, Max: 40,
					Expected: "GET / answers 200", Actual: "no answer", Message: "the app listens on 127.0.0.1:3000",
					Detail: "container log:\nlistening\x1b]0;owned\x07\x1b[2J", Hint: hint, See: "4.1"},
			}},
		{Student: "bob", Scenario: "ch04-b", Score: 0, Max: 50,
			Checks: []Result{{Check: "runs", Kind: "run", Status: checks.StatusSkipped, Max: 50, Message: "skipped: the image did not build"}}},
	}}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, sample(), TableOptions{Lang: "en", Details: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"student", "ch04-a", "ch04-b", "total", "alice", "100/100", "bob", "60/100", "0/50", "60/150", "—", "average", "80/100",
		"4 checks: 2 passed, 1 failed, 1 skipped",
		"bob/ch04-a — A (60/100)",
		"FAIL greets: Answers (0/40)",
		"expected: GET / answers 200",
		"actual:   no answer",
		"cause:    the app listens on 127.0.0.1:3000",
		"hint:     Bind 0.0.0.0. (course §4.1)",
		"│ container log:",
		"SKIP runs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "alice/ch04-a") {
		t.Errorf("a job with every check passed has a feedback section:\n%s", out)
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("colour without a terminal, or a control sequence from the student's log:\n%q", out)
	}
	b.Reset()
	_ = Table(&b, sample(), TableOptions{Lang: "zh", Details: true})
	if !strings.Contains(b.String(), "监听 0.0.0.0。") || !strings.Contains(b.String(), "甲") {
		t.Errorf("Chinese hint or title missing:\n%s", b.String())
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var back Run
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Format != FormatVersion || len(back.Jobs) != 3 || back.Jobs[1].Checks[1].Status != checks.StatusFail ||
		back.Jobs[1].Checks[1].Hint.ZH != "监听 0.0.0.0。" {
		t.Errorf("round trip lost data: %+v", back)
	}
}

func TestFailed(t *testing.T) {
	r := sample()
	if !r.Failed() || r.GradeErrors() {
		t.Errorf("failed=%v gradeErrors=%v", r.Failed(), r.GradeErrors())
	}
	r.Jobs = r.Jobs[:1]
	if r.Failed() {
		t.Error("an all-pass run reported failed")
	}
	r.Jobs[0].Checks[0].Status = checks.StatusError
	if !r.GradeErrors() {
		t.Error("an error verdict is not reported as a grade error")
	}
}
