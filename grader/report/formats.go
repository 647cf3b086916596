package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gradeproject/grade/checks"
)

// CSV writes the gradebook: one row per student, one column per scenario,
// then the total and the maximum.
func CSV(w io.Writer, r *Run) error {
	g := newGrid(r)
	students, scenarios := g.students, g.scenarios
	cw := csv.NewWriter(w)
	header := append(append([]string{"student"}, scenarios...), "total", "max")
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, s := range students {
		cells, total, maxp := g.row(s, "", func(j *Job) string { return num(j.Score) })
		row := append(append([]string{s}, cells...), num(total), num(maxp))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Markdown writes the score table and the failed checks as Markdown (for a
// merge request comment or a CI job summary).
func Markdown(w io.Writer, r *Run, lang string) error {
	g := newGrid(r)
	students, scenarios := g.students, g.scenarios
	var b strings.Builder
	b.WriteString("| student | " + strings.Join(scenarios, " | ") + " | total |\n")
	b.WriteString("|---" + strings.Repeat("|---:", len(scenarios)+1) + "|\n")
	for _, s := range students {
		row, total, maxp := g.row(s, "—", scoreCell)
		cells := append(append([]string{mdEscape(s)}, row...), num(total)+"/"+num(maxp))
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	for _, j := range r.Jobs {
		first := true
		for _, c := range j.Checks {
			if c.Status == checks.StatusPass {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n### %s (%s/%s)\n\n", mdEscape(j.Name()), num(j.Score), num(j.Max))
				first = false
			}
			title := c.Title.In(lang)
			if title == "" {
				title = c.Kind
			}
			fmt.Fprintf(&b, "- **%s** `%s` %s (0/%s)\n", strings.ToUpper(string(c.Status)), c.Check, mdEscape(title), num(c.Max))
			for _, l := range strings.Split(strings.TrimRight(feedbackText(c, lang), "\n"), "\n") {
				if l != "" {
					fmt.Fprintf(&b, "  - %s\n", mdEscape(l))
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// gradescope is Gradescope's autograder results.json.
type gradescope struct {
	Score         float64          `json:"score"`
	ExecutionTime float64          `json:"execution_time"`
	Output        string           `json:"output,omitempty"`
	Visibility    string           `json:"visibility"`
	Tests         []gradescopeTest `json:"tests"`
}

type gradescopeTest struct {
	Name       string  `json:"name"`
	Score      float64 `json:"score"`
	MaxScore   float64 `json:"max_score"`
	Status     string  `json:"status"`
	Visibility string  `json:"visibility"`
	Output     string  `json:"output,omitempty"`
}

// Gradescope writes Gradescope's results.json: every check a test, hidden
// checks visible to students only after grades are published.
func Gradescope(w io.Writer, r *Run, lang string) error {
	out := gradescope{ExecutionTime: r.DurationSec, Visibility: "visible", Tests: []gradescopeTest{}}
	for _, j := range r.Jobs {
		for _, c := range j.Checks {
			t := gradescopeTest{Name: j.Scenario + ": " + c.Check, Score: c.Points, MaxScore: c.Max,
				Status: "failed", Visibility: "visible", Output: feedbackText(c, lang)}
			if title := c.Title.In(lang); title != "" {
				t.Name += " — " + title
			}
			if len(r.Jobs) > 1 || j.Student == "" {
				t.Name = j.Student + "/" + t.Name
			}
			if c.Status == checks.StatusPass {
				t.Status = "passed"
			}
			if c.Hidden {
				t.Visibility = "after_published"
			}
			out.Score += c.Points
			out.Tests = append(out.Tests, t)
		}
		if j.Error != "" {
			out.Output += j.Name() + ": grade could not grade this submission: " + j.Error + "\n"
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
