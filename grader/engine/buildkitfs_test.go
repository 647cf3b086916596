package engine

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestEntryFS: BuildKit gets the context scanContext listed, in fsutil's
// order, with grade's planted and changed files, and nothing else.
func TestEntryFS(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM x\n", "a/b.txt": "b\n", "a.txt": "a\n", "ignored.txt": "no\n"})
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("ignored.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := scanContext(dir, "Dockerfile", 1<<20, overlay{plant: map[string][]byte{"deep/er/.env": []byte("S=1\n")}, appendTo: map[string][]byte{"a.txt": []byte("more\n")}})
	if err != nil {
		t.Fatal(err)
	}
	f := newEntryFS(entries)
	var got []string
	err = f.Walk(context.Background(), "", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".dockerignore", "Dockerfile", "a", "a/b.txt", "a.txt", "deep", "deep/er", "deep/er/.env"}
	if !slices.Equal(got, want) {
		t.Errorf("walk\n got %q\nwant %q", got, want)
	}
	for p, want := range map[string]string{"a.txt": "a\nmore\n", "deep/er/.env": "S=1\n", "a/b.txt": "b\n"} {
		rc, err := f.Open(p)
		if err != nil {
			t.Errorf("open %s: %v", p, err)
			continue
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		if string(b) != want {
			t.Errorf("%s = %q, want %q", p, b, want)
		}
	}
	for _, p := range []string{"ignored.txt", "a", "../etc/passwd", "/etc/hostname"} {
		if rc, err := f.Open(p); err == nil {
			_ = rc.Close()
			t.Errorf("%s opens", p)
		}
	}
	got = nil
	_ = f.Walk(context.Background(), "", func(p string, d fs.DirEntry, err error) error {
		got = append(got, p)
		if p == "a" {
			return fs.SkipDir
		}
		return nil
	})
	if slices.Contains(got, "a/b.txt") || !slices.Contains(got, "a.txt") {
		t.Errorf("SkipDir on a: %q", got)
	}
}
