package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/gradeproject/grade/checks"
)

// HTML writes a self-contained class overview for instructors: the score
// table, the distribution of scores and the pass rate of every check as
// inline SVG charts, and a drill-down per student. No script, no external
// file.
func HTML(w io.Writer, r *Run, lang string) error {
	g := newGrid(r)
	students, scenarios := g.students, g.scenarios
	type cell struct {
		Text  string
		Class string
	}
	type row struct {
		Student string
		Cells   []cell
		Total   string
		Jobs    []*Job
	}
	var rows []row
	var percents []float64
	for _, s := range students {
		rw := row{Student: s}
		var total, maxp float64
		for _, sc := range scenarios {
			j := g.at(s, sc)
			if j == nil {
				rw.Cells = append(rw.Cells, cell{Text: "—", Class: "none"})
				continue
			}
			rw.Jobs = append(rw.Jobs, j)
			rw.Cells = append(rw.Cells, cell{Text: num(j.Score) + "/" + num(j.Max), Class: grade(j.Score, j.Max)})
			total, maxp = total+j.Score, maxp+j.Max
		}
		rw.Total = num(total) + "/" + num(maxp)
		if maxp > 0 {
			percents = append(percents, 100*total/maxp)
		}
		rows = append(rows, rw)
	}
	data := map[string]any{
		"Run":          r,
		"Scenarios":    scenarios,
		"Rows":         rows,
		"Distribution": template.HTML(distributionSVG(percents)),
		"PassRates":    template.HTML(passRateSVG(r, lang)),
		"Lang":         lang,
	}
	return overview.Execute(w, data)
}

func grade(score, maxp float64) string {
	switch {
	case maxp == 0:
		return "none"
	case score >= maxp:
		return "full"
	case score >= maxp/2:
		return "part"
	}
	return "low"
}

// distributionSVG is a histogram of total scores in 10-point buckets.
func distributionSVG(percents []float64) string {
	buckets := make([]int, 10)
	for _, p := range percents {
		i := min(int(p/10), 9)
		buckets[max(i, 0)]++
	}
	most := 1
	for _, n := range buckets {
		most = max(most, n)
	}
	const w, h, bar = 440, 180, 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="score distribution">`, w, h+40, w, h+40)
	for i, n := range buckets {
		bh := float64(h-20) * float64(n) / float64(most)
		x := 10 + i*(bar+3)
		fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%.1f" width="%d" height="%.1f"><title>%d–%d%%: %d</title></rect>`,
			x, float64(h)-bh, bar, bh, i*10, i*10+10, n)
		if n > 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="middle">%d</text>`, x+bar/2, float64(h)-bh-4, n)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="axis">%d</text>`, x+bar/2, h+16, i*10)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="axis">score %%</text></svg>`, w/2, h+36)
	return b.String()
}

// passRateSVG is one horizontal bar per check: the share of graded
// submissions that passed it.
func passRateSVG(r *Run, lang string) string {
	type rate struct {
		name         string
		pass, graded int
	}
	idx := map[string]*rate{}
	var order []string
	for _, j := range r.Jobs {
		for _, c := range j.Checks {
			key := j.Scenario + " · " + c.Check
			rt, ok := idx[key]
			if !ok {
				rt = &rate{name: key}
				idx[key] = rt
				order = append(order, key)
			}
			rt.graded++
			if c.Status == checks.StatusPass {
				rt.pass++
			}
		}
	}
	sort.Strings(order)
	const label, bar, rowH = 300, 300, 22
	h := rowH*len(order) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="pass rate per check">`,
		label+bar+60, h, label+bar+60, h)
	for i, k := range order {
		rt := idx[k]
		share := float64(rt.pass) / float64(max(rt.graded, 1))
		y := 5 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, label-6, y+15, template.HTMLEscapeString(k))
		fmt.Fprintf(&b, `<rect class="track" x="%d" y="%d" width="%d" height="16"/>`, label, y+2, bar)
		fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="%.1f" height="16"><title>%d of %d passed</title></rect>`,
			rateClass(share), label, y+2, share*bar, rt.pass, rt.graded)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%d%%</text>`, label+bar+6, y+15, int(math.Round(share*100)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func rateClass(share float64) string {
	switch {
	case share >= 0.8:
		return "ok"
	case share >= 0.5:
		return "mid"
	}
	return "bad"
}

var overview = template.Must(template.New("overview").Funcs(template.FuncMap{
	"num":      num,
	"text":     func(t checks.Text, lang string) string { return t.In(lang) },
	"feedback": feedbackText,
}).Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>grade — class overview</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.full { background: #d8f3dc; } td.part { background: #fff3bf; } td.low { background: #ffd6d6; } td.none { color: #999; }
.charts { display: flex; gap: 3em; flex-wrap: wrap; align-items: flex-start; }
svg text { font-size: 12px; fill: #333; } svg .axis { fill: #777; }
svg .bar { fill: #4c6ef5; } svg .track { fill: #eee; } svg .ok { fill: #40c057; } svg .mid { fill: #fab005; } svg .bad { fill: #fa5252; }
details { margin: .4em 0; } summary { cursor: pointer; font-weight: 600; }
.check { margin: .3em 0 .3em 1.5em; } .pass { color: #2b8a3e; } .fail { color: #c92a2a; } .skipped { color: #e67700; } .error { color: #862e9c; }
pre { background: #f8f9fa; padding: .5em; white-space: pre-wrap; margin: .2em 0 .6em 1.5em; }
.meta { color: #666; }
</style>
</head>
<body>
<h1>Class overview</h1>
<p class="meta">grade {{.Run.Grade}} · engine {{.Run.Engine}} · run {{.Run.RunID}} · {{.Run.Started.Format "2006-01-02 15:04 UTC"}} · {{len .Run.Jobs}} submissions graded{{if .Run.Interrupted}} · interrupted, {{len .Run.NotGraded}} not graded{{end}}</p>
<h2>Scores</h2>
<table>
<tr><th>student</th>{{range .Scenarios}}<th>{{.}}</th>{{end}}<th>total</th></tr>
{{range .Rows}}<tr><td><a href="#s-{{.Student}}">{{.Student}}</a></td>{{range .Cells}}<td class="{{.Class}}">{{.Text}}</td>{{end}}<td>{{.Total}}</td></tr>
{{end}}</table>
<div class="charts">
<section><h2>Score distribution</h2>{{.Distribution}}</section>
<section><h2>Pass rate per check</h2>{{.PassRates}}</section>
</div>
<h2>Students</h2>
{{$lang := .Lang}}{{range .Rows}}<details id="s-{{.Student}}"><summary>{{.Student}} — {{.Total}}</summary>
{{range .Jobs}}<div class="check"><strong>{{.Scenario}}</strong> {{text .Title $lang}} ({{num .Score}}/{{num .Max}}){{if .Error}} <span class="error">grade error: {{.Error}}</span>{{end}}</div>
{{range .Checks}}<div class="check"><span class="{{.Status}}">{{.Status}}</span> {{.Check}} {{text .Title $lang}} ({{num .Points}}/{{num .Max}}){{if .Hidden}} <em>hidden</em>{{end}}</div>
{{if ne .Status "pass"}}<pre>{{feedback . $lang}}</pre>{{end}}{{end}}{{end}}</details>
{{end}}
</body>
</html>
`))
