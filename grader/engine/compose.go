package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/client"
	tccompose "github.com/testcontainers/testcontainers-go/modules/compose"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/guard"
)

// ComposeSpec says which compose stack to bring up.
type ComposeSpec struct {
	// Dir is the submission on grade's filesystem; File the compose file in it.
	Dir, File string
	// BuildTimeout bounds each service's build.
	BuildTimeout time.Duration
	// Images are the exercise's (its scenario's images:): a service not
	// built from the submission must run one of them.
	Images []string
}

// stack is a job's compose stack once it is up (or refused, or failed).
type stack struct {
	info     checks.StackInfo
	services map[string]string // service → container id
	project  *types.Project    // as vetted and sandboxed
	down     bool              // taken down by a check, not up again yet
}

// StackInfo reports how the job's compose stack came up.
func (j *ComposeJob) StackInfo() checks.StackInfo {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stack == nil {
		return checks.StackInfo{Error: "no compose stack was started"}
	}
	return j.stack.info
}

// Up vets the submission's compose file, builds its services' images (the
// build logs kept for the student), and brings the stack up through the
// compose engine, with the sandbox settings, the job's labels and networks
// of its own. A refused file or a stack that does not come up is the
// student's result (in StackInfo); the error is grade's own failure.
func (j *ComposeJob) Up(ctx context.Context, spec ComposeSpec) (checks.StackInfo, error) {
	start := time.Now()
	st := &stack{info: checks.StackInfo{File: spec.File}, services: map[string]string{}}
	defer func() {
		st.info.Duration = time.Since(start)
		j.mu.Lock()
		j.stack = st
		j.mu.Unlock()
	}()
	project := "grade-" + j.slug
	p, refused, err := VetCompose(ctx, spec.Dir, spec.File, project, spec.Images)
	if err != nil {
		return st.info, err
	}
	if len(refused) > 0 {
		st.info.Refused = refused
		return st.info, nil
	}
	st.info.Services = declared(p)
	var logs strings.Builder
	// The services built first: another may run the image one builds.
	names := slices.Sorted(maps.Keys(p.Services))
	slices.SortStableFunc(names, func(a, b string) int {
		return bool2int(p.Services[a].Build == nil) - bool2int(p.Services[b].Build == nil)
	})
	built := map[string]string{} // a built service's name → grade's tag of its image
	for _, name := range names {
		ok, err := j.prepareService(ctx, p, name, spec, built, &logs)
		if err != nil {
			return st.info, err
		}
		if !ok {
			// The first line is the reason, the rest the build log.
			st.info.Error, st.info.Log, _ = strings.Cut(logs.String(), "\n")
			return st.info, nil
		}
	}
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.Canceled) {
			return st.info, err // interrupted: no verdict
		}
		st.info.Error = "the job's time limit ran out before the stack could start (the builds took it)"
		st.info.Log = logs.String()
		return st.info, nil
	}
	if err := j.sandboxProject(ctx, p); err != nil {
		var le *checks.LimitError
		var re *checks.RefusedError
		if errors.As(err, &le) {
			st.info.Error = le.Error() // a bound folder too big: the submission's
			return st.info, nil
		}
		if errors.As(err, &re) {
			st.info.Error = re.Error() // a hard link in a bound folder: the submission's
			return st.info, nil
		}
		return st.info, err
	}
	file, cleanup, err := writeProject(p, func() (string, error) { return j.e.makeTempDir(composeDirPrefix) })
	if err != nil {
		return st.info, err
	}
	// Kept until the job closes: a check may take the stack down and up.
	j.onClose(func() error { cleanup(); return nil })
	st.project = p
	dc, err := tccompose.NewDockerComposeWith(tccompose.WithStackFiles(file), tccompose.StackIdentifier(p.Name))
	if err != nil {
		return st.info, fmt.Errorf("preparing the compose stack of %s: %w", j.name, err)
	}
	j.mu.Lock()
	j.compose = dc
	j.mu.Unlock()
	uctx, cancel := context.WithTimeout(ctx, j.limits.Start.Std())
	defer cancel()
	upErr := dc.Up(uctx, tccompose.Wait(true))
	if err := ctx.Err(); errors.Is(err, context.Canceled) {
		return st.info, err // interrupted: no verdict
	}
	j.settle(ctx, st, upErr, logs.String())
	return st.info, nil
}

// settle records how compose up went: each service's container and state,
// and why the stack is not up when it is not (after the build logs given).
func (j *ComposeJob) settle(ctx context.Context, st *stack, upErr error, logs string) {
	// A fresh context: the job's may have run out while the stack came up.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer rcancel()
	j.readServices(rctx, st.project, st)
	st.info.OK = upErr == nil
	if upErr != nil {
		st.info.Error = composeErr(upErr, j.limits.Start.Std(), st.project.Name)
		st.info.Log = logs + j.serviceLogs(rctx, st)
	}
	for _, s := range st.info.Services {
		if s.State != "running" {
			st.info.OK = false
		}
	}
}

// declared lists the services as the file declares them, ports included.
func declared(p *types.Project) []checks.ServiceInfo {
	var out []checks.ServiceInfo
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		s := p.Services[name]
		si := checks.ServiceInfo{Name: name, State: "not started"}
		for _, port := range s.Ports {
			m := strconv.FormatUint(uint64(port.Target), 10)
			if port.Published != "" {
				m = port.Published + ":" + m
			}
			si.Ports = append(si.Ports, m)
		}
		out = append(out, si)
	}
	return out
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

// prepareService builds a service's image (when it has a build section) or
// makes sure its image is on the engine: the exercise's (VetCompose), or
// the image a service built before it builds (built, by service, grade's
// tags). ok is false when the student's service cannot be prepared; logs
// then starts with the reason.
func (j *ComposeJob) prepareService(ctx context.Context, p *types.Project, name string, spec ComposeSpec, built map[string]string, logs *strings.Builder) (bool, error) {
	s := p.Services[name]
	if s.Build == nil {
		if tag, ok := built[builtImage(p, s.Image)]; ok {
			s.Image, s.PullPolicy = tag, types.PullPolicyNever
			p.Services[name] = s
			return true, nil
		}
		present, err := j.e.ImagePresent(ctx, s.Image)
		if err != nil {
			return false, err
		}
		if !present {
			fmt.Fprintf(logs, "service %s: image %s is not on the engine, and grade pulls no images; use one the assignment names (`grade images` lists them, `make images` prepares them)\n", name, s.Image)
			return false, nil
		}
		s.PullPolicy = types.PullPolicyNever
		p.Services[name] = s
		return true, nil
	}
	dockerfile := s.Build.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	rel, _ := filepath.Rel(spec.Dir, filepath.Join(s.Build.Context, dockerfile))
	// The service's index keeps names apart that slug alike (a.b, a_b).
	idx := slices.Index(slices.Sorted(maps.Keys(p.Services)), name)
	tag := fmt.Sprintf("grade-%s-s%d-%s:latest", j.slug, idx, slugRe.ReplaceAllString(strings.ToLower(name), "-"))
	args := map[string]*string{}
	for k, v := range s.Build.Args {
		if v != nil { // a bare name would take grade's own environment
			args[k] = v
		}
	}
	b, err := j.Build(ctx, BuildSpec{Dir: s.Build.Context, Dockerfile: dockerfile, Shown: filepath.ToSlash(rel),
		Timeout: spec.BuildTimeout, Tag: tag, Target: s.Build.Target, Args: args})
	if err != nil {
		return false, err
	}
	if !b.OK {
		where := b.Dockerfile
		if b.Line > 0 {
			where += ":" + strconv.Itoa(b.Line)
		}
		fmt.Fprintf(logs, "service %s does not build: %s: %s\n%s%s\n", name, where, b.Error, b.Excerpt, b.Log)
		return false, nil
	}
	fmt.Fprintf(logs, "service %s built (%s)\n", name, filepath.ToSlash(rel))
	built[name] = tag
	s.Image, s.Build, s.PullPolicy = tag, nil, types.PullPolicyNever
	p.Services[name] = s
	return true, nil
}

// sandboxProject rewrites the vetted project to run in the job's sandbox:
// limits, dropped capabilities, labels, networks grade made (internal), no
// fixed names, no published ports (grade's helper reaches the services).
func (j *ComposeJob) sandboxProject(ctx context.Context, p *types.Project) error {
	labels := j.e.labels(j.name)
	for i, key := range slices.Sorted(maps.Keys(p.Networks)) {
		n := p.Networks[key]
		name := fmt.Sprintf("grade-%s-n%d-%s", j.slug, i, slugRe.ReplaceAllString(strings.ToLower(key), "-"))
		mctx, made := making(ctx)
		_, err := j.e.cli.NetworkCreate(mctx, name, networkCreate(j.base))
		made()
		if err != nil {
			return fmt.Errorf("creating network %s of %s: %w", key, j.name, err)
		}
		p.Networks[key] = types.NetworkConfig{Name: name, External: true, Extensions: n.Extensions}
	}
	for key, v := range p.Volumes {
		v.Labels = merge(studentLabels(v.Labels), labels)
		v.Name = "" // compose names it after the project: never another job's or the host's volume
		p.Volumes[key] = v
	}
	dropInherited(p)
	hc := j.hostConfig()
	grace := types.Duration(2 * time.Second)
	for name, s := range p.Services {
		s.Labels = merge(studentLabels(s.Labels), labels)
		s.MemLimit, s.MemSwapLimit = types.UnitBytes(int64(j.limits.Memory)), types.UnitBytes(int64(j.limits.Memory))
		s.PidsLimit = j.limits.PIDs
		sandboxKernel(&s, j.limits)
		s.CPUS = float32(j.limits.NanoCPUs()) / 1e9
		if s.Deploy != nil {
			s.Deploy.Resources = types.Resources{}
		}
		s.SecurityOpt = append(s.SecurityOpt, "no-new-privileges:true")
		s.CapDrop = append(s.CapDrop, hc.CapDrop...)
		s.Logging = &types.LoggingConfig{Driver: hc.LogConfig.Type, Options: hc.LogConfig.Config}
		s.LogDriver, s.LogOpt = "", nil
		s.ContainerName = "" // fixed names collide between jobs
		for i, v := range s.Volumes {
			if st, err := os.Stat(v.Source); v.Type == types.VolumeTypeBind && err == nil && st.IsDir() {
				// A folder of the submission: a volume of the job's,
				// filled with it (workspace.go), read-only, not seeded
				// from the image (a bind shows only the folder).
				vol, err := j.folderVolume(ctx, v.Source, strings.TrimPrefix(shown(j.dir, v.Source), "./"))
				if err != nil {
					return err
				}
				s.Volumes[i] = types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Source: vol, Target: v.Target, ReadOnly: true,
					Volume: &types.ServiceVolumeVolume{NoCopy: true}}
				if p.Volumes == nil {
					p.Volumes = types.Volumes{}
				}
				p.Volumes[vol] = types.VolumeConfig{Name: vol, External: true}
				continue
			}
			if v.Type == types.VolumeTypeBind {
				// Read-only: a service writing into the submission could
				// swap a later bind's source for a link out of it.
				s.Volumes[i].ReadOnly = true
				if v.Bind == nil {
					s.Volumes[i].Bind = &types.ServiceVolumeBind{}
				}
				s.Volumes[i].Bind.CreateHostPath = false
			}
		}
		s.StopGracePeriod = &grace
		s.Ports = nil // reached from grade's helper, on the project's networks
		p.Services[name] = s
	}
	return nil
}

// sandboxKernel clamps what a vetted service asks of the host's kernel
// beyond its cgroup, as the guard does a script's docker run (guard's
// kernel.go; VetCompose refused the rest): ulimits nofile and nproc, shm
// size and tmpfs sizes no larger than the limits, every tmpfs nosuid and
// nodev; no label of grade's or compose's on an anonymous volume.
func sandboxKernel(s *types.ServiceConfig, l checks.Limits) {
	mem := int64(l.Memory)
	s.OomScoreAdj = max(s.OomScoreAdj, 0)
	for name, u := range s.Ulimits {
		c, why := guard.VetUlimit(composeUlimit(name, u), l.PIDs)
		if why != "" {
			delete(s.Ulimits, name)
			continue
		}
		s.Ulimits[name] = &types.UlimitsConfig{Soft: int(c.Soft), Hard: int(c.Hard)}
	}
	s.ShmSize = types.UnitBytes(guard.ClampSize(int64(s.ShmSize), mem))
	var tmpfs types.StringList
	for _, t := range s.Tmpfs {
		path, opts, _ := strings.Cut(t, ":")
		if o, bad := guard.TmpfsOptions(opts, mem); bad == "" {
			tmpfs = append(tmpfs, path+":"+o)
		}
	}
	s.Tmpfs = tmpfs
	for i, v := range s.Volumes {
		switch {
		case v.Type == types.VolumeTypeTmpfs:
			t := types.ServiceVolumeTmpfs{}
			if v.Tmpfs != nil {
				t = *v.Tmpfs
			}
			if mem > 0 && (t.Size <= 0 || int64(t.Size) > mem) {
				t.Size = types.UnitBytes(mem) // no size is half the host's memory
			}
			s.Volumes[i].Tmpfs = &t
		case v.Volume != nil:
			vol := *v.Volume
			vol.Labels = studentLabels(vol.Labels)
			s.Volumes[i].Volume = &vol
		}
	}
}

// studentLabels are a compose file's labels less grade's and the compose
// engine's (VetCompose refused them already).
func studentLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l))
	for k, v := range l {
		if !guard.ReservedLabel(k) {
			out[k] = v
		}
	}
	return out
}

// dropInherited removes environment entries without a value ("- NAME"):
// compose fills them from the environment it runs in, which is grade's own.
func dropInherited(p *types.Project) {
	for name, s := range p.Services {
		for k, v := range s.Environment {
			if v == nil {
				delete(s.Environment, k)
			}
		}
		p.Services[name] = s
	}
}

// merge returns a's entries overridden by b's.
func merge(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	maps.Copy(out, a)
	maps.Copy(out, b)
	return out
}

// writeProject writes the vetted, sandboxed project for the compose engine.
// Dollar signs are escaped so that loading it again interpolates nothing
// (in particular nothing of grade's own environment).
func writeProject(p *types.Project, mkdir func() (string, error)) (string, func(), error) {
	b, err := p.MarshalYAML()
	if err != nil {
		return "", nil, fmt.Errorf("writing the compose project: %w", err)
	}
	if bytes.Contains(b, []byte("!!binary")) {
		return "", nil, errors.New("writing the compose project: a value is not text (!!binary)")
	}
	dir, err := mkdir()
	if err != nil {
		return "", nil, err
	}
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(b), "$", "$$")), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return file, func() { _ = os.RemoveAll(dir) }, nil
}

// readServices records each service's container and state.
func (j *ComposeJob) readServices(ctx context.Context, p *types.Project, st *stack) {
	f := j.projectFilter(p.Name)
	list, err := j.e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return
	}
	for _, c := range list.Items {
		svc := c.Labels["com.docker.compose.service"]
		st.services[svc] = c.ID
	}
	for i, si := range st.info.Services {
		id, ok := st.services[si.Name]
		if !ok {
			continue
		}
		ins, err := j.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil || ins.Container.State == nil {
			continue
		}
		s := ins.Container.State
		si.State, si.ExitCode = string(s.Status), s.ExitCode
		if s.Health != nil {
			si.Health = string(s.Health.Status)
		}
		st.info.Services[i] = si
	}
}

// projectFilter finds the objects of the job's compose project: by the
// compose engine's label, and grade's label of the job, which no one but
// grade sets (a container of another job's labelled with this project's
// name is not one of its services).
func (j *ComposeJob) projectFilter(project string) client.Filters {
	return client.Filters{}.Add("label", "com.docker.compose.project="+project).Add("label", LabelJob+"="+j.name)
}

// serviceLogs returns the end of every service's log, for a stack that did
// not come up.
func (j *ComposeJob) serviceLogs(ctx context.Context, st *stack) string {
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(st.services)) {
		out, errOut, err := j.logsTail(ctx, st.services[n], "20")
		if err != nil || strings.TrimSpace(out+errOut) == "" {
			continue
		}
		fmt.Fprintf(&b, "--- %s:\n%s%s", n, out, errOut)
	}
	return b.String()
}

// composeErr says why compose up failed, in the student's terms.
func composeErr(err error, limit time.Duration, project string) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("the stack did not come up within %s (or the job's time limit ran out)", limit)
	}
	msg := strings.TrimPrefix(err.Error(), "compose up: ")
	// "container grade-<run>-<job>-web-1 exited (1)": name the service.
	re := regexp.MustCompile(`container ` + regexp.QuoteMeta(project) + `-([a-z0-9_.-]+?)-[0-9]+\b`)
	return re.ReplaceAllString(msg, "service $1")
}

// lookup returns the container of a service: by name, or the only one
// for "".
func (st *stack) lookup(name string) (string, bool) {
	if name == "" && len(st.services) == 1 {
		for _, id := range st.services {
			return id, true
		}
	}
	id, ok := st.services[name]
	return id, ok
}

// service returns the container of a compose service.
func (j *ComposeJob) service(ctx context.Context, name string) (string, error) {
	j.mu.Lock()
	st := j.stack
	j.mu.Unlock()
	if st == nil {
		return "", &checks.StartError{Service: name, Err: errors.New("the compose stack was not brought up")}
	}
	if st.down {
		return "", &checks.StartError{Service: name, Err: errors.New("the stack was taken down by an earlier check and is not up again")}
	}
	if !st.info.OK && len(st.services) == 0 {
		return "", &checks.StartError{Service: name, Err: errors.New("the compose stack did not come up")}
	}
	id, ok := st.lookup(name)
	if !ok {
		return "", &checks.StartError{Service: name, Err: fmt.Errorf("the stack has no service %q", name)}
	}
	return id, nil
}

// Down takes the job's stack down the way `docker compose down` does
// (containers and the project's own networks removed, volumes kept) and
// reports what is left of the project.
func (j *ComposeJob) Down(ctx context.Context) (checks.DownInfo, error) {
	st, dc, err := j.composed()
	if err != nil {
		return checks.DownInfo{}, err
	}
	anon := j.anonymousVolumes(ctx, st)
	start := time.Now()
	if err := dc.Down(ctx, tccompose.RemoveOrphans(true)); err != nil {
		return checks.DownInfo{}, fmt.Errorf("compose down of %s: %w", j.name, err)
	}
	// Down keeps volumes, and an anonymous one (an image's VOLUME) no
	// container will use again carries no label for the clean-up to find.
	for _, v := range anon {
		j.removeVolume(v)
	}
	j.mu.Lock()
	st.down, st.services = true, map[string]string{}
	j.mu.Unlock()
	info := checks.DownInfo{Duration: time.Since(start)}
	f := j.projectFilter(st.project.Name)
	cs, err := j.e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return info, err
	}
	for _, c := range cs.Items {
		info.Containers = append(info.Containers, c.Labels["com.docker.compose.service"])
	}
	vs, err := j.e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return info, err
	}
	for _, v := range vs.Items {
		info.Volumes = append(info.Volumes, v.Labels["com.docker.compose.volume"])
	}
	slices.Sort(info.Containers)
	slices.Sort(info.Volumes)
	return info, nil
}

// composed returns the job's stack and the compose engine's handle on it,
// or a start error when the stack never came up.
func (j *ComposeJob) composed() (*stack, *tccompose.DockerCompose, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stack == nil || j.compose == nil || j.stack.project == nil {
		return nil, nil, &checks.StartError{Err: errors.New("the compose stack did not come up")}
	}
	return j.stack, j.compose, nil
}

// UpAgain brings the stack up again after Down, from the same vetted
// project (images already built), as `docker compose up` would.
func (j *ComposeJob) UpAgain(ctx context.Context) (checks.StackInfo, error) {
	st, dc, err := j.composed()
	if err != nil {
		return checks.StackInfo{}, err
	}
	uctx, cancel := context.WithTimeout(ctx, j.limits.Start.Std())
	defer cancel()
	upErr := dc.Up(uctx, tccompose.Wait(true))
	if err := ctx.Err(); errors.Is(err, context.Canceled) {
		return st.info, err
	}
	again := &stack{info: st.info, services: map[string]string{}, project: st.project}
	again.info.Services, again.info.Error, again.info.Log = declared(st.project), "", ""
	j.settle(ctx, again, upErr, "")
	j.mu.Lock()
	j.stack = again
	j.mu.Unlock()
	j.forget()
	return again.info, nil
}

// Mounts lists the mounts of a service's container.
func (j *ComposeJob) Mounts(ctx context.Context, service string) ([]checks.Mount, error) {
	id, err := j.service(ctx, service)
	if err != nil {
		return nil, err
	}
	ins, err := j.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspecting %s of %s: %w", service, j.name, err)
	}
	var out []checks.Mount
	for _, m := range ins.Container.Mounts {
		mt := checks.Mount{Type: string(m.Type), Destination: m.Destination, Source: m.Source}
		if rel, ok := j.boundFolder(m.Name); ok && m.Type == "volume" {
			// A folder of the submission, as the compose file bound it.
			mt.Type, mt.Source = "bind", "./"+rel
			out = append(out, mt)
			continue
		}
		if m.Type == "volume" {
			mt.Name = m.Name
			if vi, err := j.e.cli.VolumeInspect(ctx, m.Name, client.VolumeInspectOptions{}); err == nil {
				mt.Name = vi.Volume.Labels["com.docker.compose.volume"]
				mt.Anonymous = mt.Name == "" && len(m.Name) == 64
				if mt.Name == "" {
					mt.Name = m.Name
				}
			}
		}
		if m.Type == "bind" {
			mt.Source = shown(j.dir, m.Source)
		}
		out = append(out, mt)
	}
	return out, nil
}

// anonymousVolumes lists the unnamed volumes of the stack's containers.
func (j *ComposeJob) anonymousVolumes(ctx context.Context, st *stack) []string {
	j.mu.Lock()
	ids := slices.Collect(maps.Values(st.services))
	j.mu.Unlock()
	var out []string
	for _, id := range ids {
		ins, err := j.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			continue
		}
		for _, m := range ins.Container.Mounts {
			if m.Type != "volume" {
				continue
			}
			if vi, err := j.e.cli.VolumeInspect(ctx, m.Name, client.VolumeInspectOptions{}); err == nil &&
				vi.Volume.Labels["com.docker.compose.volume"] == "" && vi.Volume.Labels[LabelManaged] == "" {
				out = append(out, m.Name)
			}
		}
	}
	return out
}

// containerOf returns the container of a service that is up, or "".
func (j *ComposeJob) containerOf(service string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stack == nil {
		return ""
	}
	id, _ := j.stack.lookup(service)
	return id
}

// ComposeJob is the job of a compose stack.
type ComposeJob struct {
	*builder
	stack   *stack                   // the compose stack
	compose *tccompose.DockerCompose // the compose engine's handle on it
}

// NewComposeJob prepares the job of a compose stack.
func (e *Engine) NewComposeJob(name string, opts JobOptions) *ComposeJob {
	j := &ComposeJob{builder: &builder{base: e.newJob(name, opts)}}
	j.ops = j
	return j
}

// Close removes everything the job created: compose down first (it knows
// its own objects), then what it leaves, by label (see ImageJob's Close).
func (j *ComposeJob) Close() error {
	return j.close(func(ctx context.Context) {
		j.mu.Lock()
		dc := j.compose
		j.compose = nil
		j.mu.Unlock()
		if dc != nil {
			_ = dc.Down(ctx, tccompose.RemoveOrphans(true), tccompose.RemoveVolumes(true))
			_ = dc.Close()
		}
	}, j.afterSweep)
}
