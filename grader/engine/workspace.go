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
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// The workspace of a submission of docker commands: the script's bind
// mounts (-v "$(pwd)/site":/usr/share/nginx/html) name folders of the
// submission. The engine may be on another machine, so no folder of
// grade's is handed to it: each folder a bind names becomes a volume of the
// job's (made once, filled with that folder of the workspace copy), mounted
// read-only where the student asked. grade's edits of the workspace
// (EditWorkspace) go into the copy and into every such volume that holds
// the file, at once, as an edit on the student's machine would show.

// wsLabel marks the workspace's volumes (hidden from docker volume ls).
const wsLabel = "grade.workspace"

// wsVolumeName is the engine's name of the volume holding the workspace
// folder rel ("." for the whole submission). Student volumes are named
// c.prefix+NAME, which never starts with "grade-ws-" (run ids are hex).
func (c *commands) wsVolumeName(rel string) string {
	sum := sha256.Sum256([]byte(rel))
	return "grade-ws-" + c.job.slug + "-" + hex.EncodeToString(sum[:6])
}

// wsRel gives the workspace folder a bind source names ("site" for
// /work/site), and false when it is not under the script's working folder.
func wsRel(src string) (string, bool) {
	clean := path.Clean(src)
	if clean == scriptWorkdir {
		return ".", true
	}
	rel, ok := strings.CutPrefix(clean, scriptWorkdir+"/")
	return rel, ok
}

// ensureWorkspace makes the volume of the workspace folder rel once and
// fills it with the folder's copy.
func (c *commands) ensureWorkspace(ctx context.Context, rel string) error {
	c.makeMu.Lock()
	defer c.makeMu.Unlock()
	name := c.wsVolumeName(rel)
	c.mu.Lock()
	_, done := c.wsVolumes[name]
	c.mu.Unlock()
	if done {
		return nil
	}
	labels := c.job.e.labels(c.job.name)
	labels[wsLabel] = rel
	if _, err := c.job.e.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: "local", Labels: labels}); err != nil {
		return fmt.Errorf("making the volume of the folder %s of %s: %w", rel, c.job.name, err)
	}
	c.mu.Lock()
	c.wsVolumes[name] = rel
	c.mu.Unlock()
	pr, pw := io.Pipe()
	go func() {
		err := submissionTar(pw, filepath.Join(c.work, filepath.FromSlash(rel)), "ws", 0, maxScriptEntries, scriptUser{})
		_ = pw.CloseWithError(err)
	}()
	err := c.fill(ctx, name, pr)
	_ = pr.CloseWithError(io.ErrClosedPipe)
	return err
}

// intoVolume unpacks a tar of ws/… into a volume, through a container of
// grade's helper image that mounts it and is never started.
func (c *commands) intoVolume(ctx context.Context, volume string, tarball io.Reader) error {
	ref, err := c.job.e.helperImage(ctx)
	if err != nil {
		return err
	}
	res, err := c.job.e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: ref, Labels: c.job.e.labels(c.job.name)},
		HostConfig: &container.HostConfig{NetworkMode: "none",
			Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: volume, Target: "/ws"}}},
	})
	if err != nil {
		return fmt.Errorf("filling a volume of %s: %w", c.job.name, err)
	}
	defer c.job.remove(res.ID)
	if _, err := c.job.e.cli.CopyToContainer(ctx, res.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: tarball}); err != nil {
		return fmt.Errorf("filling a volume of %s: %w", c.job.name, err)
	}
	return nil
}

// editWorkspace writes a file of the workspace (p, clean and relative) into
// the copy and into every volume of a folder that holds it.
func (c *commands) editWorkspace(ctx context.Context, p string, content []byte) error {
	root, err := os.OpenRoot(c.work)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	if dir := path.Dir(p); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("editing %s: %w", p, err)
		}
	}
	if err := root.WriteFile(p, content, 0o644); err != nil {
		return fmt.Errorf("editing %s: %w", p, err)
	}
	c.mu.Lock()
	vols := map[string]string{}
	for name, rel := range c.wsVolumes {
		vols[name] = rel
	}
	c.mu.Unlock()
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
		errs = append(errs, c.fill(ctx, name, &buf))
	}
	return errors.Join(errs...)
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
