package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// base is what the jobs of every stack share: one submission graded
// against one scenario on the engine, its name, limits, networks, helper
// and bound folders. Each stack has a type of its own that embeds it and
// owns the state of that stack alone: ImageJob, ComposeJob, CommandsJob
// (capabilities.go lists what each gives the checks). A job is used by one
// goroutine at a time, except Close.
type base struct {
	e    *Engine
	name string // student/scenario
	slug string // for object names
	tag  string // image tag

	mu       sync.Mutex
	network  string
	limits   checks.Limits
	outbound bool
	offline  bool // builds get no network (JobOptions.OfflineBuild)
	memo     map[string]any
	dir      string         // the submission's folder on grade's filesystem
	closers  []func() error // run first by Close (a registry, an API guard)
	ops      stackOps       // the job of its stack, which this is part of

	hmu    sync.Mutex
	helper *helperCtr // the job's helper, on its networks (helperctr.go)

	warm       sync.WaitGroup     // a Warm in flight; close waits for it
	warmCancel context.CancelFunc // ends it

	fmu     sync.Mutex
	folders map[string]string                                                 // bound folders' volumes: engine name → folder (workspace.go)
	fill    func(ctx context.Context, volume string, tarball io.Reader) error // a test's stand-in for intoVolume
}

// stackOps is what a stack's job tells the parts every stack shares.
type stackOps interface {
	// service returns the container of a service (of the app, for an
	// image; of a container the script made, for commands), starting it
	// where the stack starts it on first use.
	service(ctx context.Context, name string) (string, error)
	// containerOf returns it when it is already up, else "".
	containerOf(name string) string
}

// builder is the builds of a job: its image stack's image, or its compose
// stack's services' images.
type builder struct {
	*base
	build   checks.BuildInfo
	spec    BuildSpec // what Build built, for Rebuild
	created []string  // untagged images the build created (steps, stage results)
	aborted bool      // the build was cut off: the engine may still commit its image
	added   int       // build steps grade added (its labels)
}

// onClose registers fn to run when the job closes, before its objects are
// removed by label; later registrations run first.
func (j *base) onClose(fn func() error) {
	j.mu.Lock()
	j.closers = append(j.closers, fn)
	j.mu.Unlock()
}

// JobOptions says how the job's containers run.
type JobOptions struct {
	// Env is the app container's extra environment, KEY=value (an image
	// stack's).
	Env []string
	// Limits are the job's sandbox limits; zero fields take the engine's.
	Limits checks.Limits
	// Outbound lets the job's containers reach beyond the job's network.
	Outbound bool
	// OfflineBuild gives the job's builds no network at all (docker build
	// --network none): a RUN step reaches nothing, the engine's host
	// included.
	OfflineBuild bool
	// Dir is the submission's folder on grade's filesystem, for checks that
	// read the submission itself (the Dockerfile as written, a script).
	Dir string
	// Compose makes the job a compose stack's.
	Compose bool
	// Commands makes the job a submission of docker commands: its scripts'
	// containers, volumes and networks are made through the API guard,
	// from these images only (references as a scenario lists them).
	Commands *CommandsOptions
}

// CommandsOptions says what a submission of docker commands may use.
type CommandsOptions struct {
	// Images are the images its docker run may name; nothing is pulled.
	Images []string
}

var slugRe = regexp.MustCompile(`[^a-z0-9]+`)

// StackJob is a job of any stack, as the grader holds it: a check target
// (whose capabilities are its stack's) that cleans up after itself.
type StackJob interface {
	checks.Target
	Close() error
}

// NewJob prepares a job named "student/scenario" of the stack opts names.
// Nothing is created on the engine until the job builds or starts
// something.
func (e *Engine) NewJob(name string, opts JobOptions) StackJob {
	switch {
	case opts.Commands != nil:
		return e.NewCommandsJob(name, opts)
	case opts.Compose:
		return e.NewComposeJob(name, opts)
	}
	return e.NewImageJob(name, opts)
}

func (e *Engine) newJob(name string, opts JobOptions) *base {
	slug := strings.Trim(slugRe.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(slug) > 40 {
		slug = slug[:40]
	}
	// The slug is cut and folded (a/b-c and a-b/c read alike): a hash of
	// the whole name keeps two jobs' objects apart.
	sum := sha256.Sum256([]byte(name))
	e.liveOnce.Do(func() { e.note(nil) }) // other runs see this one is live
	slug = e.runID + "-" + slug + "-" + hex.EncodeToString(sum[:3])
	return &base{e: e, name: name, slug: slug, tag: "grade-" + slug + ":latest",
		limits: opts.Limits.Over(e.limits), outbound: opts.Outbound, offline: opts.OfflineBuild, dir: opts.Dir}
}

// Job names the job, "student/scenario".
func (j *base) Job() string { return j.name }

// BuildInfo reports the build.
func (j *builder) BuildInfo() checks.BuildInfo {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.build
}

func (j *builder) setBuild(b checks.BuildInfo) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.build = b
}

func (j *builder) addCreated(ids ...string) {
	j.e.note(ids)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.created = append(j.created, ids...)
}

// forget drops what the checks remembered of the job's containers: they
// were replaced (the stack went down and up again).
func (j *base) forget() {
	j.mu.Lock()
	j.memo = nil
	j.mu.Unlock()
}

// Recall returns what a check of this job remembered under key.
func (j *base) Recall(key string) (any, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	v, ok := j.memo[key]
	return v, ok
}

// Remember keeps v under key for the job's later checks.
func (j *base) Remember(key string, v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.memo == nil {
		j.memo = map[string]any{}
	}
	j.memo[key] = v
}

// Image is the tag of the job's built image.
func (j *base) Image() string { return j.tag }

// hostConfig is the sandbox every container of the job runs in.
func (j *base) hostConfig() *container.HostConfig {
	l := j.limits
	pids := l.PIDs
	return &container.HostConfig{
		Resources: container.Resources{
			Memory:     int64(l.Memory),
			MemorySwap: int64(l.Memory),
			NanoCPUs:   l.NanoCPUs(),
			PidsLimit:  &pids,
		},
		SecurityOpt: []string{"no-new-privileges"},
		// Docker's default capabilities less those a course app never needs.
		CapDrop:   []string{"NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SYS_CHROOT"},
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m", "max-file": "1"}},
	}
}

// Warm makes, in the background, what the job's checks need whatever the
// build gives: its network, and with helper its helper container (each a
// second or so of the engine's time, done while the image builds). It
// returns at once. A failure is left to the first check that needs the
// network or the helper, which tries again; Close ends a Warm still under
// way and waits for it.
func (j *base) Warm(ctx context.Context, helper bool) {
	ctx, cancel := context.WithCancel(ctx)
	j.mu.Lock()
	if j.warmCancel != nil {
		j.mu.Unlock()
		cancel()
		return // warmed once already
	}
	j.warmCancel = cancel
	j.mu.Unlock()
	j.warm.Add(1)
	go func() {
		defer j.warm.Done()
		defer cancel()
		if helper {
			_, _ = j.jobHelper(ctx)
			return
		}
		_, _ = j.ensureNetwork(ctx)
	}()
}

// endWarm ends a Warm under way and waits for it.
func (j *base) endWarm() {
	j.mu.Lock()
	cancel := j.warmCancel
	j.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	j.warm.Wait()
}

// ensureNetwork creates the job's own network once.
func (j *base) ensureNetwork(ctx context.Context) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.network != "" {
		return j.network, nil
	}
	name := "grade-" + j.slug
	mctx, made := making(ctx)
	defer made()
	_, err := j.e.cli.NetworkCreate(mctx, name, networkCreate(j))
	if err != nil {
		return "", fmt.Errorf("creating the network of %s: %w", j.name, err)
	}
	j.network = name
	return name, nil
}

// create creates a container of the job with the sandbox settings.
func (j *base) create(ctx context.Context, cfg *container.Config, hc *container.HostConfig, name string) (string, error) {
	cfg.Labels = j.e.labels(j.name)
	mctx, made := making(ctx)
	defer made()
	res, err := j.e.cli.ContainerCreate(mctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, Name: name})
	if err != nil {
		return "", err
	}
	return res.ID, nil
}

// remove removes a container with its anonymous volumes, on a fresh context.
func (j *base) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = j.e.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// runToExit starts a created container, waits for it to exit (or ctx to
// end, then kills it) and returns what it printed.
func (j *base) runToExit(ctx context.Context, id string) (checks.Output, error) {
	if _, err := j.e.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return checks.Output{}, startErr(err)
	}
	wait := j.e.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	out := checks.Output{}
	select {
	case r := <-wait.Result:
		out.ExitCode = int(r.StatusCode)
	case err := <-wait.Error:
		if ctx.Err() == nil {
			return out, fmt.Errorf("waiting for a container of %s: %w", j.name, err)
		}
		out.TimedOut = true
	case <-ctx.Done():
		out.TimedOut = true
	}
	fresh, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if out.TimedOut {
		_, _ = j.e.cli.ContainerKill(fresh, id, client.ContainerKillOptions{Signal: "KILL"})
	}
	if ins, err := j.e.cli.ContainerInspect(fresh, id, client.ContainerInspectOptions{}); err == nil && ins.Container.State != nil {
		out.OOMKilled = ins.Container.State.OOMKilled
		if hc := ins.Container.HostConfig; hc != nil {
			out.MemoryLimit = hc.Memory
		}
	}
	stdout, stderr, err := j.logs(fresh, id)
	if err != nil {
		return out, err
	}
	out.Stdout, out.Stderr = stdout, stderr
	return out, nil
}

// logs reads a container's stdout and stderr, each up to the output cap.
func (j *base) logs(ctx context.Context, id string) (string, string, error) {
	return j.logsTail(ctx, id, "all")
}

// logsTail reads the last tail lines ("all" for every line) of a
// container's stdout and stderr, each up to the output cap.
func (j *base) logsTail(ctx context.Context, id, tail string) (string, string, error) {
	rc, err := j.e.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
	if err != nil {
		return "", "", fmt.Errorf("reading the logs of %s: %w", j.name, err)
	}
	defer func() { _ = rc.Close() }()
	stdout, stderr := newCapped(int(j.limits.Output)), newCapped(int(j.limits.Output))
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil {
		return stdout.String(), stderr.String(), fmt.Errorf("reading the logs of %s: %w", j.name, err)
	}
	return stdout.String(), stderr.String(), nil
}

// Exec runs a command in the app container.
func (j *base) Exec(ctx context.Context, service string, spec checks.ExecSpec) (checks.Output, error) {
	id, err := j.service(ctx, service)
	if err != nil {
		return checks.Output{}, err
	}
	ex, err := j.e.cli.ExecCreate(ctx, id, client.ExecCreateOptions{
		Cmd: spec.Cmd, User: spec.User, Env: spec.Env, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		if st, serr := j.State(ctx, service); serr == nil && !st.Running {
			return checks.Output{}, exitedErr(st)
		}
		return checks.Output{}, fmt.Errorf("running %q in %s: %w", strings.Join(spec.Cmd, " "), j.name, err)
	}
	att, err := j.e.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		if isProcessLimit(err.Error()) {
			return checks.Output{}, j.processLimit(spec)
		}
		return checks.Output{}, fmt.Errorf("attaching to %q in %s: %w", strings.Join(spec.Cmd, " "), j.name, err)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, func() { _ = att.Conn.Close() })
	defer stop()
	stdout, stderr := newCapped(int(j.limits.Output)), newCapped(int(j.limits.Output))
	_, _ = stdcopy.StdCopy(stdout, stderr, att.Reader)
	if ctx.Err() != nil {
		return checks.Output{Stdout: stdout.String(), Stderr: stderr.String(), TimedOut: true}, ctx.Err()
	}
	// The streams can close before the process ends: wait for its exit code.
	ins, err := j.e.cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	for err == nil && ins.Running && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		ins, err = j.e.cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	}
	if ctx.Err() != nil {
		return checks.Output{Stdout: stdout.String(), Stderr: stderr.String(), TimedOut: true}, ctx.Err()
	}
	if err != nil {
		return checks.Output{}, fmt.Errorf("inspecting %q in %s: %w", strings.Join(spec.Cmd, " "), j.name, err)
	}
	out := checks.Output{ExitCode: ins.ExitCode, Stdout: stdout.String(), Stderr: stderr.String()}
	if isExecNotFound(out) {
		out.ExitCode = 127
	}
	if out.ExitCode == 126 && isProcessLimit(out.Stdout+out.Stderr) {
		return checks.Output{}, j.processLimit(spec)
	}
	return out, nil
}

// isProcessLimit recognises the engine failing to start a process in a
// container that holds its limit of processes.
func isProcessLimit(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "resource temporarily unavailable")
}

func (j *base) processLimit(spec checks.ExecSpec) error {
	return &checks.LimitError{Err: fmt.Errorf("could not start %q in the container: it holds its limit of %d processes "+
		"(something in it keeps starting processes)", strings.Join(spec.Cmd, " "), j.limits.PIDs)}
}

// isExecNotFound recognises an exec whose executable is missing (the engine
// reports exit code 126/127 with a message on stdout).
func isExecNotFound(o checks.Output) bool {
	return o.ExitCode == 126 && strings.Contains(o.Stdout, "executable file not found")
}

// readPath reads full from a created container (never started), as
// ReadFile does; the File carries the path as shown, and errors name
// where it was read from ("the image", "the volume data").
func (j *base) readPath(ctx context.Context, id, full, shown string, limit int64, where string) (checks.File, error) {
	if limit <= 0 {
		// Only whether it is there: no copy of a folder that may be large.
		st, err := j.e.cli.ContainerStatPath(ctx, id, client.ContainerStatPathOptions{Path: full})
		if err != nil {
			if isNotFound(err) {
				return checks.File{}, checks.ErrNotExist
			}
			return checks.File{}, fmt.Errorf("reading %s from %s of %s: %w", shown, where, j.name, err)
		}
		return checks.File{Path: shown, Mode: st.Stat.Mode, Size: st.Stat.Size, LinkTarget: st.Stat.LinkTarget}, nil
	}
	res, err := j.e.cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: full})
	if err != nil {
		if isNotFound(err) {
			return checks.File{}, checks.ErrNotExist
		}
		return checks.File{}, fmt.Errorf("reading %s from %s of %s: %w", shown, where, j.name, err)
	}
	defer func() { _ = res.Content.Close() }()
	return readTarFile(res.Content, shown, res.Stat.LinkTarget, limit)
}

// State reads the app container's state.
func (j *base) State(ctx context.Context, service string) (checks.ContainerState, error) {
	id := j.containerOf(service)
	if id == "" {
		return checks.ContainerState{}, errors.New("the app container has not been started")
	}
	ins, err := j.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return checks.ContainerState{}, fmt.Errorf("inspecting the container of %s: %w", j.name, err)
	}
	st := checks.ContainerState{}
	if s := ins.Container.State; s != nil {
		st.Running, st.ExitCode, st.OOMKilled, st.Error = s.Running, s.ExitCode, s.OOMKilled, s.Error
	}
	if hc := ins.Container.HostConfig; hc != nil {
		st.MemoryLimit = hc.Memory
	}
	if ins.Container.Config != nil {
		st.Hostname = ins.Container.Config.Hostname
	}
	return st, nil
}

// logsTailLines is how many of its last lines Logs reads.
const logsTailLines = 2000

// Logs reads the app container's log (stdout and stderr interleaved by
// stream), at most limit bytes of each.
func (j *base) Logs(ctx context.Context, service string, limit int) (string, error) {
	id := j.containerOf(service)
	if id == "" {
		// Not started yet (or no such service): start it, or say why not.
		var err error
		if id, err = j.service(ctx, service); err != nil {
			return "", err
		}
	}
	out, errOut, err := j.logsTail(ctx, id, strconv.Itoa(logsTailLines)) // the end: where a crash is
	if err != nil {
		return "", err
	}
	s := out + errOut
	if len(s) > limit {
		s = s[len(s)-limit:]
	}
	return s, nil
}

// Listeners lists the TCP sockets listening in the app container's network
// namespace, read by a helper container sharing it (so nothing from the
// student's image is needed).
func (j *base) Listeners(ctx context.Context, service string) ([]checks.Listener, error) {
	id := j.containerOf(service)
	if id == "" {
		return nil, errors.New("the app container has not been started")
	}
	hc := j.hostConfig()
	hc.NetworkMode = container.NetworkMode("container:" + id)
	hid, err := j.create(ctx, &container.Config{Image: j.e.helper, Entrypoint: []string{"cat"},
		Cmd: []string{"/proc/net/tcp", "/proc/net/tcp6"}}, hc, "")
	if err != nil {
		return nil, fmt.Errorf("starting the network helper (%s) for %s: %w", j.e.helper, j.name, err)
	}
	defer j.remove(hid)
	out, err := j.runToExit(ctx, hid)
	if err != nil {
		return nil, err
	}
	return parseProcNet(out.Stdout), nil
}

// Endpoint returns host:port where the grader reaches a container port of
// the app, starting the app if needed.
func (j *base) Endpoint(ctx context.Context, service string, port int) (string, error) {
	id, err := j.service(ctx, service)
	if err != nil {
		return "", err
	}
	ins, err := j.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("inspecting the container of %s: %w", j.name, err)
	}
	if ins.Container.NetworkSettings == nil {
		return "", fmt.Errorf("the container of %s has no network settings", j.name)
	}
	if st, err := j.State(ctx, service); err == nil && !st.Running {
		return "", exitedErr(st)
	}
	at, err := j.reachable(ctx, ins.Container, port)
	if err != nil {
		return "", fmt.Errorf("the container of %s: %w", j.name, err)
	}
	return at, nil
}

// service returns the container of a service of the job's stack.
func (j *base) service(ctx context.Context, name string) (string, error) {
	return j.ops.service(ctx, name)
}

// containerOf returns the container of a service that is up, or "".
func (j *base) containerOf(service string) string { return j.ops.containerOf(service) }

// exitedErr says that the app container is no longer running, and why.
func exitedErr(st checks.ContainerState) error {
	if st.OOMKilled {
		return &checks.StartError{Err: fmt.Errorf("it was %s (exit code %d)", checks.OOMMessage(st.MemoryLimit), st.ExitCode)}
	}
	return &checks.StartError{Err: fmt.Errorf("it exited with code %d", st.ExitCode)}
}

// startErr classifies an error creating or starting a container of the
// student's image: the engine refusing the image's command is the
// submission's fault.
func startErr(err error) error {
	msg := err.Error()
	runtime := strings.Contains(msg, "OCI runtime") || strings.Contains(msg, "exec:") || strings.Contains(msg, "No command specified")
	if client.IsErrConnectionFailed(err) || !runtime {
		return err
	}
	for _, s := range []string{"executable file not found", "no such file or directory", "permission denied",
		"exec format error", "No command specified", "is a directory"} {
		if strings.Contains(msg, s) {
			return &checks.StartError{Err: errors.New(cleanEngineMsg(msg))}
		}
	}
	return err
}

// cleanEngineMsg shortens the engine's OCI runtime messages to their cause.
func cleanEngineMsg(msg string) string {
	if i := strings.LastIndex(msg, "exec: "); i >= 0 {
		return strings.TrimSuffix(msg[i:], ": unknown")
	}
	return msg
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// capped keeps the first n bytes written and counts the rest.
type capped struct {
	buf     bytes.Buffer
	n       int
	dropped int64
}

func newCapped(n int) *capped { return &capped{n: n} }

func (c *capped) Write(p []byte) (int, error) {
	room := c.n - c.buf.Len()
	if room >= len(p) {
		c.buf.Write(p)
		return len(p), nil
	}
	if room > 0 {
		c.buf.Write(p[:room])
	}
	c.dropped += int64(len(p) - max(room, 0))
	return len(p), nil
}

func (c *capped) String() string {
	if c.dropped > 0 {
		return c.buf.String() + fmt.Sprintf("\n… (%d more bytes not read)", c.dropped)
	}
	return c.buf.String()
}

var _ io.Writer = (*capped)(nil)
