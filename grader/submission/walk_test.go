package submission

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gradeproject/grade/checks"
)

// tree makes files, folders and links under dir: a name ending in / is a
// folder, "name -> target" a link, anything else a file holding its own name.
func tree(t *testing.T, dir string, spec ...string) {
	t.Helper()
	for _, s := range spec {
		name, target, link := strings.Cut(s, " -> ")
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(name, "/")))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case link:
			err = os.Symlink(target, p)
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, []byte(name), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// show writes an entry the way the tests below expect it.
func show(e Entry) string {
	switch e.Kind {
	case Dir:
		return e.Rel + "/"
	case File:
		if e.HardLink() {
			return fmt.Sprintf("%s (%d names)", e.Rel, e.Nlink)
		}
		return e.Rel
	case Symlink:
		switch {
		case e.Outside:
			return e.Rel + " -> " + e.Target + ": out"
		case e.Dangling:
			return e.Rel + " -> " + e.Target + ": dangles at " + e.End
		}
		return e.Rel + " -> " + e.Target + ": " + e.End
	case Special:
		return e.Rel + ": special"
	}
	return e.Rel + ": ?"
}

// walk walks dir with opt and shows every entry but the root.
func walk(t *testing.T, dir string, opt Options) ([]string, error) {
	t.Helper()
	var got []string
	err := Walk(dir, opt, func(e Entry) error {
		if e.Rel == "." {
			if e.Kind != Dir || e.Path != dir {
				t.Errorf("the root is reported as %+v", e)
			}
			return nil
		}
		if e.Path != filepath.Join(dir, filepath.FromSlash(e.Rel)) {
			t.Errorf("%s: path %s", e.Rel, e.Path)
		}
		got = append(got, show(e))
		return nil
	})
	return got, err
}

func TestWalk(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string // $ROOT is the root's path, $BASE its name
	}{
		{"files and folders in WalkDir's order", func(t *testing.T, dir string) {
			tree(t, dir, "b", "a/z", "a/b/", "a.txt")
		}, []string{"a/", "a/b/", "a/z", "a.txt", "b"}},
		{"link inside", func(t *testing.T, dir string) {
			tree(t, dir, "f", "l -> f", "sub/up -> ../f", "sub/self -> ./../sub/../f")
		}, []string{"f", "l -> f: f", "sub/", "sub/self -> ./../sub/../f: f", "sub/up -> ../f: f"}},
		{"link to a folder is not walked into", func(t *testing.T, dir string) {
			tree(t, dir, "src/main.go", "app -> src", "top -> .", "sub/top -> ..")
		}, []string{"app -> src: src", "src/", "src/main.go", "sub/", "sub/top -> ..: .", "top -> .: ."}},
		{"absolute link", func(t *testing.T, dir string) {
			tree(t, dir, "f", "passwd -> /etc/passwd", "self -> "+filepath.Join(dir, "f"))
		}, []string{"f", "passwd -> /etc/passwd: out", "self -> $ROOT/f: out"}},
		{"relative link out", func(t *testing.T, dir string) {
			tree(t, dir, "s -> ../../secret", "sub/s -> ../..", "sub/dot -> ../.")
		}, []string{"s -> ../../secret: out", "sub/", "sub/dot -> ../.: .", "sub/s -> ../..: out"}},
		{"out and back in as written", func(t *testing.T, dir string) {
			// ../<the root's name>/f is the root's f, but only through its
			// parent: grade sees no further than the root.
			// x, followed, is f again (deep is three folders down), but as
			// written it climbs above the root: out, as it always was.
			tree(t, dir, "f", "back -> ../"+filepath.Base(dir)+"/f", "a/b/c/", "deep -> a/b/c", "x -> deep/../../../f")
		}, []string{"a/", "a/b/", "a/b/c/", "back -> ../$BASE/f: out", "deep -> a/b/c: a/b/c", "f", "x -> deep/../../../f: out"}},
		{"chain inside", func(t *testing.T, dir string) {
			tree(t, dir, "d/f", "a -> b", "b -> d", "c -> a/f")
		}, []string{"a -> b: d", "b -> d: d", "c -> a/f: d/f", "d/", "d/f"}},
		{"chain out", func(t *testing.T, dir string) {
			// each link points inside as written; followed, far leaves
			tree(t, dir, "a/b/up -> ../..", "far -> a/b/up/..", "near -> a/b/up/a")
		}, []string{"a/", "a/b/", "a/b/up -> ../..: .", "far -> a/b/up/..: out", "near -> a/b/up/a: a"}},
		{"chain through an absolute link", func(t *testing.T, dir string) {
			tree(t, dir, "f", "abs -> "+dir, "via -> abs/f")
		}, []string{"abs -> $ROOT: out", "f", "via -> abs/f: out"}},
		{"links on the way are resolved before ..", func(t *testing.T, dir string) {
			// as written x lands on f; the kernel goes through deep first
			tree(t, dir, "f", "a/b/c/", "a/b/g", "deep -> a/b/c", "x -> deep/../g")
		}, []string{"a/", "a/b/", "a/b/c/", "a/b/g", "deep -> a/b/c: a/b/c", "f", "x -> deep/../g: a/b/g"}},
		{"dangling", func(t *testing.T, dir string) {
			tree(t, dir, "f", "gone -> nope/x", "under -> f/x", "loop1 -> loop2", "loop2 -> loop1")
		}, []string{"f", "gone -> nope/x: dangles at nope/x", "loop1 -> loop2: dangles at ", "loop2 -> loop1: dangles at ",
			"under -> f/x: dangles at f/x"}},
		{"dangling chain out", func(t *testing.T, dir string) {
			// it leads nowhere, but where it leads is out
			tree(t, dir, "a/b/up -> ../..", "far -> a/b/up/../nope", "gone -> nope/../../x")
		}, []string{"a/", "a/b/", "a/b/up -> ../..: .", "far -> a/b/up/../nope: out", "gone -> nope/../../x: out"}},
		{"hard link", func(t *testing.T, dir string) {
			tree(t, dir, "f")
			if err := os.Link(filepath.Join(dir, "f"), filepath.Join(dir, "g")); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "hostname")
			if err := os.WriteFile(out, []byte("host\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(out, filepath.Join(dir, "hl.txt")); err != nil {
				t.Fatal(err)
			}
		}, []string{"f (2 names)", "g (2 names)", "hl.txt (2 names)"}},
		{"special files", func(t *testing.T, dir string) {
			tree(t, dir, "sub/")
			if err := syscall.Mkfifo(filepath.Join(dir, "sub", "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
			tree(t, dir, "p -> sub/pipe")
		}, []string{"p -> sub/pipe: sub/pipe", "sub/", "sub/pipe: special"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			got, err := walk(t, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.NewReplacer("$ROOT", dir, "$BASE", filepath.Base(dir)).Replace(w)
			}
			if !slices.Equal(got, want) {
				t.Errorf("walk:\n got %q\nwant %q", got, want)
			}
			// Where a link ends is where the kernel says it does.
			_ = Walk(dir, Options{}, func(e Entry) error {
				if e.Kind != Symlink || e.Outside || e.Dangling {
					return nil
				}
				real, err := filepath.EvalSymlinks(e.Path)
				want, _ := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(e.End)))
				if err != nil || real != want {
					t.Errorf("%s ends at %s, the kernel says %s (%v)", e.Rel, e.End, real, err)
				}
				return nil
			})
		})
	}
}

func TestWalkLimits(t *testing.T) {
	dir := t.TempDir()
	// 8 entries with the root; 20 bytes (each file holds its name)
	tree(t, dir, "a/x", "b", "l -> b", "node_modules/m/y")
	tests := []struct {
		name   string
		opt    Options
		over   *TooLargeError // nil: within the limits
		phrase string
	}{
		{"no limits", Options{}, nil, ""},
		{"bytes at the limit", Options{Limits: Limits{Bytes: 20}}, nil, ""},
		{"bytes over", Options{Limits: Limits{Bytes: 19}}, &TooLargeError{Bytes: 19}, "the submission is larger than 19B"},
		{"entries at the limit (the root counts)", Options{Limits: Limits{Entries: 8}}, nil, ""},
		{"entries over", Options{Limits: Limits{Entries: 7}}, &TooLargeError{Entries: 7}, "the submission holds more than 7 files and folders"},
		{"ignored entries do not count", Options{Limits: Limits{Bytes: 4, Entries: 5}, Ignore: func(rel string, dir bool) (bool, error) {
			if rel == "node_modules" {
				return true, fs.SkipDir
			}
			return false, nil
		}}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := Walk(dir, tt.opt, func(Entry) error { n++; return nil })
			if tt.over == nil {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			var le *checks.LimitError
			var tl *TooLargeError
			if !errors.As(err, &le) || !errors.As(err, &tl) || *tl != *tt.over || err.Error() != tt.phrase {
				t.Fatalf("error %v, want a LimitError of %+v saying %q", err, *tt.over, tt.phrase)
			}
			if limit := tt.opt.Entries; limit > 0 && n != limit {
				t.Errorf("%d entries reported before the limit, want %d", n, limit)
			}
		})
	}
}

func TestWalkIgnoreAndSkip(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, "Dockerfile", "node_modules/a/index.js", "node_modules/keep.js", "vendor/v.go", "z")
	got, err := walk(t, dir, Options{Ignore: func(rel string, isDir bool) (bool, error) {
		switch {
		case rel == "vendor":
			return true, fs.SkipDir // out with everything in it
		case rel == "node_modules/keep.js":
			return false, nil // taken back from an ignored folder
		case strings.HasPrefix(rel, "node_modules"):
			return true, nil
		}
		return false, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Dockerfile", "node_modules/keep.js", "z"}; !slices.Equal(got, want) {
		t.Errorf("with Ignore: %q, want %q", got, want)
	}

	var seen []string
	err = Walk(dir, Options{}, func(e Entry) error {
		seen = append(seen, e.Rel)
		switch e.Rel {
		case "node_modules":
			return fs.SkipDir
		case "vendor/v.go":
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".", "Dockerfile", "node_modules", "vendor", "vendor/v.go"}; !slices.Equal(seen, want) {
		t.Errorf("with SkipDir and SkipAll: %q, want %q", seen, want)
	}

	boom := errors.New("boom")
	if err := Walk(dir, Options{}, func(e Entry) error {
		if e.Rel == "vendor" {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Errorf("visit's error: %v", err)
	}
}

func TestWalkRoot(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, "f", "sub/g", "link -> sub")
	if err := Walk(filepath.Join(dir, "f"), Options{}, func(Entry) error { return nil }); err == nil {
		t.Error("a file walked as a root")
	}
	if err := Walk(filepath.Join(dir, "nope"), Options{}, func(Entry) error { return nil }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing root: %v", err)
	}
	// A root that is a link (a build context named through one) is the
	// folder it leads to.
	got, err := walk(t, filepath.Join(dir, "link"), Options{})
	if err != nil || !slices.Equal(got, []string{"g"}) {
		t.Errorf("walking a link to a folder: %q, %v", got, err)
	}
}
