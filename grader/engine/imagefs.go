package engine

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/gradeproject/grade/checks"
)

const (
	// walkMaxEntries and walkMaxBytes bound what WalkImage goes through:
	// the entries (files, folders, links) of all the image's layers, and
	// the content read of the files the check asked to read.
	walkMaxEntries = 200_000
	walkMaxBytes   = 512 << 20
)

// History reads the image's build history (docker history), oldest first.
func (j *ImageJob) History(ctx context.Context) ([]checks.Layer, error) {
	res, err := j.e.cli.ImageHistory(ctx, j.tag)
	if err != nil {
		return nil, fmt.Errorf("reading the history of the image of %s: %w", j.name, err)
	}
	out := make([]checks.Layer, 0, len(res.Items))
	for i := len(res.Items) - 1; i >= 0; i-- {
		out = append(out, checks.Layer{CreatedBy: res.Items[i].CreatedBy})
	}
	return out, nil
}

// WalkImage visits the regular files of every layer of the image, streamed
// from docker save: a file a later step deletes is visited in the layer
// that added it, and a path changed by several steps is visited once per
// layer. Layers come in the archive's order, not the build's. read is
// called first with the file's header (Path, Mode, Size; no Content) and
// says how many bytes of content to read; fn then gets the file with them.
// Whiteout entries (.wh.*), which mark deletions, are not files.
//
// Nothing is written to disk, and neither a layer nor more than one file's
// content is held: each layer is read as a tar inside the archive's tar
// (gunzipped when compressed). The walk stops when fn returns an error
// (returning it), and after walkMaxEntries entries or walkMaxBytes of
// content read, returning checks.ErrWalkLimit wrapped.
func (j *ImageJob) WalkImage(ctx context.Context, read func(checks.File) int64, fn func(checks.File) error) error {
	rc, err := j.e.cli.ImageSave(ctx, []string{j.tag})
	if err != nil {
		return fmt.Errorf("saving the image of %s: %w", j.name, err)
	}
	defer func() { _ = rc.Close() }()
	w := &layerWalk{read: read, fn: fn, maxEntries: walkMaxEntries, maxBytes: walkMaxBytes}
	if err := w.archive(ctx, rc); err != nil {
		if errors.Is(err, checks.ErrWalkLimit) || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("reading the layers of the image of %s: %w", j.name, err)
	}
	return nil
}

// layerWalk walks the layers of a docker save archive.
type layerWalk struct {
	read       func(checks.File) int64
	fn         func(checks.File) error
	maxEntries int
	maxBytes   int64

	entries int
	bytes   int64
	layers  int
}

// archive walks each entry of the docker save archive r that is a layer:
// a tar, or a gzip of one. Docker 20.10 writes layers as <id>/layer.tar,
// later engines as OCI blobs/sha256/<digest>, possibly compressed; the
// other entries (manifests, configs, symlinks to blobs) are passed over.
func (w *layerWalk) archive(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		layer, err := openLayer(tr)
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		if layer == nil {
			continue
		}
		w.layers++
		if err := w.layer(ctx, layer); err != nil {
			if errors.Is(err, checks.ErrWalkLimit) || ctx.Err() != nil {
				return err
			}
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

// openLayer sniffs an entry of the archive: a tar (or a gzip of one) is a
// layer, returned as a reader of the tar; anything else returns nil.
func openLayer(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		if gz, err := gzip.NewReader(br); err == nil {
			inner := bufio.NewReaderSize(gz, 4096)
			if head, _ := inner.Peek(512); isTar(head) {
				return inner, nil
			}
		}
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, errors.New("a layer is compressed with zstd, which grade cannot read")
	case isTar(head):
		return br, nil
	}
	return nil, nil
}

// isTar recognises a tar header block by its ustar magic (POSIX and GNU
// tars, which is what layers are).
func isTar(head []byte) bool {
	return len(head) >= 512 && bytes.HasPrefix(head[257:], []byte("ustar"))
}

// layer walks the tar of one layer.
func (w *layerWalk) layer(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if w.entries >= w.maxEntries {
			return w.limit()
		}
		w.entries++
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := path.Clean("/" + h.Name)
		if strings.HasPrefix(path.Base(p), ".wh.") {
			continue // a deletion (or an opaque folder), not a file
		}
		f := checks.File{Path: p, Mode: h.FileInfo().Mode(), Size: h.Size}
		if n := min(w.read(f), h.Size); n > 0 {
			if n > w.maxBytes-w.bytes {
				return w.limit()
			}
			content, err := io.ReadAll(io.LimitReader(tr, n))
			if err != nil {
				return err
			}
			w.bytes += int64(len(content))
			f.Content = content
		}
		f.Truncated = f.Size > int64(len(f.Content))
		if err := w.fn(f); err != nil {
			return err
		}
	}
}

// limit is the error of a walk stopped at its cap.
func (w *layerWalk) limit() error {
	return fmt.Errorf("%w: it stopped after %d files and folders in %d layers and %s of content "+
		"(grade goes through at most %d and reads at most %s)",
		checks.ErrWalkLimit, w.entries, w.layers, checks.Size(w.bytes), w.maxEntries, checks.Size(w.maxBytes))
}

// SaveImage writes the image to w as docker save does.
func (j *ImageJob) SaveImage(ctx context.Context, w io.Writer) error {
	rc, err := j.e.cli.ImageSave(ctx, []string{j.tag})
	if err != nil {
		return fmt.Errorf("saving the image of %s: %w", j.name, err)
	}
	defer func() { _ = rc.Close() }()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("saving the image of %s: %w", j.name, err)
	}
	return nil
}

var (
	_ checks.HistoryReader = (*ImageJob)(nil)
	_ checks.ImageWalker   = (*ImageJob)(nil)
	_ checks.ImageSaver    = (*ImageJob)(nil)
)
