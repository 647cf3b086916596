package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// volumeFileLimit caps each file read back from a run's volume.
const volumeFileLimit = 1 << 20

// makeRunVolume creates a fresh named volume, labelled as the job's, for a
// run (docker volume create), and returns its mount.
func (j *ImageJob) makeRunVolume(ctx context.Context, v *checks.RunVolume) (mount.Mount, error) {
	j.mu.Lock()
	j.volumes++
	name := fmt.Sprintf("grade-%s-v%d", j.slug, j.volumes)
	j.mu.Unlock()
	mctx, made := making(ctx)
	defer made()
	if _, err := j.e.cli.VolumeCreate(mctx, client.VolumeCreateOptions{Name: name, Labels: j.e.labels(j.name)}); err != nil {
		return mount.Mount{}, fmt.Errorf("creating a volume for %s: %w", j.name, err)
	}
	// NoCopy: the volume starts empty, not seeded with what the image has
	// at that path (an output file baked into the image would pass).
	return mount.Mount{Type: mount.TypeVolume, Source: name, Target: v.Path,
		VolumeOptions: &mount.VolumeOptions{NoCopy: true}}, nil
}

// fillVolume copies the input files into the created (not yet started)
// container's volume at v.Path.
func (j *ImageJob) fillVolume(ctx context.Context, id string, v *checks.RunVolume) error {
	if len(v.Files) == 0 {
		return nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(v.Files))
	for n := range v.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		body := []byte(v.Files[n])
		if dir := path.Dir(n); dir != "." {
			if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := j.e.cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: v.Path, Content: &buf})
	if err != nil {
		return fmt.Errorf("putting the input files into the volume of %s: %w", j.name, err)
	}
	return nil
}

// collectVolume reads the named files back from the volume of the exited
// container; files that are not there are left out.
func (j *ImageJob) collectVolume(ctx context.Context, id string, v *checks.RunVolume) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range v.Collect {
		p := path.Join(v.Path, n)
		res, err := j.e.cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: p})
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("reading %s from the volume of %s: %w", p, j.name, err)
		}
		f, err := readTarFile(res.Content, p, res.Stat.LinkTarget, volumeFileLimit)
		_ = res.Content.Close()
		if err != nil {
			return nil, err
		}
		out[n] = string(f.Content)
	}
	return out, nil
}
