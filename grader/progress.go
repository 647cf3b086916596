package grader

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gradeproject/grade/grader/report"
)

// Progress hears about jobs as they start and end.
type Progress interface {
	Started(name string)
	Finished(name string, j *report.Job)
}

// NewProgress reports on w: on a terminal one status line rewritten in place
// (jobs done / total, elapsed, the jobs running); otherwise a plain line per
// job started and finished.
func NewProgress(w io.Writer, terminal bool, total int) Progress {
	p := &progress{w: w, tty: terminal, total: total, start: time.Now(), running: map[string]bool{}}
	return p
}

type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	total   int
	done    int
	start   time.Time
	running map[string]bool
}

func (p *progress) Started(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[name] = true
	if p.tty {
		p.status()
		return
	}
	fmt.Fprintf(p.w, "[start] %s\n", name)
}

func (p *progress) Finished(name string, j *report.Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, name)
	p.done++
	line := fmt.Sprintf("[%d/%d] %s: %s/%s in %.1fs", p.done, p.total, name, trim(j.Score), trim(j.Max), j.DurationSec)
	if j.Error != "" {
		line += " (grade error: " + j.Error + ")"
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", line)
		p.status()
		return
	}
	fmt.Fprintln(p.w, line)
}

// status rewrites the terminal's status line.
func (p *progress) status() {
	names := make([]string, 0, len(p.running))
	for n := range p.running {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		fmt.Fprint(p.w, "\r\x1b[K")
		return
	}
	s := fmt.Sprintf("%d/%d done, %s elapsed — grading %s", p.done, p.total,
		time.Since(p.start).Round(time.Second), strings.Join(names, ", "))
	if len(s) > 110 {
		s = s[:109] + "…"
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", s)
}
