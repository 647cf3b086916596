package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// ScriptImage is the image a student's script of docker commands runs in:
// a shell and the docker CLI (images/docker-cli, made by make images).
const ScriptImage = "grade/docker-cli:bookworm"

// scriptOutput caps what is kept of a script's output (its end).
const scriptOutput = 64 << 10

// RunScript runs a shell script of the submission with the docker CLI in a
// container: no network, every capability dropped, the job's memory, CPU
// and pids limits, the submission's files copied into /work, and as its
// Docker API the job's guard (its socket folder mounted at /run/grade).
// The container is removed when the script ends or the check's time runs
// out.
func (j *Job) RunScript(ctx context.Context, spec checks.ScriptSpec) (checks.ScriptRun, error) {
	if _, err := j.ReadSource(spec.File, 0); err != nil {
		return checks.ScriptRun{}, err
	}
	s, err := j.registrySession(ctx)
	if err != nil {
		return checks.ScriptRun{}, err
	}
	s.guard.setNames(spec.ImageName, spec.Registry)
	files, err := submissionTar(j.dir, j.limits.ContextSize)
	if err != nil {
		return checks.ScriptRun{}, err
	}
	uid, gid := os.Getuid(), os.Getgid()
	cfg := &container.Config{
		Image:      ScriptImage,
		Cmd:        []string{"sh", "-c", `exec sh "$0" 2>&1`, "/work/" + spec.File},
		WorkingDir: "/work",
		// The guard's folder is grade's (0700): the script runs as grade's
		// user, with no capabilities.
		User: strconv.Itoa(uid) + ":" + strconv.Itoa(gid),
		Env: []string{"DOCKER_HOST=unix://" + guardMount + "/" + guardSocket, "DOCKER_CONFIG=/tmp/.docker", "HOME=/tmp",
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		NetworkDisabled: true,
	}
	hc := j.hostConfig()
	hc.NetworkMode = "none"
	hc.CapDrop = []string{"ALL"}
	hc.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: s.dir, Target: guardMount, ReadOnly: true}}
	id, err := j.create(ctx, cfg, hc, "")
	if err != nil {
		if isNotFound(err) {
			return checks.ScriptRun{}, fmt.Errorf("the docker CLI image %s is not on the engine (make images, or images/prepare.sh %s): %w",
				ScriptImage, ScriptImage, err)
		}
		return checks.ScriptRun{}, fmt.Errorf("creating the script's container for %s: %w", j.name, err)
	}
	defer j.remove(id)
	if _, err := j.e.cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/work", Content: bytes.NewReader(files)}); err != nil {
		return checks.ScriptRun{}, fmt.Errorf("copying the submission into the script's container: %w", err)
	}
	s.guard.takeRefused() // only this run's
	out, err := j.runToExit(ctx, id)
	run := checks.ScriptRun{Output: out, Refused: s.guard.takeRefused()}
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

// submissionTar packs the submission's folder for the script's container:
// regular files and folders, links as links (never followed: they point
// inside the container), no special files; at most limit bytes.
func submissionTar(dir string, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	uid, gid := os.Getuid(), os.Getgid()
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), Uid: uid, Gid: gid, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
			hdr.Name += "/"
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
		case info.Mode().IsRegular():
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, info.Size(), int64(info.Mode().Perm()|0o644)
			total += info.Size()
			if total > limit {
				return fmt.Errorf("the submission is larger than %s", checks.Size(limit))
			}
		default:
			return nil // a device, socket or FIFO: not copied
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, err = io.CopyN(tw, f, info.Size())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("packing the submission for its script: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
