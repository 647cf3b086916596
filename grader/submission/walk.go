// Package submission walks a student's submission folder. It is the one
// walk of a submission's files, with the one policy for symbolic links, hard
// links, special files and limits, that the build context, the copy made for
// a script, the workspace of docker commands and the digest share.
//
// The walk says what each entry is and, for a link, where it ends and
// whether that end is inside the submission; it refuses nothing but a
// submission over its limits. Each caller decides what to do with an entry
// it reports (the build context refuses a link out, the script's copy keeps
// links as links, the workspace leaves them out), so that the rules for what
// a link leads to are written once.
//
// It imports only the standard library and checks (for checks.LimitError),
// so that both grader and grader/engine may use it.
package submission

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gradeproject/grade/checks"
)

// Kind is what an entry of a submission is.
type Kind int

const (
	// Dir is a folder (the root included).
	Dir Kind = iota + 1
	// File is a regular file; Entry.Nlink says whether it has other names.
	File
	// Symlink is a symbolic link; Entry.Target, End, Outside and Dangling
	// say where it leads. The walk never follows a link into a folder.
	Symlink
	// Special is a device, a socket or a named pipe: nothing a build or a
	// container can take from a submission.
	Special
)

// Entry is one entry of a submission as the walk reports it.
type Entry struct {
	// Rel is the entry's path relative to the root, slash-separated; the
	// root itself is ".".
	Rel string
	// Path is the entry's path on grade's machine.
	Path string
	// Info is the entry's own information (lstat): a link's, not that of
	// what it leads to.
	Info fs.FileInfo
	Kind Kind
	// Nlink is how many names a regular file has. More than one is a hard
	// link, which may be another name of a file outside the submission
	// (/etc/hostname): nothing in the submission tells it from a copy.
	Nlink int
	// Target is a link's target as written.
	Target string
	// End is where a link leads once followed to its end, through every
	// link on its way, relative to the root and slash-separated ("." for
	// the root itself); "" when it leads out or loops.
	End string
	// Outside reports a link that leads out of the root: an absolute
	// target (its own or one further down the chain), a target that climbs
	// above the root as written, or one that does once the links on its way
	// are followed.
	Outside bool
	// Dangling reports a link inside the root whose end does not exist, or
	// that loops: a builder or a container finds nothing there either.
	Dangling bool
}

// HardLink reports whether e is a regular file with more than one name.
func (e Entry) HardLink() bool { return e.Kind == File && e.Nlink > 1 }

// Limits caps a walk; a zero field caps nothing.
type Limits struct {
	// Bytes caps the total size of the regular files reported.
	Bytes int64
	// Entries caps how many entries are reported, the root, folders,
	// links and special files included: the walk itself is bounded.
	Entries int
}

// Options says how to walk a submission.
type Options struct {
	Limits
	// Ignore, when set, is asked first about every entry below the root
	// (rel slash-separated): an entry it ignores is neither reported nor
	// counted against the limits (what .dockerignore leaves out of a build
	// context does not make it too large). Ignoring a folder still walks
	// what is in it (a .dockerignore may take a file of it back); returning
	// fs.SkipDir leaves out the folder and everything in it.
	Ignore func(rel string, dir bool) (bool, error)
}

// TooLargeError is the cause, inside a *checks.LimitError, of a walk that
// stopped at one of its limits. Callers word it for the student; its own
// message names the limit.
type TooLargeError struct {
	// Bytes is the byte limit passed, 0 when it was the entries'.
	Bytes int64
	// Entries is the entry limit passed, 0 when it was the bytes'.
	Entries int
}

func (e *TooLargeError) Error() string {
	if e.Entries > 0 {
		return fmt.Sprintf("the submission holds more than %d files and folders", e.Entries)
	}
	return fmt.Sprintf("the submission is larger than %s", checks.Size(e.Bytes))
}

// maxFollow is how many links a link's chain may go through before the walk
// takes it for a loop (the kernel's own limit is 40).
const maxFollow = 40

// Walk calls visit for root and everything below it, parents before what
// they hold and the entries of a folder in lexical order (filepath.WalkDir's
// order, so that a digest of the walk stays what it was). root must be a
// folder; if it is a link to one, the folder it leads to is walked. visit
// may return fs.SkipDir to leave out the rest of a folder it was given, and
// fs.SkipAll to end the walk. A walk over opt's limits stops, before
// reporting the entry that passes them, with a *checks.LimitError whose
// cause is a *TooLargeError: the submission's fault. Any other error is
// visit's, Ignore's, or one reading the folder.
func Walk(root string, opt Options, visit func(Entry) error) error {
	st, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", root)
	}
	w := &walker{root: root, opt: opt, visit: visit}
	err = w.report(Entry{Rel: ".", Path: root, Info: st, Kind: Dir})
	if err == nil {
		err = w.walkDir(".")
	}
	if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

// walker is one walk's state.
type walker struct {
	root    string
	opt     Options
	visit   func(Entry) error
	bytes   int64
	entries int
}

// path is rel's path on grade's machine.
func (w *walker) path(rel string) string {
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

// walkDir reports what the folder rel holds, and what its folders hold.
func (w *walker) walkDir(rel string) error {
	ents, err := os.ReadDir(w.path(rel))
	if err != nil {
		return err
	}
	for _, d := range ents {
		r := path.Join(rel, d.Name())
		if w.opt.Ignore != nil {
			ignore, err := w.opt.Ignore(r, d.IsDir())
			switch {
			case errors.Is(err, fs.SkipDir):
				continue
			case err != nil:
				return err
			case ignore:
				if d.IsDir() {
					if err := w.walkDir(r); err != nil {
						return err
					}
				}
				continue
			}
		}
		e, err := w.entry(r, d)
		if err != nil {
			return err
		}
		switch err := w.report(e); {
		case errors.Is(err, fs.SkipDir):
			continue
		case err != nil:
			return err
		}
		if e.Kind == Dir {
			if err := w.walkDir(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// entry says what the entry d at rel is.
func (w *walker) entry(rel string, d fs.DirEntry) (Entry, error) {
	info, err := d.Info()
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Rel: rel, Path: w.path(rel), Info: info}
	switch m := info.Mode(); {
	case m.IsDir():
		e.Kind = Dir
	case m.IsRegular():
		e.Kind, e.Nlink = File, linkCount(e.Path, info)
	case m&fs.ModeSymlink != 0:
		e.Kind = Symlink
		if e.Target, err = os.Readlink(e.Path); err != nil {
			return Entry{}, err
		}
		e.End, e.Outside, e.Dangling = w.follow(rel, e.Target)
	default:
		e.Kind = Special
	}
	return e, nil
}

// report counts e against the limits, then gives it to visit.
func (w *walker) report(e Entry) error {
	if w.entries++; w.opt.Entries > 0 && w.entries > w.opt.Entries {
		return &checks.LimitError{Err: &TooLargeError{Entries: w.opt.Entries}}
	}
	if e.Kind == File {
		if w.bytes += e.Info.Size(); w.opt.Bytes > 0 && w.bytes > w.opt.Bytes {
			return &checks.LimitError{Err: &TooLargeError{Bytes: w.opt.Bytes}}
		}
	}
	return w.visit(e)
}

// follow follows the link at rel, whose target is target, to its end the way
// the kernel resolves a path, one name at a time, except that the root is
// the top: a `..` above it, or an absolute target anywhere on the way, leads
// out (an absolute link means another thing on grade's machine, in a builder
// and in a container; none of them is the submission). A target that climbs
// above the root as written is out too, even if the links on its way would
// bring it back. What does not exist is taken as written, and still leads
// out if it climbs above the root.
func (w *walker) follow(rel, target string) (end string, outside, dangling bool) {
	t := filepath.ToSlash(target)
	if path.IsAbs(t) {
		return "", true, false
	}
	if p := path.Join(path.Dir(rel), t); p == ".." || strings.HasPrefix(p, "../") {
		return "", true, false
	}
	at := names(path.Dir(rel)) // walked folders: no links among them
	todo := names(t)
	for links := 1; len(todo) > 0; {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case ".":
			continue
		case "..":
			if len(at) == 0 {
				return "", true, false
			}
			at = at[:len(at)-1]
			continue
		}
		next := slices.Concat(at, []string{name})
		p := w.path(strings.Join(next, "/"))
		info, err := os.Lstat(p)
		switch {
		case err != nil:
			return asWritten(next, todo)
		case info.Mode()&fs.ModeSymlink != 0:
			if links++; links > maxFollow {
				return "", false, true
			}
			more, err := os.Readlink(p)
			if err != nil {
				return asWritten(next, todo)
			}
			if more = filepath.ToSlash(more); path.IsAbs(more) {
				return "", true, false
			}
			// Resolved from the folder the link is in: at is unchanged.
			todo = append(names(more), todo...)
		case !info.IsDir() && len(todo) > 0:
			// A file taken for a folder leads nowhere (ENOTDIR).
			return asWritten(next, todo)
		default:
			at = next
		}
	}
	return joined(at), false, false
}

// asWritten ends a link's path whose part at does not exist: the rest is
// taken as written, since nothing that does not exist can be a link.
func asWritten(at, todo []string) (end string, outside, dangling bool) {
	for _, name := range todo {
		switch name {
		case ".":
		case "..":
			if len(at) == 0 {
				return "", true, false
			}
			at = at[:len(at)-1]
		default:
			at = append(at, name)
		}
	}
	return joined(at), false, true
}

// names splits a slash-separated relative path into its names, without
// empty ones ("a//b/" is a, b; "." is none).
func names(p string) []string {
	if p == "." {
		return nil
	}
	var out []string
	for n := range strings.SplitSeq(p, "/") {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// joined is the relative path of names, "." for none.
func joined(names []string) string {
	if len(names) == 0 {
		return "."
	}
	return strings.Join(names, "/")
}
