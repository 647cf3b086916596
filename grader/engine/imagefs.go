package engine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

const (
	// walkMaxFiles and walkMaxBytes bound what WalkImage hands to a check:
	// a number of files, and the content read of them all.
	walkMaxFiles = 200_000
	walkMaxBytes = 512 << 20
)

// History reads the image's build history (docker history), oldest first.
func (j *Job) History(ctx context.Context) ([]checks.Layer, error) {
	res, err := j.e.cli.ImageHistory(ctx, j.tag)
	if err != nil {
		return nil, fmt.Errorf("reading the history of the image of %s: %w", j.name, err)
	}
	out := make([]checks.Layer, 0, len(res.Items))
	for i := len(res.Items) - 1; i >= 0; i-- {
		it := res.Items[i]
		out = append(out, checks.Layer{CreatedBy: it.CreatedBy, Size: it.Size, Empty: metadataOnly(it.CreatedBy, it.Size)})
	}
	return out, nil
}

// metadataOnly recognises a history entry of the classic builder that
// changed only the image's config (ENV, CMD, LABEL, WORKDIR …): no bytes,
// "#(nop)", not a copy.
func metadataOnly(createdBy string, size int64) bool {
	if size != 0 {
		return false
	}
	_, instr, ok := strings.Cut(createdBy, "#(nop)")
	if !ok {
		return false
	}
	instr = strings.TrimSpace(instr)
	return !strings.HasPrefix(instr, "ADD ") && !strings.HasPrefix(instr, "COPY ")
}

// WalkImage visits the regular files of the image's filesystem, streamed
// from docker export of the job's reader container (created, never
// started; removed with the job), each with at most limit bytes of content.
// Nothing is written to disk and one file is held at a time. It stops when
// fn returns an error (returning it), and after walkMaxFiles files or
// walkMaxBytes of content, returning checks.ErrWalkLimit wrapped.
func (j *Job) WalkImage(ctx context.Context, limit int64, fn func(checks.File) error) error {
	id, err := j.readerContainer(ctx)
	if err != nil {
		return err
	}
	rc, err := j.e.cli.ContainerExport(ctx, id, client.ContainerExportOptions{})
	if err != nil {
		return fmt.Errorf("exporting the image of %s: %w", j.name, err)
	}
	defer func() { _ = rc.Close() }()
	if err := walkTar(ctx, rc, limit, walkMaxFiles, walkMaxBytes, fn); err != nil {
		if errors.Is(err, checks.ErrWalkLimit) || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("reading the files of the image of %s: %w", j.name, err)
	}
	return nil
}

// walkTar calls fn for each regular file of the tar stream r, with at most
// limit bytes of its content, up to maxFiles files and maxBytes of content.
func walkTar(ctx context.Context, r io.Reader, limit int64, maxFiles int, maxBytes int64, fn func(checks.File) error) error {
	tr := tar.NewReader(r)
	files, read := 0, int64(0)
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
		if files >= maxFiles || read >= maxBytes {
			return fmt.Errorf("stopped after %d files and %s of content: %w", files, checks.Size(read), checks.ErrWalkLimit)
		}
		content, err := io.ReadAll(io.LimitReader(tr, min(limit, maxBytes-read)))
		if err != nil {
			return err
		}
		files++
		read += int64(len(content))
		f := checks.File{Path: path.Clean("/" + h.Name), Mode: h.FileInfo().Mode(), Size: h.Size, Content: content,
			Truncated: h.Size > int64(len(content))}
		if err := fn(f); err != nil {
			return err
		}
	}
}

// SaveImage writes the image to w as docker save does.
func (j *Job) SaveImage(ctx context.Context, w io.Writer) error {
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
	_ checks.HistoryReader = (*Job)(nil)
	_ checks.ImageWalker   = (*Job)(nil)
	_ checks.ImageSaver    = (*Job)(nil)
)
