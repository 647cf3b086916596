package main

import (
	"bytes"
	"context"
	"io"
	gofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// listFS is an fsutil.FS over a fixed list of entries: files read from disk
// or held in memory (planted, or with bytes appended), the way grade's
// scanContext already lists the context. fsutil wants Walk in lexical path
// order, parents before children, each entry's Sys() a *types.Stat.
type listFS struct {
	entries []listEntry // sorted by path
}

type listEntry struct {
	stat *fstypes.Stat
	disk string // file on disk, or ""
	data []byte // content in memory (after disk content when both)
}

func (l *listFS) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	target = strings.Trim(filepath.ToSlash(target), "/")
	for _, e := range l.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if target != "" && e.stat.Path != target && !strings.HasPrefix(e.stat.Path, target+"/") {
			continue
		}
		if err := fn(e.stat.Path, &fsutil.DirEntryInfo{Stat: e.stat}, nil); err != nil {
			if err == filepath.SkipDir {
				continue
			}
			return err
		}
	}
	return nil
}

func (l *listFS) Open(p string) (io.ReadCloser, error) {
	p = strings.Trim(filepath.ToSlash(p), "/")
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].stat.Path >= p })
	if i == len(l.entries) || l.entries[i].stat.Path != p {
		return nil, os.ErrNotExist
	}
	e := l.entries[i]
	if e.disk == "" {
		return io.NopCloser(bytes.NewReader(e.data)), nil
	}
	f, err := os.Open(e.disk)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(f, bytes.NewReader(e.data)), f}, nil
}

// newListFS lists dir (regular files and folders only), with plant added or
// replacing files and appendTo's bytes appended to files.
func newListFS(dir string, plant, appendTo map[string][]byte) (*listFS, error) {
	byPath := map[string]*listEntry{}
	err := filepath.WalkDir(dir, func(p string, d gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() && !fi.IsDir() {
			return nil
		}
		rel = filepath.ToSlash(rel)
		st := &fstypes.Stat{Path: rel, Mode: uint32(fi.Mode()), ModTime: fi.ModTime().UnixNano()}
		if fi.IsDir() {
			st.Mode = uint32(os.ModeDir | fi.Mode().Perm())
		} else {
			st.Size = fi.Size()
		}
		byPath[rel] = &listEntry{stat: st, disk: p}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for p, b := range plant {
		for d := path.Dir(p); d != "."; d = path.Dir(d) { // folders it needs
			if byPath[d] == nil {
				byPath[d] = &listEntry{stat: &fstypes.Stat{Path: d, Mode: uint32(os.ModeDir | 0o755)}}
			}
		}
		byPath[p] = &listEntry{stat: &fstypes.Stat{Path: p, Mode: 0o644, Size: int64(len(b))}, data: b}
	}
	for p, b := range appendTo {
		if e := byPath[p]; e != nil && e.stat.Mode&uint32(os.ModeDir) == 0 {
			e.data = append(e.data, b...)
			e.stat.Size += int64(len(b))
			e.stat.ModTime++ // a changed file must look changed to the receiver's diff
		}
	}
	out := &listFS{}
	for _, e := range byPath {
		out.entries = append(out.entries, *e)
	}
	// fsutil's walk order: compare path components, so "a/b" sorts before "a.txt"
	sort.Slice(out.entries, func(i, j int) bool {
		return pathLess(out.entries[i].stat.Path, out.entries[j].stat.Path)
	})
	return out, nil
}

func pathLess(a, b string) bool {
	return strings.ReplaceAll(a, "/", "\x00") < strings.ReplaceAll(b, "/", "\x00")
}
