package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestBoundFolderHardLink: a compose file binding a folder of the
// submission that holds a hard link gets the submission's verdict, naming
// the link, not grade's error.
func TestBoundFolderHardLink(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng, err := New(ctx)
	if err != nil {
		t.Fatalf("integration tests need the Docker engine: %v", err)
	}
	defer func() { _ = eng.Close() }()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox:latest\n    command: [\"sleep\", \"60\"]\n    volumes:\n      - ./site:/site\n"})
	outside := filepath.Join(t.TempDir(), "host-file")
	if err := os.WriteFile(outside, []byte("the host's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(outside, filepath.Join(dir, "site", "hl.txt")); err != nil {
		t.Skipf("no hard link here: %v", err)
	}
	job := eng.NewComposeJob("hardlink/compose", JobOptions{Dir: dir})
	info, err := job.Up(ctx, ComposeSpec{Dir: dir, File: "compose.yaml", BuildTimeout: time.Minute, Images: []string{"busybox:latest"}})
	if err != nil || info.OK || !strings.Contains(info.Error, "in the folder site: hl.txt is a hard link") {
		t.Errorf("up: %+v, %v", info, err)
	}
	if err := job.Close(); err != nil {
		t.Error(err)
	}
	_, _ = eng.CleanRun()
	assertNothingLabelled(ctx, t, eng)
}
