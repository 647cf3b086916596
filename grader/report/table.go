package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/gradeproject/grade/checks"
)

// TableOptions says how to render the table.
type TableOptions struct {
	// Lang picks the language of titles and hints: "en" or "zh".
	Lang string
	// Color uses ANSI colours (on a terminal only).
	Color bool
	// Details adds the feedback of every failed check after the table.
	Details bool
}

// Table writes the score table (rows students, columns scenarios, a total
// column) and, with Details, the feedback of every check that did not pass.
func Table(w io.Writer, r *Run, o TableOptions) error {
	g := newGrid(r)
	students, scenarios := g.students, g.scenarios
	pad := tw.CellPadding{Global: tw.Padding{Left: " ", Right: " "}}
	align := tw.CellAlignment{Global: tw.AlignRight, PerColumn: []tw.Align{tw.AlignLeft}}
	cell := tw.CellConfig{Formatting: tw.CellFormatting{AutoFormat: tw.Off}, Padding: pad, Alignment: align}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderConfig(cell),
		tablewriter.WithFooterConfig(cell),
		tablewriter.WithRowConfig(tw.CellConfig{Padding: pad, Alignment: align}),
	)
	header := append([]any{"student"}, toAny(scenarios)...)
	header = append(header, "total")
	t.Header(header...)
	colScore := make([]float64, len(scenarios))
	colMax := make([]float64, len(scenarios))
	for _, s := range students {
		cells, score, maxp := g.row(s, "—", func(j *Job) string {
			if j.Error != "" && ungraded(j) {
				return "not graded"
			}
			if j.Error != "" {
				return scoreCell(j) + " (error)"
			}
			return scoreCell(j)
		})
		row := append([]any{s}, toAny(cells)...)
		for i, sc := range scenarios {
			if j := g.at(s, sc); j != nil {
				colScore[i] += j.Score
				colMax[i] += j.Max
			}
		}
		row = append(row, fmt.Sprintf("%s/%s", num(score), num(maxp)))
		if err := t.Append(row...); err != nil {
			return err
		}
	}
	if len(students) > 1 {
		footer := []any{"average"}
		var all, allMax float64
		for i := range scenarios {
			n := float64(countWith(r, scenarios[i]))
			footer = append(footer, fmt.Sprintf("%s/%s", num(colScore[i]/n), num(colMax[i]/n)))
			all += colScore[i] / n
			allMax += colMax[i] / n
		}
		footer = append(footer, fmt.Sprintf("%s/%s", num(all), num(allMax)))
		t.Footer(footer...)
	}
	if err := t.Render(); err != nil {
		return err
	}
	c := r.Counts()
	fmt.Fprintf(w, "%d checks: %d passed, %d failed, %d skipped, %d not graded (grade errors)\n",
		c[checks.StatusPass]+c[checks.StatusFail]+c[checks.StatusSkipped]+c[checks.StatusError],
		c[checks.StatusPass], c[checks.StatusFail], c[checks.StatusSkipped], c[checks.StatusError])
	if r.Interrupted {
		why := r.StopReason
		if why == "" {
			why = "interrupted"
		}
		fmt.Fprintf(w, "Not graded, %s: %d jobs: %s\n", why, len(r.NotGraded), strings.Join(r.NotGraded, ", "))
	}
	for _, j := range r.Jobs {
		if j.Error != "" {
			fmt.Fprintf(w, "Could not grade %s (grade's or the engine's failure, not the student's): %s\n", j.Name(), j.Error)
		}
	}
	if o.Details {
		Feedback(w, r, o)
	}
	return nil
}

// Feedback writes, for every job, each check that did not pass: what was
// expected, what was found, the cause, the hint and the course section.
func Feedback(w io.Writer, r *Run, o TableOptions) {
	paint := func(code, s string) string {
		if !o.Color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	l := labelsFor(o.Lang)
	for _, j := range r.Jobs {
		var bad []Result
		for _, res := range j.Checks {
			if res.Status != checks.StatusPass {
				bad = append(bad, res)
			}
		}
		if len(bad) == 0 && j.Error == "" {
			continue
		}
		title := ""
		if t := j.Title.In(o.Lang); t != "" {
			title = " — " + t
		}
		fmt.Fprintf(w, "\n%s%s (%s/%s)\n", paint("1", j.Name()), title, num(j.Score), num(j.Max))
		if j.Error != "" {
			fmt.Fprintf(w, "  %s grade could not grade this submission: %s\n", paint("35", "ERROR"), printable(j.Error))
		}
		for _, res := range bad {
			// What a submission printed reaches these texts: no terminal
			// control sequences from it reach the reader's terminal.
			res.Expected, res.Actual, res.Message, res.Detail = printable(res.Expected), printable(res.Actual), printable(res.Message), printable(res.Detail)
			label := map[checks.Status]string{
				checks.StatusFail: paint("31", "FAIL"), checks.StatusSkipped: paint("33", "SKIP"), checks.StatusError: paint("35", "ERROR"),
			}[res.Status]
			title := res.Title.In(o.Lang)
			if title == "" {
				title = res.Kind
			}
			fmt.Fprintf(w, "  %s %s: %s (0/%s)\n", label, res.Check, title, num(res.Max))
			if res.Status == checks.StatusSkipped {
				fmt.Fprintf(w, "       %s\n", res.Message)
				continue
			}
			if res.Expected != "" {
				fmt.Fprintf(w, "       %s %s\n", l.expected, res.Expected)
			}
			if res.Actual != "" {
				fmt.Fprintf(w, "       %s %s\n", l.actual, res.Actual)
			}
			if res.Message != "" {
				fmt.Fprintf(w, "       %s %s\n", l.cause, res.Message)
			}
			if h := res.Hint.In(o.Lang); h != "" {
				see := ""
				if res.See != "" {
					see = fmt.Sprintf(l.course, res.See)
				}
				fmt.Fprintf(w, "       %s %s%s\n", l.hint, h, see)
			} else if res.See != "" {
				fmt.Fprintf(w, "       %s"+strings.TrimSpace(l.course)+"\n", l.see, res.See)
			}
			if res.Detail != "" {
				fmt.Fprintf(w, "       │ %s\n", strings.ReplaceAll(strings.TrimRight(res.Detail, "\n"), "\n", "\n       │ "))
			}
		}
	}
}

// grid is the score matrix of a run: students × scenarios.
type grid struct {
	students, scenarios []string
	jobs                map[string]*Job
}

func newGrid(r *Run) grid {
	g := grid{jobs: map[string]*Job{}}
	ss, sc := map[string]bool{}, map[string]bool{}
	for _, j := range r.Jobs {
		g.jobs[j.Student+"\x00"+j.Scenario] = j
		if !ss[j.Student] {
			ss[j.Student] = true
			g.students = append(g.students, j.Student)
		}
		if !sc[j.Scenario] {
			sc[j.Scenario] = true
			g.scenarios = append(g.scenarios, j.Scenario)
		}
	}
	sort.Strings(g.students)
	sort.Strings(g.scenarios)
	return g
}

// at is student's job for scenario, nil when there is none.
func (g grid) at(student, scenario string) *Job { return g.jobs[student+"\x00"+scenario] }

// row renders a student's cells, one per scenario (none where the student
// has no job), and sums the student's score and maximum.
func (g grid) row(student, none string, cell func(*Job) string) (cells []string, score, maxp float64) {
	for _, sc := range g.scenarios {
		j := g.at(student, sc)
		if j == nil {
			cells = append(cells, none)
			continue
		}
		cells = append(cells, cell(j))
		score, maxp = score+j.Score, maxp+j.Max
	}
	return cells, score, maxp
}

// scoreCell shows a job's score as "score/max".
func scoreCell(j *Job) string { return num(j.Score) + "/" + num(j.Max) }

func countWith(r *Run, scenario string) int {
	n := 0
	for _, j := range r.Jobs {
		if j.Scenario == scenario {
			n++
		}
	}
	return max(n, 1)
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// num shows points without needless decimals: 40, 12.5.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// labels are the words of the feedback, per language.
type labels struct{ expected, actual, cause, hint, see, course string }

func labelsFor(lang string) labels {
	if strings.HasPrefix(lang, "zh") {
		return labels{"期望：", "实际：", "原因：", "提示：", "参见：", "（课程 §%s）"}
	}
	return labels{"expected:", "actual:  ", "cause:   ", "hint:    ", "see:     ", " (course §%s)"}
}

// printable replaces control characters other than newline and tab (an
// escape sequence a student's program printed) with U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return '\uFFFD'
	}, s)
}

// ungraded reports whether grade could run none of a job's checks (every
// one is an error): its score says nothing of the submission.
func ungraded(j *Job) bool {
	for _, c := range j.Checks {
		if c.Status != checks.StatusError {
			return false
		}
	}
	return true
}
