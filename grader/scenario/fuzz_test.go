package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gradeproject/grade/checks"
)

// FuzzParse feeds the loader arbitrary files. It must never panic or hang,
// must explain every refusal with an error located in the file, and must only
// accept scenarios that can be graded (an id, at least one check, each with
// a kind's spec).
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../scenarios/*.yaml")
	bombs, _ := filepath.Glob("../../cmd/grade/testdata/*/*.yaml")
	for _, p := range append(seeds, bombs...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(valid))
	f.Add([]byte("version: 1\nid: x\nchecks: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v (%T) is not a list of located errors", err, err)
			}
			lines := lineCount(data)
			for _, e := range es {
				if e.File != "f.yaml" || e.Msg == "" || e.Line < 0 || e.Line > lines {
					t.Fatalf("error %+v: file, message or line (of %d) is wrong", e, lines)
				}
			}
			return
		}
		if s.ID == "" || len(s.Checks) == 0 || s.stackCount() != 1 {
			t.Fatalf("accepted a scenario that cannot be graded: %+v", s)
		}
		for _, c := range s.Checks {
			if c.Check == nil || c.ID == "" {
				t.Fatalf("accepted a check without its spec: %+v", c)
			}
		}
		_ = s.Effective(checks.DefaultLimits).String()
	})
}
