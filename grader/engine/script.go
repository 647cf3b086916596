package engine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/submission"
)

// ScriptImage is the image a student's script of docker commands runs in:
// a shell and the docker CLI (images/docker-cli, made by make images).
const ScriptImage = "grade/docker-cli:bookworm"

// scriptOutput caps what is kept of a script's output (its end).
const scriptOutput = 64 << 10

// maxScriptEntries caps the files, folders and links of the submission
// copied for a script.
const maxScriptEntries = 10000

func (j *base) runScript(ctx context.Context, spec checks.ScriptSpec, cmds *CommandsOptions) (checks.ScriptRun, error) {
	if _, err := j.ReadSource(spec.File, 0); err != nil {
		return checks.ScriptRun{}, err
	}
	s, err := j.registrySession(ctx, cmds)
	if err != nil {
		return checks.ScriptRun{}, err
	}
	s.guard.SetNames(spec.ImageName, spec.Registry)
	cfg := &container.Config{
		Image:      ScriptImage,
		Cmd:        []string{"sh", "-c", `exec sh "$0" 2>&1`, "/work/" + spec.File},
		WorkingDir: "/work",
		// Never root, with no capabilities.
		User: s.user.String(),
		Env: []string{"DOCKER_HOST=unix://" + guardMount + "/" + guardSocket, "DOCKER_CONFIG=/tmp/.docker", "HOME=/tmp",
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		NetworkDisabled: true,
	}
	hc := j.hostConfig()
	hc.NetworkMode = "none"
	hc.CapDrop = []string{"ALL"}
	// The guard's socket, in a volume only this container and the
	// session's helper mount.
	hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: s.apiVolume, Target: guardMount, ReadOnly: true}}
	id, err := j.create(ctx, cfg, hc, "")
	if err != nil {
		if isNotFound(err) {
			return checks.ScriptRun{}, fmt.Errorf("the docker CLI image %s is not on the engine (make images, or images/prepare.sh %s): %w",
				ScriptImage, ScriptImage, err)
		}
		return checks.ScriptRun{}, fmt.Errorf("creating the script's container for %s: %w", j.name, err)
	}
	defer j.remove(id)
	src := j.dir
	if s.work != "" {
		src = s.work // docker commands: the workspace, the copy their bind mounts come from
	}
	if err := j.copySubmission(ctx, id, s.user, src); err != nil {
		return checks.ScriptRun{}, err
	}
	s.guard.TakeRefused() // only this run's
	out, err := j.runToExit(ctx, id)
	run := checks.ScriptRun{Output: out, Refused: s.guard.TakeRefused()}
	if err != nil {
		return run, err
	}
	if strings.Contains(out.Stdout, " more bytes not read)") {
		// A long output: its end says how the script ended.
		fresh, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if tail, _, err := j.logsTail(fresh, id, "400"); err == nil {
			run.Stdout = "… (the beginning is cut)\n" + tail
		}
	}
	if len(run.Stdout) > scriptOutput {
		run.Stdout = "… (the beginning is cut)\n" + run.Stdout[len(run.Stdout)-scriptOutput:]
	}
	return run, nil
}

// copySubmission streams the submission's folder dir into the container's
// /work, owned by u.
func (j *base) copySubmission(ctx context.Context, id string, u scriptUser, dir string) error {
	pr, pw := io.Pipe()
	packed := make(chan error, 1)
	go func() {
		err := submissionTar(pw, dir, "work", int64(j.limits.Context), maxScriptEntries, u)
		_ = pw.CloseWithError(err)
		packed <- err
	}()
	// Into / as work/…: the folder's own entry then makes /work u's.
	_, err := j.e.cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
	_ = pr.CloseWithError(io.ErrClosedPipe) // a copy that stopped early stops the packing
	perr := <-packed
	var le *checks.LimitError
	var re *checks.RefusedError
	switch {
	case errors.As(perr, &le):
		return le
	case errors.As(perr, &re):
		return re
	case err != nil:
		return fmt.Errorf("copying the submission into the script's container: %w", err)
	case perr != nil:
		return fmt.Errorf("packing the submission for its script: %w", perr)
	}
	return nil
}

// submissionTar writes the submission's folder dir to w as a tar of root/
// (work/ for the script's container): regular files and folders, links as
// links (never followed: they point inside the container), no special
// files, every entry u's; a hard link is refused (a *checks.RefusedError). Past limit bytes of files (0: no limit) or
// maxEntries entries it stops with a *checks.LimitError: the submission's
// fault.
func submissionTar(w io.Writer, dir, root string, limit int64, maxEntries int, u scriptUser) error {
	tw := tar.NewWriter(w)
	err := submission.Walk(dir, submission.Options{Limits: submission.Limits{Bytes: limit, Entries: maxEntries}}, func(e submission.Entry) error {
		hdr := &tar.Header{Name: path.Join(root, e.Rel), Uid: u.uid, Gid: u.gid, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		switch e.Kind {
		case submission.Dir:
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
			hdr.Name += "/"
		case submission.Symlink:
			// As written, wherever the walk says it leads: the container
			// resolves it in its own filesystem, where nothing of grade's
			// machine is, so a link out of the submission (the walk's
			// Outside) leads to the container's own files and is kept
			// here, where a build context refuses it.
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.Target, 0o777
		case submission.File:
			if e.HardLink() {
				return hardLinkError(e)
			}
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, e.Info.Size(), int64(e.Info.Mode().Perm()|0o644)
		default:
			return nil // a device, socket or FIFO: not copied
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(e.Path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	})
	if err != nil {
		return scriptCopyLimit(err)
	}
	return tw.Close()
}

// hardLinkError refuses a hard link in a copy of the submission, as the
// build context does: another name of a file the walk cannot place, which
// may be one outside the submission (/etc/hostname).
func hardLinkError(e submission.Entry) error {
	return &checks.RefusedError{Err: fmt.Errorf("%s is a hard link (it has %d names); grade takes only plain files of the submission: copy the file instead", e.Rel, e.Nlink)}
}

// scriptCopyLimit words a limit the walk of the submission stopped at, for
// a copy of it made for its script (the tar of /work, the workspace of
// docker commands), as a *checks.LimitError; other errors are returned as
// they are.
func scriptCopyLimit(err error) error {
	var tl *submission.TooLargeError
	switch {
	case !errors.As(err, &tl):
		return err
	case tl.Entries > 0:
		return &checks.LimitError{Err: fmt.Errorf("the script was not run: the submission holds more than %d files and folders, the most grade copies for its script; "+
			"remove generated folders (node_modules, build output, .git) from the submission", tl.Entries)}
	default:
		return &checks.LimitError{Err: fmt.Errorf("the script was not run: the submission is larger than %s, the most grade copies for its script; "+
			"remove big files (downloads, build output, archives) from the submission", checks.Size(tl.Bytes))}
	}
}
