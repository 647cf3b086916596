package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/gradeproject/grade/checks"
)

// JUnit XML, as GitLab's test report widget reads it: one testsuite per job
// (student/scenario), one testcase per check, the feedback as failure text.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Time     string       `xml:"time,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
	SystemOut string      `xml:"system-out,omitempty"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// seconds shows a duration the way the JUnit schema wants: at most three decimals.
func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }

// JUnit writes the run as JUnit XML in lang.
func JUnit(w io.Writer, r *Run, lang string) error {
	out := junitSuites{Name: "grade", Time: seconds(r.DurationSec)}
	for _, j := range r.Jobs {
		s := junitSuite{Name: j.Name(), Time: seconds(j.DurationSec), Timestamp: r.Started.Format("2006-01-02T15:04:05")}
		if j.Error != "" {
			s.SystemOut = "grade could not grade this submission: " + j.Error
		}
		for _, c := range j.Checks {
			tc := junitCase{Name: c.Check, Classname: j.Name(), Time: seconds(c.DurationSec)}
			if t := c.Title.In(lang); t != "" {
				tc.Name = c.Check + ": " + t
			}
			msg := &junitMessage{Message: firstLine(c), Type: c.Kind, Text: feedbackText(c, lang)}
			switch c.Status {
			case checks.StatusFail:
				tc.Failure = msg
				s.Failures++
			case checks.StatusError:
				tc.Error = msg
				s.Errors++
			case checks.StatusSkipped:
				tc.Skipped = &junitMessage{Message: c.Message}
				s.Skipped++
			}
			s.Tests++
			s.Cases = append(s.Cases, tc)
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(c Result) string {
	if c.Message != "" {
		return c.Message
	}
	return c.Actual
}

// feedbackText is a check's feedback as plain text, as the table shows it.
func feedbackText(c Result, lang string) string {
	l := labelsFor(lang)
	var b strings.Builder
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s %s\n", strings.TrimSpace(label), v)
		}
	}
	line(l.expected, c.Expected)
	line(l.actual, c.Actual)
	line(l.cause, c.Message)
	if h := c.Hint.In(lang); h != "" {
		see := ""
		if c.See != "" {
			see = fmt.Sprintf(l.course, c.See)
		}
		line(l.hint, h+see)
	}
	if c.Detail != "" {
		b.WriteString(c.Detail + "\n")
	}
	return b.String()
}
