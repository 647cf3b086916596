package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/submission"
)

// Bound folders. A student's bind mount names a folder of the submission
// (-v "$(pwd)/site":/usr/share/nginx/html in a script, ./data:/data in a
// compose file). The engine may be on another machine, so no folder of
// grade's is handed to it: each folder bound becomes a volume of the job's
// (made once, filled with the folder's files), mounted read-only where the
// student asked, and reported as the bind it stands for. grade's edits of
// the workspace (EditWorkspace) go into every such volume that holds the
// file, at once, as an edit on the student's machine would show.

// folderLabel marks the volumes of bound folders, with the folder as shown.
const folderLabel = "grade.folder"

// folderVolumeName is the engine's name of the volume of the bound folder
// rel ("." for the whole submission). A student's volumes are named
// "grade-"+slug+"-"+NAME, which never starts with "grade-ws-" (run ids are
// hex).
func (j *base) folderVolumeName(rel string) string {
	sum := sha256.Sum256([]byte(rel))
	return "grade-ws-" + j.slug + "-" + hex.EncodeToString(sum[:6])
}

// folderVolume makes the volume of the bound folder rel once, filled with
// the files of dir (the folder on grade's machine), and returns its name.
func (j *base) folderVolume(ctx context.Context, dir, rel string) (string, error) {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	name := j.folderVolumeName(rel)
	if _, done := j.folders[name]; done {
		return name, nil
	}
	labels := j.e.labels(j.name)
	labels[folderLabel] = rel
	mctx, made := making(ctx)
	defer made()
	if _, err := j.e.cli.VolumeCreate(mctx, client.VolumeCreateOptions{Name: name, Driver: "local", Labels: labels}); err != nil {
		return "", fmt.Errorf("making the volume of the folder %s of %s: %w", rel, j.name, err)
	}
	if j.folders == nil {
		j.folders = map[string]string{}
	}
	j.folders[name] = rel
	pr, pw := io.Pipe()
	packed := make(chan error, 1)
	go func() {
		err := submissionTar(pw, dir, "ws", int64(j.limits.Context), maxScriptEntries, scriptUser{})
		_ = pw.CloseWithError(err)
		packed <- err
	}()
	err := j.fillFolder(ctx, name, pr)
	_ = pr.CloseWithError(io.ErrClosedPipe)
	// The submission's own fault (too big, a hard link) as it is, however
	// the copy into the volume words the pipe that stopped.
	var le *checks.LimitError
	var re *checks.RefusedError
	switch perr := <-packed; {
	case errors.As(perr, &re) && rel != ".":
		err = &checks.RefusedError{Err: fmt.Errorf("in the folder %s: %w", rel, re.Err)}
	case errors.As(perr, &le) || errors.As(perr, &re):
		err = perr
	}
	if err != nil {
		// Not made, then: a later bind of the folder tries again rather
		// than mount a half-filled volume.
		delete(j.folders, name)
		j.removeVolume(name)
		return "", err
	}
	return name, nil
}

// boundFolder gives the folder a volume of the job stands for, and false
// when it is no bound folder's.
func (j *base) boundFolder(volume string) (string, bool) {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	rel, ok := j.folders[volume]
	return rel, ok
}

// fillFolder unpacks a tar of ws/… into a volume (intoVolume; a test's
// stand-in when set).
func (j *base) fillFolder(ctx context.Context, volume string, tarball io.Reader) error {
	if j.fill != nil {
		return j.fill(ctx, volume, tarball)
	}
	return j.intoVolume(ctx, volume, tarball)
}

// intoVolume unpacks a tar of ws/… into a volume, through a container of
// grade's helper image that mounts it and is never started.
func (j *base) intoVolume(ctx context.Context, volume string, tarball io.Reader) error {
	ref, err := j.e.helperImage(ctx)
	if err != nil {
		return err
	}
	mctx, made := making(ctx)
	defer made()
	res, err := j.e.cli.ContainerCreate(mctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: ref, Labels: j.e.labels(j.name)},
		HostConfig: &container.HostConfig{NetworkMode: "none",
			Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: volume, Target: "/ws"}}},
	})
	if err != nil {
		return fmt.Errorf("filling a volume of %s: %w", j.name, err)
	}
	defer j.remove(res.ID)
	if _, err := j.e.cli.CopyToContainer(ctx, res.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: tarball}); err != nil {
		return fmt.Errorf("filling a volume of %s: %w", j.name, err)
	}
	return nil
}

// editFolders writes the file p of the submission (clean, relative) into
// every bound folder's volume that holds it.
func (j *base) editFolders(ctx context.Context, p string, content []byte) error {
	j.fmu.Lock()
	vols := maps.Clone(j.folders)
	j.fmu.Unlock()
	var errs []error
	for name, rel := range vols {
		sub := p
		if rel != "." {
			var ok bool
			if sub, ok = strings.CutPrefix(p, rel+"/"); !ok {
				continue
			}
		}
		var buf bytes.Buffer
		if err := fileTar(&buf, path.Join("ws", sub), content); err != nil {
			return err
		}
		errs = append(errs, j.fillFolder(ctx, name, &buf))
	}
	return errors.Join(errs...)
}

// workspace copies the submission's regular files and folders into dir
// (links, wherever they lead, and special files are left out: nothing in
// the workspace leads out of it, so no bind mount made from it can), at
// most limit bytes and maxEntries entries (a *checks.LimitError past them).
// A hard link is refused (a *checks.RefusedError), as in a build context.
func workspace(src, dir string, limit int64, maxEntries int) error {
	err := submission.Walk(src, submission.Options{Limits: submission.Limits{Bytes: limit, Entries: maxEntries}}, func(e submission.Entry) error {
		dst := filepath.Join(dir, filepath.FromSlash(e.Rel))
		switch e.Kind {
		case submission.Dir:
			return os.MkdirAll(dst, 0o755)
		case submission.File:
			if e.HardLink() {
				return hardLinkError(e)
			}
			return copyFile(e.Path, dst, e.Info.Mode().Perm()|0o644)
		}
		return nil
	})
	return scriptCopyLimit(err)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// fileTar writes a tar holding one file at p, with its folders.
func fileTar(w io.Writer, p string, content []byte) error {
	tw := tar.NewWriter(w)
	parts := strings.Split(p, "/")
	for i := 1; i < len(parts); i++ {
		if err := tw.WriteHeader(&tar.Header{Name: strings.Join(parts[:i], "/") + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Now()}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: p, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content)), ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := tw.Write(content); err != nil {
		return err
	}
	return tw.Close()
}
