package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gradeproject/grade/checks"
)

// TestWorkspace: the workspace is the submission's regular files and
// folders only (links, wherever they lead, and special files are left out),
// and a submission past its limits is the submission's fault.
func TestWorkspace(t *testing.T) {
	src := t.TempDir()
	for name, content := range map[string]string{"run.sh": "docker run x\n", "site/index.html": "<h1>hi</h1>\n"} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"inside": "run.sh", "shadow": "/etc/shadow", "site/up": ".."} {
		if err := os.Symlink(target, filepath.Join(src, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "work")
	if err := workspace(src, dir, 1<<20, 100); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got = append(got, fmt.Sprintf("%s %v", filepath.ToSlash(rel), d.Type()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{". d---------", "run.sh ----------", "site d---------", "site/index.html ----------"}
	if !slices.Equal(got, want) {
		t.Errorf("workspace:\n got %q\nwant %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "site", "index.html")); string(b) != "<h1>hi</h1>\n" {
		t.Errorf("site/index.html = %q", b)
	}
	var le *checks.LimitError
	if err := workspace(src, filepath.Join(t.TempDir(), "w"), 4, 100); !errors.As(err, &le) || !strings.Contains(err.Error(), "larger than 4B") {
		t.Errorf("a submission over the size limit: %v", err)
	}
	if err := workspace(src, filepath.Join(t.TempDir(), "w"), 1<<20, 3); !errors.As(err, &le) || !strings.Contains(err.Error(), "more than 3 files and folders") {
		t.Errorf("a submission over the entry limit: %v", err)
	}
}
