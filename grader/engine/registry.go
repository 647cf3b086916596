package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/guard"
)

// A job's registry step (course 8.3): an in-process OCI registry
// (go-containerregistry's pkg/registry, its blobs in a folder of the job's,
// its uploads capped at registryLimit) that the student's script pushes to
// through grade's API guard, and that the registry check reads and pulls
// back from. The engine reaches the registry at 127.0.0.1:PORT on its own
// host (an insecure registry to every daemon by default), where a helper
// container on the host's network listens and relays each connection to
// grade; the same helper serves the guard's socket in a volume that only
// the script's container mounts. So the step works with any engine: no
// folder or port of grade's machine is handed to it. Both are started the
// first time a check needs them and stopped when the job closes, with
// every tag they made on the engine, the helper, the volume and the folder.

// registrySession is one job's registry and guard.
type registrySession struct {
	job        *base
	addr       string // the registry as grade reaches it, 127.0.0.1:PORT of grade's machine
	engineAddr string // the registry as the engine reaches it, 127.0.0.1:PORT of the engine's host
	regSrv     *http.Server
	gate       *gate // the registry's requests being served
	guard      *guard.Guard
	guardSrv   *http.Server
	relay      *helperCtr // the helper on the engine host's network: registry and socket
	apiVolume  string     // the volume holding the guard's socket, mounted into script containers
	dir        string     // the session's folder (sessionDirPrefix…): blobs/ and work/
	work       string     // the workspace of a submission of docker commands (commands.go)
	user       scriptUser
	upstream   *http.Transport

	mu     sync.Mutex
	pulled map[string]bool // references the engine pulled from the registry
}

// sessionSlot holds a job's session; its lock makes starting it atomic.
type sessionSlot struct {
	mu sync.Mutex
	s  *registrySession
}

// sessions holds the jobs' registry sessions (kept out of Job, whose
// fields belong to the build and start side).
var sessions = struct {
	sync.Mutex
	m map[*base]*sessionSlot
}{m: map[*base]*sessionSlot{}}

// guardSocket is the guard's socket's name in its folder; the folder is
// mounted at guardMount in the script's container.
const (
	guardSocket = "docker.sock"
	guardMount  = "/run/grade"
)

// sessionDirPrefix starts the name of a session's folder in the temp dir:
// then "RUN~HOST~PID~" and a random part, so that Sweep can tell a dead
// run's folder from a live one's.
const sessionDirPrefix = "grade-guard-"

// registryMax caps what a job's registry takes in all (below the image
// limit, which is for the image uncompressed and on the engine's disk):
// its uploads pass through grade's memory.
var registryMax int64 = 256 << 20

// registryLimit is what the job's registry takes in all: the image limit,
// at most registryMax.
func registryLimit(image int64) int64 {
	if image <= 0 || image > registryMax {
		return registryMax
	}
	return image
}

// nobody is the uid and gid a script runs as when grade runs as root.
const nobody = 65534

// scriptUser is who a student's script runs as, and who may enter the
// guard's folder.
type scriptUser struct{ uid, gid int }

func (u scriptUser) String() string { return strconv.Itoa(u.uid) + ":" + strconv.Itoa(u.gid) }

// scriptUserFor says who a script runs as when grade runs as euid:egid:
// never root. As root grade hands the guard's folder to nobody
// (65534:65534) and runs the script as nobody; otherwise the script runs as
// grade's own (unprivileged) user, which alone may enter the folder (0700).
// Either way no other user of the machine reaches the guard's socket.
func scriptUserFor(euid, egid int) scriptUser {
	if euid == 0 {
		return scriptUser{uid: nobody, gid: nobody}
	}
	return scriptUser{uid: euid, gid: egid}
}

// The other folders grade makes in the temp dir, named as a session's
// folder is (prefix, run, owner) so that the sweep finds them too.
const (
	composeDirPrefix = "grade-compose-" // the sandboxed compose project, for the compose engine
	doctorDirPrefix  = "grade-doctor-"  // grade doctor's tiny build
)

// tempDirPrefixes are every kind of folder grade makes in the temp dir.
var tempDirPrefixes = []string{sessionDirPrefix, composeDirPrefix, doctorDirPrefix}

// makeTempDir makes a folder of the temp dir (0700, grade's) named after
// prefix, this run and its owner: `grade clean` removes it if the run dies.
func (e *Engine) makeTempDir(prefix string) (string, error) {
	o := strings.ReplaceAll(e.self+"/"+strconv.Itoa(os.Getpid()), "/", "~")
	return os.MkdirTemp("", prefix+e.runID+"~"+o+"~")
}

// makeSessionDir makes a session's folder in the temp dir (0700, grade's)
// with blobs/ in it, the registry's store.
func (e *Engine) makeSessionDir() (dir, blobs string, err error) {
	dir, err = e.makeTempDir(sessionDirPrefix)
	if err != nil {
		return "", "", err
	}
	blobs = filepath.Join(dir, "blobs")
	if err := os.Mkdir(blobs, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return "", "", err
	}
	return dir, blobs, nil
}

// sweepSessionDirs removes the folders of the temp dir (every kind in
// tempDirPrefixes) of runs whose process is gone (see dead): what a grade
// killed mid-job leaves there.
func (e *Engine) sweepSessionDirs() error {
	tmp := os.TempDir()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	var errs []error
	for _, ent := range entries {
		var rest string
		ok := false
		for _, prefix := range tempDirPrefixes {
			if r, found := strings.CutPrefix(ent.Name(), prefix); found {
				rest, ok = r, true
				break
			}
		}
		if !ok || !ent.IsDir() {
			continue
		}
		parts := strings.Split(rest, "~")
		if len(parts) != 4 || parts[0] == e.runID || !e.dead(owner(parts[1]+"/"+parts[2])) || !removable(ent) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(tmp, ent.Name())); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", ent.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// removable reports whether grade may remove a folder of the temp dir: its
// user's own, or any when grade is root (another user's grade's folders are
// left to that user).
func removable(ent os.DirEntry) bool {
	if os.Geteuid() == 0 {
		return true
	}
	info, err := ent.Info()
	if err != nil {
		return false
	}
	return ownedByMe(info)
}

// existingSession returns the job's session, nil when none was started.
func (j *base) existingSession() *registrySession {
	sessions.Lock()
	slot := sessions.m[j]
	sessions.Unlock()
	if slot == nil {
		return nil
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	return slot.s
}

// registrySession returns the job's registry and guard, starting them the
// first time (once, however many checks ask at once): for the registry
// step, or for the submission of docker commands cmds.
func (j *base) registrySession(ctx context.Context, cmds *CommandsOptions) (*registrySession, error) {
	sessions.Lock()
	slot := sessions.m[j]
	if slot == nil {
		slot = &sessionSlot{}
		sessions.m[j] = slot
		// The slot goes with the job, started or not.
		j.onClose(func() error {
			sessions.Lock()
			if sessions.m[j] == slot {
				delete(sessions.m, j)
			}
			sessions.Unlock()
			return nil
		})
	}
	sessions.Unlock()
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.s != nil {
		return slot.s, nil
	}
	s, err := startSession(ctx, j, cmds)
	if err != nil {
		return nil, err
	}
	slot.s = s
	j.onClose(s.close)
	return s, nil
}

// startSession starts a job's registry, its guard and the helper that
// relays both to the engine.
func startSession(ctx context.Context, j *base, cmds *CommandsOptions) (_ *registrySession, err error) {
	s := &registrySession{job: j, pulled: map[string]bool{}, gate: &gate{},
		user: scriptUserFor(os.Geteuid(), os.Getegid()), apiVolume: "grade-api-" + j.slug}
	var blobs string
	s.dir, blobs, err = j.e.makeSessionDir()
	if err != nil {
		return nil, fmt.Errorf("making the registry's folder for %s: %w", j.name, err)
	}
	defer func() {
		if err != nil {
			_ = s.stop()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the registry of %s: %w", j.name, err)
	}
	s.addr = ln.Addr().String()
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)),
		ggcrregistry.WithBlobHandler(ggcrregistry.NewDiskBlobHandler(blobs)))
	h := capUploads(reg, registryLimit(int64(j.limits.Image)))
	s.regSrv = &http.Server{Handler: s.gate.wrap(h), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.regSrv.Serve(ln) }()

	mctx, made := making(ctx)
	defer made()
	if _, err := j.e.cli.VolumeCreate(mctx, client.VolumeCreateOptions{Name: s.apiVolume, Labels: j.e.labels(j.name)}); err != nil {
		return nil, fmt.Errorf("making the guard's volume of %s: %w", j.name, err)
	}
	// On the engine host's network for the registry step (its loopback is
	// where the engine pushes); a script of docker commands needs only the
	// socket: no network.
	relayNet := "host"
	if cmds != nil {
		relayNet = "none"
	}
	s.relay, err = j.e.startHelper(ctx, helperSpec{name: "grade-" + j.slug + "-relay", labels: j.e.labels(j.name), network: relayNet,
		mounts: []mount.Mount{{Type: mount.TypeVolume, Source: s.apiVolume, Target: guardMount}}})
	if err != nil {
		return nil, err
	}
	if cmds == nil {
		// The registry step: the engine's own push reaches the registry
		// on its host's loopback (a script of docker commands pushes
		// nothing: no port is opened for it).
		regLn, err := s.relay.sess.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("starting the registry of %s on the engine's host: %w", j.name, err)
		}
		s.engineAddr = regLn.Addr().String()
		go func() { _ = s.regSrv.Serve(regLn) }()
	}

	dial := j.e.cli.Dialer()
	s.upstream = &http.Transport{
		DialContext:        func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		DisableCompression: true,
		MaxIdleConns:       4,
		IdleConnTimeout:    30 * time.Second,
	}
	s.guard = guard.New(guard.Config{Upstream: s.upstream, Base: "http://docker", Image: j.tag, RegistryAt: s.engineAddr})
	if cmds != nil {
		s.work = filepath.Join(s.dir, "work")
		if err := workspace(j.dir, s.work, int64(j.limits.Context), maxScriptEntries); err != nil {
			var le *checks.LimitError
			var re *checks.RefusedError
			if errors.As(err, &le) {
				return nil, le
			}
			if errors.As(err, &re) {
				return nil, re
			}
			return nil, fmt.Errorf("copying the submission of %s for its script: %w", j.name, err)
		}
		guard.NewCommands(s.guard, guard.CommandsConfig{Engine: j.e.cli, Sandbox: jobSandbox{j}, Prefix: "grade-" + j.slug + "-",
			Work: s.work, Images: slices.DeleteFunc(slices.Clone(cmds.Images), func(i string) bool { return i == ScriptImage })})
	}
	guardLn, err := s.relay.sess.Listen(ctx, "unix", guardMount+"/"+guardSocket)
	if err != nil {
		return nil, fmt.Errorf("starting the API guard of %s: %w", j.name, err)
	}
	s.guardSrv = s.guard.Serve(guardLn)
	return s, nil
}

// stop stops what a session started: its servers, its helper and their
// volume, and its folder.
func (s *registrySession) stop() error {
	if s.guardSrv != nil {
		_ = s.guardSrv.Close()
	}
	if s.upstream != nil {
		s.upstream.CloseIdleConnections()
	}
	if s.regSrv != nil {
		_ = s.regSrv.Close()
		// Close cuts the connections; the handlers still running end at
		// their next read or write. The store goes once they have.
		s.gate.shut(10 * time.Second)
	}
	s.job.e.closeHelper(s.relay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = s.job.e.cli.VolumeRemove(ctx, s.apiVolume, client.VolumeRemoveOptions{Force: true})
	return os.RemoveAll(s.dir)
}

// close stops the guard and the registry, removes the session's folder and
// every tag the step made on the engine (the job's image itself goes with
// the job's other labelled objects).
func (s *registrySession) close() error {
	errs := []error{s.stop()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.mu.Lock()
	refs := s.guard.EngineTags()
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

// gate lets requests through to a handler until it is shut.
type gate struct {
	mu     sync.RWMutex
	closed bool
}

// wrap serves h through the gate; once shut, requests are refused.
func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.RLock()
		defer g.mu.RUnlock()
		if g.closed {
			http.Error(w, "closed", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// shut refuses new requests and waits up to wait for those being served.
func (g *gate) shut(wait time.Duration) {
	done := make(chan struct{})
	go func() {
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
	}
}

// capUploads refuses uploads to the registry past limit bytes in all, with
// a message docker push prints ("denied: grade: …") and does not retry.
// A body cut off past the limit is not answered by h (go-containerregistry
// would keep the part it read) but refused the same way.
func capUploads(h http.Handler, limit int64) http.Handler {
	var used atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || (r.Method != http.MethodPut && r.Method != http.MethodPatch && r.Method != http.MethodPost) {
			h.ServeHTTP(w, r)
			return
		}
		if n := used.Load(); n >= limit || (r.ContentLength > 0 && n+r.ContentLength > limit) {
			refuseUpload(w, limit)
			return
		}
		body := &countingBody{ReadCloser: r.Body, used: &used, limit: limit}
		r.Body = body
		cw := &capWriter{ResponseWriter: w, body: body, limit: limit}
		h.ServeHTTP(cw, r)
		if body.over.Load() && !cw.decided {
			refuseUpload(w, limit)
		}
	})
}

// refuseUpload answers an upload past the registry's limit as a registry
// does (the distribution spec's error JSON); DENIED is an error the engine
// does not retry.
func refuseUpload(w http.ResponseWriter, limit int64) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	msg := fmt.Sprintf("grade: this exercise's registry takes at most %s in all, and this push is more: make the image smaller (a smaller base image, fewer files)",
		checks.Size(limit))
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": msg}}})
}

// capWriter passes the registry's answer on unless the request's body went
// past the limit: then the answer is the refusal.
type capWriter struct {
	http.ResponseWriter
	body    *countingBody
	limit   int64
	decided bool // the answer has begun
	refused bool
}

func (c *capWriter) WriteHeader(code int) {
	if c.decided {
		return
	}
	c.decided = true
	if c.body.over.Load() {
		c.refused = true
		refuseUpload(c.ResponseWriter, c.limit)
		return
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *capWriter) Write(p []byte) (int, error) {
	if !c.decided {
		c.WriteHeader(http.StatusOK)
	}
	if c.refused {
		return len(p), nil
	}
	return c.ResponseWriter.Write(p)
}

// countingBody counts what a request body delivers and fails past the limit.
type countingBody struct {
	io.ReadCloser
	used  *atomic.Int64
	limit int64
	over  atomic.Bool
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if c.used.Add(int64(n)) > c.limit {
		c.over.Store(true)
		return n, fmt.Errorf("the registry takes at most %s", checks.Size(c.limit))
	}
	return n, err
}

// studentRegistry is the registry address the script was told, for messages.
func (s *registrySession) studentRegistry() string {
	_, r := s.guard.Names()
	if r == "" {
		return s.engineAddr
	}
	return r
}
