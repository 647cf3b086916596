package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := JUnit(&b, sample(), "en"); err != nil {
		t.Fatal(err)
	}
	var back junitSuites
	if err := xml.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if back.Tests != 4 || back.Failures != 1 || back.Errors != 0 || len(back.Suites) != 3 {
		t.Errorf("counts: tests %d failures %d errors %d suites %d", back.Tests, back.Failures, back.Errors, len(back.Suites))
	}
	bob := back.Suites[1]
	if bob.Name != "bob/ch04-a" || bob.Cases[1].Classname != "bob/ch04-a" || bob.Cases[1].Failure == nil ||
		!strings.Contains(bob.Cases[1].Failure.Text, "the app listens on 127.0.0.1:3000") {
		t.Errorf("bob's suite: %+v", bob)
	}
	if back.Suites[2].Skipped != 1 || back.Suites[2].Cases[0].Skipped == nil {
		t.Errorf("skipped check not marked: %+v", back.Suites[2])
	}
	validateXSD(t, b.Bytes())
}

// validateXSD validates against the JUnit schema GitLab's parser follows,
// with xmllint (Debian's libxml2-utils, installed by `make tools`).
func validateXSD(t *testing.T, doc []byte) {
	t.Helper()
	xsd := filepath.Join("..", "..", "third_party", "schemas", "junit.xsd")
	if _, err := os.Stat(xsd); err != nil {
		t.Fatalf("the JUnit schema is not at %s: %v", xsd, err)
	}
	lint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint is needed to validate JUnit output (make tools installs libxml2-utils): %v", err)
	}
	f := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(lint, "--noout", "--schema", xsd, f).CombinedOutput(); err != nil {
		t.Fatalf("junit.xml does not validate against %s: %v\n%s", xsd, err, out)
	}
}

func TestJUnitSchemaCatchesInvalid(t *testing.T) {
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("xmllint missing; TestJUnit reports it")
	}
	bad := []byte(`<?xml version="1.0"?><testsuites><testsuite name="x"><testcase/></testsuite></testsuites>`)
	f := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(f, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	xsd := filepath.Join("..", "..", "third_party", "schemas", "junit.xsd")
	if err := exec.Command("xmllint", "--noout", "--schema", xsd, f).Run(); err == nil {
		t.Fatal("xmllint accepted a testsuite without its required attributes: the validation cannot fail")
	}
}

func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := CSV(&b, sample()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"student", "ch04-a", "ch04-b", "total", "max"}, {"alice", "100", "", "100", "100"}, {"bob", "60", "0", "60", "150"}}
	if len(rows) != len(want) {
		t.Fatalf("rows = %v", rows)
	}
	for i := range want {
		if strings.Join(rows[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("row %d = %v, want %v", i, rows[i], want[i])
		}
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, sample(), "en"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| student | ch04-a | ch04-b | total |", "| bob | 60/100 | 0/50 | 60/150 |", "### bob/ch04-a (60/100)",
		"**FAIL** `greets` Answers (0/40)", "cause: the app listens on 127.0.0.1:3000"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

func TestGradescope(t *testing.T) {
	r := sample()
	r.Jobs[1].Checks[0].Hidden = true
	var b bytes.Buffer
	if err := Gradescope(&b, r, "en"); err != nil {
		t.Fatal(err)
	}
	var g gradescope
	if err := json.Unmarshal(b.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	if g.Score != 160 || len(g.Tests) != 4 {
		t.Fatalf("score %v tests %d", g.Score, len(g.Tests))
	}
	if g.Tests[1].Visibility != "after_published" || g.Tests[2].Status != "failed" || g.Tests[2].MaxScore != 40 {
		t.Errorf("tests: %+v", g.Tests)
	}
}

func TestHTML(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, sample(), "en"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"<svg", "score distribution", "pass rate per check", "ch04-a · greets", `id="s-bob"`,
		"the app listens on 127.0.0.1:3000", `class="full">100/100`} {
		if !strings.Contains(out, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if strings.Contains(out, bad) {
			t.Errorf("html is not self-contained: has %q", bad)
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct{ in, file, format string }{
		{"out/results.json", "out/results.json", "json"},
		{"out/junit.xml:junit", "out/junit.xml", "junit"},
		{"out/grades.csv", "out/grades.csv", "csv"},
		{"out/results.json:gradescope", "out/results.json", "gradescope"},
		{"C:/x/index.html", "C:/x/index.html", "html"},
	}
	for _, tt := range tests {
		f, fm, err := ParseTarget(tt.in)
		if err != nil || f != tt.file || fm != tt.format {
			t.Errorf("ParseTarget(%q) = %q, %q, %v", tt.in, f, fm, err)
		}
	}
	for _, bad := range []string{"out/x.bin", "out/x.json:yaml", ":json"} {
		if _, _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
}
