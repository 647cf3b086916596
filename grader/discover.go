package grader

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gradeproject/grade/grader/scenario"
)

// Submission is one student's folder for one scenario.
type Submission struct {
	Student  string
	Scenario *scenario.Scenario
	Dir      string
}

// Name is "student/scenario".
func (s Submission) Name() string { return s.Student + "/" + s.Scenario.ID }

// Filter selects jobs; empty fields select everything.
type Filter struct {
	Students  []string
	Scenarios []string
	// Jobs lists "student/scenario" pairs.
	Jobs []string
}

func (f Filter) keep(student, sc string) bool {
	return (len(f.Students) == 0 || contains(f.Students, student)) &&
		(len(f.Scenarios) == 0 || contains(f.Scenarios, sc)) &&
		(len(f.Jobs) == 0 || contains(f.Jobs, student+"/"+sc))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Discover lists the submissions under root: root/<student>/<scenario-id>/,
// for the scenarios given. Folders named after no scenario are reported in
// unknown, so a misnamed folder is not silently ignored.
func Discover(root string, scenarios []*scenario.Scenario, f Filter) (subs []Submission, unknown []string, err error) {
	byID := map[string]*scenario.Scenario{}
	for _, s := range scenarios {
		byID[s.ID] = s
	}
	students, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the submissions folder: %w", err)
	}
	for _, st := range students {
		if !st.IsDir() || strings.HasPrefix(st.Name(), ".") {
			continue
		}
		dirs, err := os.ReadDir(filepath.Join(root, st.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", filepath.Join(root, st.Name()), err)
		}
		for _, d := range dirs {
			if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
				continue
			}
			sc, ok := byID[d.Name()]
			if !ok {
				unknown = append(unknown, filepath.Join(root, st.Name(), d.Name()))
				continue
			}
			if f.keep(st.Name(), sc.ID) {
				subs = append(subs, Submission{Student: st.Name(), Scenario: sc, Dir: filepath.Join(root, st.Name(), d.Name())})
			}
		}
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name() < subs[j].Name() })
	return subs, unknown, nil
}

// Shard keeps the i-th of n shares of subs (1 ≤ i ≤ n), dealt round-robin
// in name order, so that n CI jobs grade disjoint sets that together cover
// every submission (GitLab's CI_NODE_INDEX/CI_NODE_TOTAL).
func Shard(subs []Submission, i, n int) []Submission {
	var out []Submission
	for k, s := range subs {
		if k%n == i-1 {
			out = append(out, s)
		}
	}
	return out
}
