package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// entryFS serves a build context to BuildKit (its filesync) from the
// entries scanContext listed: the same files, links and folders the classic
// builder's tar holds, each owned by root, with grade's planted and changed
// files from memory. It never walks the submission again.
type entryFS struct {
	entries []entry // sorted as fsutil walks: by path components
	stats   []*fstypes.Stat
}

// newEntryFS makes the file system of entries; only names the context
// holds can be opened.
func newEntryFS(entries []entry) *entryFS {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.rel] = true
	}
	all := append([]entry(nil), entries...)
	// A planted file may lie in a folder the submission lacks.
	for _, e := range entries {
		for d := path.Dir(e.rel); d != "." && !have[d]; d = path.Dir(d) {
			have[d] = true
			all = append(all, entry{rel: d, info: memDir{name: path.Base(d)}})
		}
	}
	sort.Slice(all, func(i, k int) bool { return pathLess(all[i].rel, all[k].rel) })
	f := &entryFS{entries: all, stats: make([]*fstypes.Stat, len(all))}
	for i, e := range all {
		st := &fstypes.Stat{Path: e.rel, Mode: uint32(e.info.Mode()), ModTime: e.info.ModTime().UnixNano(), Linkname: e.link}
		if e.info.IsDir() {
			st.Mode = uint32(os.ModeDir | e.info.Mode().Perm())
		}
		if e.info.Mode().IsRegular() {
			st.Size = e.info.Size()
			if e.data != nil {
				st.Size = int64(len(e.data))
				// Changed content must look changed to BuildKit's diff
				// of the context it already has.
				st.ModTime++
			}
		}
		f.stats[i] = st
	}
	return f
}

// pathLess orders paths as fsutil walks them: component by component, so
// that "a/b" comes before "a.txt".
func pathLess(a, b string) bool {
	return strings.ReplaceAll(a, "/", "\x00") < strings.ReplaceAll(b, "/", "\x00")
}

// Walk visits the entries under target in fsutil's order.
func (f *entryFS) Walk(ctx context.Context, target string, fn fs.WalkDirFunc) error {
	target = strings.Trim(filepath.ToSlash(target), "/")
	var skip string
	for i, st := range f.stats {
		if err := ctx.Err(); err != nil {
			return err
		}
		if target != "" && st.Path != target && !strings.HasPrefix(st.Path, target+"/") {
			continue
		}
		if skip != "" && strings.HasPrefix(st.Path, skip+"/") {
			continue
		}
		skip = ""
		if err := fn(st.Path, &fsutil.DirEntryInfo{Stat: st}, nil); err != nil {
			if errors.Is(err, fs.SkipDir) && f.entries[i].info.IsDir() {
				skip = st.Path
				continue
			}
			return err
		}
	}
	return nil
}

// Open opens a regular file of the context.
func (f *entryFS) Open(p string) (io.ReadCloser, error) {
	p = strings.Trim(filepath.ToSlash(p), "/")
	i := sort.Search(len(f.entries), func(i int) bool { return !pathLess(f.entries[i].rel, p) })
	if i == len(f.entries) || f.entries[i].rel != p || !f.entries[i].info.Mode().IsRegular() {
		return nil, os.ErrNotExist
	}
	e := f.entries[i]
	if e.data != nil {
		return io.NopCloser(bytes.NewReader(e.data)), nil
	}
	file, err := os.Open(e.abs)
	if err != nil {
		return nil, err
	}
	// The size is the one scanned: a file that grew since is cut.
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(file, e.info.Size()), file}, nil
}

// memDir is the file information of a folder grade adds to a context.
type memDir struct{ name string }

func (m memDir) Name() string       { return m.name }
func (m memDir) Size() int64        { return 0 }
func (m memDir) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (m memDir) ModTime() time.Time { return time.Unix(0, 0) }
func (m memDir) IsDir() bool        { return true }
func (m memDir) Sys() any           { return nil }
