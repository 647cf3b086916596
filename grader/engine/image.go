package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// The job of an image stack (ImageJob): the image built from the
// submission and the app container run from it. Its builds are builder's
// (build.go), starting the app start.go's, reading the image imagefs.go's.

// ImageJob is the job of an image stack: the image built from the
// submission's Dockerfile and the app container run from it.
type ImageJob struct {
	*builder
	env     []string
	volumes int    // run volumes made, for their names
	app     string // app container id
	started bool
	startEr error
	reader  string // created-not-started container for file reads
}

// NewImageJob prepares the job of an image stack.
func (e *Engine) NewImageJob(name string, opts JobOptions) *ImageJob {
	j := &ImageJob{builder: &builder{base: e.newJob(name, opts)}, env: opts.Env}
	j.ops = j
	return j
}

// service is the app container, started on first use.
func (j *ImageJob) service(ctx context.Context, _ string) (string, error) { return j.start(ctx) }

// containerOf is the app container once started.
func (j *ImageJob) containerOf(string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.app
}

// InspectImage reads the built image's metadata.
func (j *ImageJob) InspectImage(ctx context.Context) (checks.ImageConfig, error) {
	ins, err := j.e.cli.ImageInspect(ctx, j.tag)
	if err != nil {
		return checks.ImageConfig{}, fmt.Errorf("inspecting the image of %s: %w", j.name, err)
	}
	cfg := checks.ImageConfig{Size: ins.Size}
	if ins.RootFS.Layers != nil {
		cfg.Layers = len(ins.RootFS.Layers)
	}
	if c := ins.Config; c != nil {
		cfg.User, cfg.WorkingDir, cfg.Env, cfg.Cmd, cfg.Entrypoint, cfg.Labels = c.User, c.WorkingDir, c.Env, c.Cmd, c.Entrypoint, c.Labels
		for p := range c.ExposedPorts {
			cfg.ExposedPorts = append(cfg.ExposedPorts, p)
		}
	}
	return cfg, nil
}

// RunImage runs a fresh container of the image to completion.
func (j *ImageJob) RunImage(ctx context.Context, spec checks.RunSpec) (checks.Output, error) {
	netName, err := j.ensureNetwork(ctx)
	if err != nil {
		return checks.Output{}, err
	}
	cfg := &container.Config{Image: j.tag, Cmd: spec.Args, Env: spec.Env}
	if spec.Entrypoint != nil {
		cfg.Entrypoint = spec.Entrypoint
	}
	hc := j.hostConfig()
	hc.NetworkMode = container.NetworkMode(netName)
	if spec.Volume != nil {
		m, err := j.makeRunVolume(ctx, spec.Volume)
		if err != nil {
			return checks.Output{}, err
		}
		defer j.removeVolume(m.Source) // after the container (defers run last first)
		hc.Mounts = append(hc.Mounts, m)
	}
	id, err := j.create(ctx, cfg, hc, "")
	if err != nil {
		return checks.Output{}, startErr(err)
	}
	defer j.remove(id)
	if spec.Volume != nil {
		if err := j.fillVolume(ctx, id, spec.Volume); err != nil {
			return checks.Output{}, err
		}
	}
	out, err := j.runToExit(ctx, id)
	if err != nil || spec.Volume == nil {
		return out, err
	}
	fresh, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	out.Files, err = j.collectVolume(fresh, id, spec.Volume)
	return out, err
}

// ReadFile reads a path from the image without starting the app: through a
// created, never started container of the image, shared by the job's file
// checks.
func (j *ImageJob) ReadFile(ctx context.Context, p string, limit int64) (checks.File, error) {
	id, err := j.readerContainer(ctx)
	if err != nil {
		return checks.File{}, err
	}
	return j.readPath(ctx, id, p, p, limit, "the image")
}

func (j *ImageJob) readerContainer(ctx context.Context) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.reader != "" {
		return j.reader, nil
	}
	// The command is never run; it only has to be there for create.
	id, err := j.create(ctx, &container.Config{Image: j.tag, Entrypoint: []string{"/grade-file-reader"}, Cmd: nil,
		NetworkDisabled: true}, j.hostConfig(), "")
	if err != nil {
		return "", fmt.Errorf("preparing to read files of %s: %w", j.name, err)
	}
	j.reader = id
	return id, nil
}

// RunScript runs a shell script of the submission with the docker CLI in a
// container: no network, every capability dropped, the job's memory, CPU
// and pids limits, never as root (see scriptUserFor), the submission's
// files copied into /work (the script's user's), and as its Docker API the
// job's guard (its socket's volume mounted at /run/grade). The container is
// removed when the script ends or the check's time runs out. A submission
// too big to copy (more than the context limit, or than maxScriptEntries
// entries) is a *checks.LimitError.
func (j *ImageJob) RunScript(ctx context.Context, spec checks.ScriptSpec) (checks.ScriptRun, error) {
	return j.runScript(ctx, spec, nil)
}

// Close removes everything the job created: containers (with their
// anonymous volumes), its network, volumes and its image. The untagged
// intermediate images its build created are handed to the run, which removes
// them at its end (CleanRun): removing them now could pull the build cache
// from under a build of another job still running. Close uses its own
// context, so it works after the job's has been cancelled.
func (j *ImageJob) Close() error { return j.close(nil, j.afterSweep) }

// RegistryTags lists what the job's registry holds, repository → tags.
func (j *ImageJob) RegistryTags(ctx context.Context) (map[string][]string, error) {
	s := j.existingSession()
	if s == nil {
		return map[string][]string{}, nil // nothing ran that could push
	}
	reg, err := name.NewRegistry(s.addr, name.Insecure)
	if err != nil {
		return nil, err
	}
	repos, err := remote.Catalog(ctx, reg)
	if err != nil {
		return nil, fmt.Errorf("listing the registry of %s: %w", j.name, err)
	}
	out := map[string][]string{}
	for _, r := range repos {
		repo, err := name.NewRepository(s.addr+"/"+r, name.Insecure)
		if err != nil {
			return nil, err
		}
		tags, err := remote.List(repo, remote.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("listing the tags of %s in the registry of %s: %w", r, j.name, err)
		}
		sort.Strings(tags)
		out[r] = tags
	}
	return out, nil
}

// RegistryManifest reads an image's manifest from the job's registry.
func (j *ImageJob) RegistryManifest(ctx context.Context, repo, tag string) (checks.Manifest, error) {
	s := j.existingSession()
	if s == nil {
		return checks.Manifest{}, errors.New("the registry has not been started")
	}
	ref, err := name.ParseReference(s.addr+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return checks.Manifest{}, err
	}
	desc, err := remote.Get(ref, remote.WithContext(ctx))
	if err != nil {
		return checks.Manifest{}, fmt.Errorf("reading the manifest of %s:%s from the registry: %w", repo, tag, err)
	}
	m := checks.Manifest{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Size: desc.Size}
	if !desc.MediaType.IsImage() {
		return m, nil
	}
	img, err := desc.Image()
	if err != nil {
		return m, fmt.Errorf("reading the image %s:%s from the registry: %w", repo, tag, err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return m, fmt.Errorf("reading the manifest of %s:%s from the registry: %w", repo, tag, err)
	}
	m.Layers = len(mf.Layers)
	m.Size = mf.Config.Size
	for _, l := range mf.Layers {
		m.Size += l.Size
	}
	return m, nil
}

// RunFromRegistry has the engine pull repo:tag from the job's registry and
// runs a fresh container of it to completion, sandboxed as RunImage does.
func (j *ImageJob) RunFromRegistry(ctx context.Context, repo, tag string, spec checks.RunSpec) (checks.Output, error) {
	s := j.existingSession()
	if s == nil {
		return checks.Output{}, errors.New("the registry has not been started")
	}
	ref := s.engineAddr + "/" + repo + ":" + tag
	s.mu.Lock()
	s.pulled[ref] = true
	s.mu.Unlock()
	resp, err := j.e.cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
		_ = resp.Close()
	}
	if err != nil {
		return checks.Output{}, fmt.Errorf("the engine pulling %s/%s:%s back: %w", s.studentRegistry(), repo, tag, err)
	}
	netName, err := j.ensureNetwork(ctx)
	if err != nil {
		return checks.Output{}, err
	}
	cfg := &container.Config{Image: ref, Cmd: spec.Args, Env: spec.Env}
	if spec.Entrypoint != nil {
		cfg.Entrypoint = spec.Entrypoint
	}
	hc := j.hostConfig()
	hc.NetworkMode = container.NetworkMode(netName)
	id, err := j.create(ctx, cfg, hc, "")
	if err != nil {
		return checks.Output{}, startErr(err)
	}
	defer j.remove(id)
	return j.runToExit(ctx, id)
}
