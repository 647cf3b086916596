package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// A job's registry step (course 8.3): an in-process OCI registry on
// loopback (go-containerregistry's pkg/registry, in memory) that the
// student's script pushes to through grade's API guard, and that the
// registry check reads and pulls back from. Both are started the first time
// a check needs them and stopped when the job closes, with every tag they
// made on the engine. The engine reaches the registry at 127.0.0.1:PORT,
// which its daemon treats as an insecure registry by default: that works
// only when the engine runs on grade's machine, in its network namespace.

// registrySession is one job's registry and guard.
type registrySession struct {
	job      *Job
	addr     string // the registry, 127.0.0.1:PORT
	regSrv   *http.Server
	guard    *guard
	guardSrv *http.Server
	dir      string // the guard's socket folder, bind-mounted into script containers
	upstream *http.Transport

	mu     sync.Mutex
	pulled map[string]bool // references the engine pulled from the registry
}

// sessions holds the jobs' registry sessions (kept out of Job, whose
// fields belong to the build and start side).
var sessions = struct {
	sync.Mutex
	m map[*Job]*registrySession
}{m: map[*Job]*registrySession{}}

// guardSocket is the guard's socket's name in its folder; the folder is
// mounted at guardMount in the script's container.
const (
	guardSocket = "docker.sock"
	guardMount  = "/run/grade"
)

// existingSession returns the job's session, nil when none was started.
func (j *Job) existingSession() *registrySession {
	sessions.Lock()
	defer sessions.Unlock()
	return sessions.m[j]
}

// registrySession returns the job's registry and guard, starting them the
// first time. With an engine that is not on this machine it returns a
// *checks.UnavailableError.
func (j *Job) registrySession(ctx context.Context) (*registrySession, error) {
	if s := j.existingSession(); s != nil {
		return s, nil
	}
	if err := j.e.localEngine(ctx); err != nil {
		return nil, err
	}
	s, err := startSession(j)
	if err != nil {
		return nil, err
	}
	sessions.Lock()
	sessions.m[j] = s
	sessions.Unlock()
	j.onClose(s.close)
	return s, nil
}

// localEngine returns nil when the engine runs on this machine, in its
// network namespace and mount namespace (it reaches grade's loopback
// registry and the guard's socket folder); else why not, as a
// *checks.UnavailableError.
func (e *Engine) localEngine(ctx context.Context) error {
	if e.direct {
		return nil
	}
	host := e.cli.DaemonHost()
	why := func(s string) error {
		return &checks.UnavailableError{Reason: "the registry step needs the Docker engine on grade's own machine (grade serves the registry on loopback and the docker CLI's socket in a local folder); " + s}
	}
	if e.host != "127.0.0.1" {
		return why(fmt.Sprintf("this engine is at %s", host))
	}
	info, err := e.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return fmt.Errorf("asking the engine who it is: %w", err)
	}
	if e.self == "" || info.Info.Name != e.self {
		return why(fmt.Sprintf("the engine at %s names itself %q, not %q as this machine does (Docker Desktop's VM, or an engine's socket mounted into a container)",
			host, info.Info.Name, e.self))
	}
	return nil
}

// startSession starts a job's registry on loopback and its guard.
func startSession(j *Job) (*registrySession, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the registry of %s: %w", j.name, err)
	}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	s := &registrySession{job: j, addr: ln.Addr().String(), pulled: map[string]bool{}}
	s.regSrv = &http.Server{Handler: capUploads(reg, j.limits.ImageSize), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.regSrv.Serve(ln) }()

	dial := j.e.cli.Dialer()
	s.upstream = &http.Transport{
		DialContext:        func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		DisableCompression: true,
		MaxIdleConns:       4,
		IdleConnTimeout:    30 * time.Second,
	}
	s.guard = newGuard(guardConfig{upstream: s.upstream, base: "http://docker", image: j.tag, registryAt: s.addr})
	s.dir, s.guardSrv, err = serveGuard(s.guard)
	if err != nil {
		_ = s.regSrv.Close()
		return nil, fmt.Errorf("starting the API guard of %s: %w", j.name, err)
	}
	return s, nil
}

// close stops the guard and the registry, removes the guard's folder and
// every tag the step made on the engine (the job's image itself goes with
// the job's other labelled objects).
func (s *registrySession) close() error {
	var errs []error
	_ = s.guardSrv.Close()
	s.upstream.CloseIdleConnections()
	errs = append(errs, os.RemoveAll(s.dir))
	_ = s.regSrv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.mu.Lock()
	refs := s.guard.engineTags()
	for r := range s.pulled {
		refs = append(refs, r)
	}
	s.mu.Unlock()
	sort.Strings(refs)
	for _, r := range refs {
		if _, err := s.job.e.cli.ImageRemove(ctx, r, client.ImageRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("removing %s: %w", r, err))
		}
	}
	sessions.Lock()
	delete(sessions.m, s.job)
	sessions.Unlock()
	return errors.Join(errs...)
}

// capUploads refuses uploads to the registry past limit bytes in all: the
// registry keeps what is pushed in grade's memory.
func capUploads(h http.Handler, limit int64) http.Handler {
	var used atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && (r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost) {
			if r.ContentLength > 0 && used.Load()+r.ContentLength > limit {
				http.Error(w, fmt.Sprintf(`{"errors":[{"code":"SIZE_INVALID","message":"grade: this exercise's registry holds at most %s"}]}`,
					checks.Size(limit)), http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = &countingBody{ReadCloser: r.Body, used: &used, limit: limit}
		}
		h.ServeHTTP(w, r)
	})
}

// countingBody counts what a request body delivers and fails past the limit.
type countingBody struct {
	io.ReadCloser
	used  *atomic.Int64
	limit int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if c.used.Add(int64(n)) > c.limit {
		return n, fmt.Errorf("the registry holds at most %s", checks.Size(c.limit))
	}
	return n, err
}

// studentRegistry is the registry address the script was told, for messages.
func (s *registrySession) studentRegistry() string {
	_, r := s.guard.names()
	if r == "" {
		return s.addr
	}
	return r
}

// RegistryTags lists what the job's registry holds, repository → tags.
func (j *Job) RegistryTags(ctx context.Context) (map[string][]string, error) {
	if err := j.e.localEngine(ctx); err != nil {
		return nil, err
	}
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
func (j *Job) RegistryManifest(ctx context.Context, repo, tag string) (checks.Manifest, error) {
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
func (j *Job) RunFromRegistry(ctx context.Context, repo, tag string, spec checks.RunSpec) (checks.Output, error) {
	s := j.existingSession()
	if s == nil {
		return checks.Output{}, errors.New("the registry has not been started")
	}
	ref := s.addr + "/" + repo + ":" + tag
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
