package engine

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/gradeproject/grade/grader/submission"
)

// ContextError is a problem with a submission's build context: the
// submission's fault, reported to the student like a build error.
type ContextError struct{ Msg string }

func (e *ContextError) Error() string { return e.Msg }

// entry is one file of a build context.
type entry struct {
	rel  string // slash-separated, relative to the context root
	abs  string
	info fs.FileInfo
	link string // symlink target
	data []byte // the content when grade supplies it (planted or changed), else nil
}

// memFile is the file information of a file grade puts into a context.
type memFile struct {
	name string
	size int64
}

func (m memFile) Name() string       { return m.name }
func (m memFile) Size() int64        { return m.size }
func (m memFile) Mode() fs.FileMode  { return 0o644 }
func (m memFile) ModTime() time.Time { return time.Unix(0, 0) }
func (m memFile) IsDir() bool        { return false }
func (m memFile) Sys() any           { return nil }

// overlay is what grade changes in a build context before sending it.
type overlay struct {
	// plant adds files as if the student had left them in the submission
	// (replacing a file of the student's at that path): the .dockerignore
	// applies to them.
	plant map[string][]byte
	// appendTo appends bytes to files of the context (a rebuild after a
	// change of the app's code).
	appendTo map[string][]byte
}

// scanContext lists the files of the build context at root, honouring
// .dockerignore the way docker does (the Dockerfile and .dockerignore are
// always sent). It walks with submission.Walk and refuses what the walk finds
// that a build must not take: links that lead out of the context (the
// walk's Outside), hard links, special files, and contexts larger than
// limit (what .dockerignore leaves out is neither refused nor counted).
func scanContext(root, dockerfile string, limit int64, ov overlay) ([]entry, error) {
	st, err := os.Stat(root)
	if err != nil || !st.IsDir() {
		return nil, &ContextError{Msg: fmt.Sprintf("the build context %s is not a folder in the submission", root)}
	}
	var patterns []string
	if f, err := os.Open(filepath.Join(root, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		_ = f.Close()
		if err != nil {
			return nil, &ContextError{Msg: fmt.Sprintf(".dockerignore: %v", err)}
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, &ContextError{Msg: fmt.Sprintf(".dockerignore: %v", err)}
	}
	keep := map[string]bool{path.Clean(filepath.ToSlash(dockerfile)): true, ".dockerignore": true}
	ignore := func(rel string, dir bool) (bool, error) {
		if keep[rel] {
			return false, nil
		}
		skip, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return false, &ContextError{Msg: fmt.Sprintf(".dockerignore: %v", err)}
		}
		if skip && dir && !pm.Exclusions() {
			return true, fs.SkipDir
		}
		return skip, nil
	}
	var out []entry
	err = submission.Walk(root, submission.Options{Limits: submission.Limits{Bytes: limit}, Ignore: ignore}, func(se submission.Entry) error {
		if se.Rel == "." {
			return nil
		}
		e := entry{rel: se.Rel, abs: se.Path, info: se.Info}
		switch se.Kind {
		case submission.Dir:
		case submission.File:
			// Another name of a file the walk cannot place: it may be one
			// outside the submission (/etc/hostname), which the build
			// would take into the image.
			if se.HardLink() {
				return &ContextError{Msg: fmt.Sprintf("%s is a hard link (it has %d names); grade takes only plain files of the submission: copy the file instead", se.Rel, se.Nlink)}
			}
		case submission.Symlink:
			// Sent as a link, which the builder resolves in the context:
			// one that leads out of it would find nothing there, or, if a
			// builder followed it, a file of grade's machine.
			if se.Outside {
				return &ContextError{Msg: fmt.Sprintf("%s is a link to %s, outside the submission; links may only point inside it", se.Rel, se.Target)}
			}
			e.link = se.Target
		default:
			return &ContextError{Msg: fmt.Sprintf("%s is a %s, not a file or folder; remove it from the submission", se.Rel, kindOf(se.Info.Mode()))}
		}
		out = append(out, e)
		return nil
	})
	var ce *ContextError
	var tl *submission.TooLargeError
	switch {
	case errors.As(err, &ce):
		return nil, ce
	case errors.As(err, &tl):
		return nil, &ContextError{Msg: fmt.Sprintf("the build context is larger than %s; leave big files out with .dockerignore",
			units.BytesSize(float64(tl.Bytes)))}
	case err != nil:
		return nil, fmt.Errorf("reading the build context: %w", err)
	}
	return applyOverlay(out, ov, pm)
}

// applyOverlay plants files the context lacks (unless .dockerignore leaves
// them out) and appends to the files named in ov.appendTo.
func applyOverlay(out []entry, ov overlay, pm *patternmatcher.PatternMatcher) ([]entry, error) {
	have := map[string]int{}
	for i, e := range out {
		have[e.rel] = i
	}
	for rel, b := range ov.appendTo {
		i, ok := have[rel]
		if !ok || !out[i].info.Mode().IsRegular() {
			return nil, &ContextError{Msg: fmt.Sprintf("%s is not a file of the build context (or .dockerignore leaves it out)", rel)}
		}
		old, err := os.ReadFile(out[i].abs)
		if err != nil {
			return nil, err
		}
		old = append(old, b...)
		out[i].data = old
	}
	rels := make([]string, 0, len(ov.plant))
	for rel := range ov.plant {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		b := ov.plant[rel]
		mem := entry{rel: rel, info: memFile{name: path.Base(rel), size: int64(len(b))}, data: b}
		if i, ok := have[rel]; ok {
			// A file of the student's at that path (an empty .env, say)
			// must not keep the secret out: grade's replaces it.
			if !out[i].info.IsDir() {
				out[i] = mem
			}
			continue
		}
		if skip, err := pm.MatchesOrParentMatches(rel); err != nil || skip {
			continue
		}
		out = append(out, mem)
	}
	return out, nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// labelLine is the LABEL instruction grade appends to the Dockerfile: one
// build step for every label (the builder's labels option makes one step per
// label, and each step costs a commit).
func labelLine(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("\nLABEL")
	for _, k := range keys {
		b.WriteString(" " + k + "=" + strconv.Quote(labels[k]))
	}
	b.WriteString("\n")
	return b.String()
}

// canAppend reports whether a LABEL line can be appended to a Dockerfile:
// not when it ends in a line continuation or changes the escape character.
func canAppend(dockerfile []byte) bool {
	s := strings.TrimRight(string(dockerfile), " \t\r\n")
	return !strings.HasSuffix(s, "\\") && !strings.HasSuffix(s, "`") && !strings.Contains(strings.ToLower(s), "escape=")
}

// writeContext writes the entries as a tar stream, owned by root; extra is
// appended to the file dockerfile.
func writeContext(w io.Writer, entries []entry, dockerfile, extra string) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		var err error
		if e.rel == dockerfile && extra != "" {
			err = writeAppended(tw, e, extra)
		} else {
			err = writeEntry(tw, e)
		}
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeAppended writes a regular file with extra appended.
func writeAppended(tw *tar.Writer, e entry, extra string) error {
	b := e.data
	if b == nil {
		var err error
		if b, err = os.ReadFile(e.abs); err != nil {
			return err
		}
	}
	b = append(slices.Clip(b), extra...)
	h, err := tar.FileInfoHeader(e.info, "")
	if err != nil {
		return err
	}
	h.Name, h.Size = e.rel, int64(len(b))
	h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	h.Format = tar.FormatPAX
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = tw.Write(b)
	return err
}

func writeEntry(tw *tar.Writer, e entry) error {
	h, err := tar.FileInfoHeader(e.info, e.link)
	if err != nil {
		return err
	}
	h.Name = e.rel
	if e.info.IsDir() {
		h.Name += "/"
	}
	if e.data != nil {
		h.Size = int64(len(e.data))
	}
	h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	h.Format = tar.FormatPAX
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !e.info.Mode().IsRegular() {
		return nil
	}
	if e.data != nil {
		_, err = tw.Write(e.data)
		return err
	}
	f, err := os.Open(e.abs)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	// The size is the one scanned: a file that grew since is cut, not overflowed.
	_, err = io.CopyN(tw, f, h.Size)
	return err
}
