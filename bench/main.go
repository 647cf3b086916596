// Command bench measures grade against the floor: `make bench`.
//
// It generates a class (N copies of the sample submissions of
// ch04-first-dockerfile, each made unique so the build cache cannot serve
// one from another), grades it with grade --jobs 1 and --jobs 2 (wall time,
// median job, grade's own CPU time and peak RSS; grade's default builder,
// BuildKit where the engine has it) and with --jobs 1 and the classic
// builder, does the same engine work
// with a minimal program (build, create, start, one HTTP probe, remove: the
// floor), and times image-level checks done grade's way against one
// container per check. It prints a table and writes bench/results.json.
// It is a benchmark, not a test: nothing here asserts a time.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gradeproject/grade/grader/report"
)

const scenarioID = "ch04-first-dockerfile"

// Measure is one measured configuration.
type Measure struct {
	Name      string  `json:"name"`
	Builder   string  `json:"builder,omitempty"`
	Jobs      int     `json:"jobs"`
	WallSec   float64 `json:"wall_seconds"`
	MedianSec float64 `json:"median_job_seconds"`
	CPUSec    float64 `json:"cpu_seconds,omitempty"`
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
}

// Results is bench/results.json.
type Results struct {
	Date      string    `json:"date"`
	N         int       `json:"n"`
	Jobs      int       `json:"jobs_in_class"`
	Measures  []Measure `json:"measures"`
	Ratios    Ratios    `json:"ratios"`
	ImageWay  float64   `json:"image_checks_grade_seconds"`
	ImagePerC float64   `json:"image_checks_container_per_check_seconds"`
}

// Ratios are the targets' figures.
type Ratios struct {
	GradeOverFloorJobs1 float64 `json:"grade_over_floor_jobs1"`
	GradeOverFloorJobs2 float64 `json:"grade_over_floor_jobs2"`
	Jobs2Speedup        float64 `json:"jobs2_speedup"`
	// ClassicOverBuildKit is the class at --jobs 1 with the classic builder
	// over BuildKit (grade's default), both grade's.
	ClassicOverBuildKit float64 `json:"classic_over_buildkit_jobs1"`
	ImageChecksSpeedup  float64 `json:"image_checks_speedup"`
}

func main() {
	n := flag.Int("n", 30, "copies of the samples in the generated class")
	grade := flag.String("grade", "bin/grade", "the grade binary")
	out := flag.String("out", "bench/results.json", "where to write the results")
	flag.Parse()
	if err := run(*n, *grade, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n int, grade, out string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "grade-bench")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	subs, err := generate(dir, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: a class of %d submissions of %s in %s\n", len(subs), scenarioID, dir)
	res := Results{Date: time.Now().UTC().Format(time.RFC3339), N: n, Jobs: len(subs)}

	for _, jobs := range []int{1, 2} {
		fmt.Fprintf(os.Stderr, "bench: grade --jobs %d …\n", jobs)
		m, err := measureGrade(grade, dir, jobs, "")
		if err != nil {
			return err
		}
		res.Measures = append(res.Measures, m)
	}
	fmt.Fprintln(os.Stderr, "bench: grade --jobs 1, classic builder …")
	classic, err := measureGrade(grade, dir, 1, "classic")
	if err != nil {
		return err
	}
	f, err := newFloor(ctx)
	if err != nil {
		return err
	}
	defer f.close()
	for _, jobs := range []int{1, 2} {
		fmt.Fprintf(os.Stderr, "bench: floor, %d at once …\n", jobs)
		m, err := f.measure(ctx, subs, jobs)
		if err != nil {
			return err
		}
		res.Measures = append(res.Measures, m)
	}
	fmt.Fprintln(os.Stderr, "bench: image-level checks …")
	if res.ImageWay, res.ImagePerC, err = imageChecks(ctx, f, filepath.Join("submissions", "alice", scenarioID)); err != nil {
		return err
	}
	g1, g2, f1, f2 := res.Measures[0], res.Measures[1], res.Measures[2], res.Measures[3]
	res.Measures = append(res.Measures, classic)
	res.Ratios = Ratios{
		GradeOverFloorJobs1: round(g1.WallSec / f1.WallSec),
		GradeOverFloorJobs2: round(g2.WallSec / f2.WallSec),
		Jobs2Speedup:        round(g1.WallSec / g2.WallSec),
		ClassicOverBuildKit: round(classic.WallSec / g1.WallSec),
		ImageChecksSpeedup:  round(res.ImagePerC / res.ImageWay),
	}
	printTable(res)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

// generate copies the samples of the scenario (not the hostile ones) into
// dir/<student>/<scenario>, n times round-robin, each copy's app.js made
// unique.
func generate(dir string, n int) ([]string, error) {
	samples, err := filepath.Glob(filepath.Join("submissions", "*", scenarioID))
	if err != nil {
		return nil, fmt.Errorf("finding the samples of %s: %w", scenarioID, err)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("no samples of %s under submissions/", scenarioID)
	}
	// The class is correct and typical-mistake samples: a hostile one (an
	// endless build, a fork bomb) measures the sandbox, not the grading.
	samples = slices.DeleteFunc(samples, func(s string) bool {
		return strings.HasPrefix(filepath.Base(filepath.Dir(s)), "hostile-")
	})
	if len(samples) == 0 {
		return nil, fmt.Errorf("no samples of %s under submissions/ but hostile ones", scenarioID)
	}
	sort.Strings(samples)
	var subs []string
	for i := 0; i < n; i++ {
		src := samples[i%len(samples)]
		student := fmt.Sprintf("s%03d-%s", i+1, filepath.Base(filepath.Dir(src)))
		dst := filepath.Join(dir, student, scenarioID)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				return nil, err
			}
			if e.Name() == "app.js" {
				b = append(b, fmt.Sprintf("// %s\n", student)...)
			}
			if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
				return nil, err
			}
		}
		subs = append(subs, dst)
	}
	return subs, nil
}

// measureGrade runs grade over the class with builder (GRADE_BUILDER; ""
// for grade's default) and reads its own resource use.
func measureGrade(grade, dir string, jobs int, builder string) (Measure, error) {
	cmd := exec.Command(grade, "--all", "--quiet", "--submissions", dir, "--scenario", scenarioID,
		"--jobs", fmt.Sprint(jobs), "-o", "json")
	cmd.Env = append(os.Environ(), "GRADE_BUILDER="+builder)
	var stdout strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 1) {
		return Measure{}, fmt.Errorf("grade --jobs %d: %w", jobs, err)
	}
	r, err := report.ReadJSON(strings.NewReader(stdout.String()))
	if err != nil {
		return Measure{}, err
	}
	var durs []float64
	for _, j := range r.Jobs {
		durs = append(durs, j.DurationSec)
	}
	if builder == "" {
		builder = "auto"
	}
	m := Measure{Name: "grade", Builder: builder, Jobs: jobs, WallSec: round(wall.Seconds()), MedianSec: round(median(durs))}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.CPUSec = round(tv(ru.Utime) + tv(ru.Stime))
		m.PeakRSSMB = round(float64(ru.Maxrss) / 1024)
	}
	return m, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

func printTable(r Results) {
	fmt.Printf("\ngenerated class: %d submissions of %s (copies of the samples, each unique)\n\n", r.Jobs, scenarioID)
	fmt.Printf("%-8s %-9s %5s %10s %12s %9s %10s\n", "what", "builder", "jobs", "wall (s)", "median (s)", "CPU (s)", "RSS (MB)")
	for _, m := range r.Measures {
		cpu, rss := "—", "—"
		if m.CPUSec > 0 {
			cpu, rss = fmt.Sprintf("%.2f", m.CPUSec), fmt.Sprintf("%.1f", m.PeakRSSMB)
		}
		b := m.Builder
		if m.Name == "floor" {
			b = "classic" // the raw API's classic build, what a student's 20.10 does by hand
		}
		fmt.Printf("%-8s %-9s %5d %10.1f %12.2f %9s %10s\n", m.Name, b, m.Jobs, m.WallSec, m.MedianSec, cpu, rss)
	}
	fmt.Printf("\nimage-level checks (10 file checks + 1 image check on one image):\n")
	fmt.Printf("  grade's way (one created container, inspect): %.2f s\n", r.ImageWay)
	fmt.Printf("  one container per check:                      %.2f s\n\n", r.ImagePerC)
	target := func(name string, v, want float64, le bool) {
		ok := v >= want
		op := "≥"
		if le {
			ok, op = v <= want, "≤"
		}
		mark := "met"
		if !ok {
			mark = "MISSED"
		}
		fmt.Printf("  %-34s %6.2f  (target %s %.2f)  %s\n", name, v, op, want, mark)
	}
	fmt.Println("targets:")
	target("grade / floor, --jobs 1", r.Ratios.GradeOverFloorJobs1, 1.0, true)
	target("grade / floor, --jobs 2", r.Ratios.GradeOverFloorJobs2, 1.1, true)
	fmt.Printf("  %-34s %6.2f  (grade's class with the classic builder over BuildKit, --jobs 1)\n", "classic / BuildKit", r.Ratios.ClassicOverBuildKit)
	target("--jobs 2 speed-up over --jobs 1", r.Ratios.Jobs2Speedup, 1.8, false)
	target("image checks speed-up", r.Ratios.ImageChecksSpeedup, 10, false)
	peak := 0.0
	for _, m := range r.Measures {
		peak = max(peak, m.PeakRSSMB)
	}
	target("grade's peak RSS (MB)", peak, 60, true)
}
