package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/gradeproject/grade/checks"
)

// Labels grade puts on everything it creates.
const (
	LabelManaged = "grade.managed"
	LabelRun     = "grade.run"
	LabelJob     = "grade.job"
	// LabelOwner is "<hostname>/<pid>" of the grade process, so that
	// `grade clean` can tell runs whose process is gone.
	LabelOwner = "grade.owner"
)

// Engine is a connection to a Docker engine for one grade run.
type Engine struct {
	cli   *client.Client
	runID string
	// local: the engine runs on this machine (its socket, and it names
	// itself as this machine does). Only builds' pids limit (cgroup.go)
	// and the journal of build images depend on it; grading does not.
	local   bool
	helper  string // image of the diagnostic helper
	limits  checks.Limits
	self    string // this machine's hostname, for the sweep
	cgroups *buildCgroups

	mu           sync.Mutex
	intermediate []string // untagged images builds of this run created
	journal      string   // file noting them, for the sweep after a SIGKILL
	journalDir   string   // where the journals of this engine's runs are
	liveOnce     sync.Once
	jmu          sync.Mutex

	hmu       sync.Mutex
	helperRef string        // the helper's image, once made (helperctr.go)
	helperSrc *helperSource // the executable it is made from

	builder   string          // BuilderClassic or BuilderBuildKit (buildkit.go)
	feOnce    sync.Once       // looking for the Dockerfile frontend image
	fe        string          // it, when the engine has it
	bkCache   []string        // BuildKit cache records this run's builds made
	cacheOnce sync.Once       // noting cacheBase
	cacheBase map[string]bool // the cache records before this run's first BuildKit build
	steps     *stepLimiter    // limits BuildKit's steps on a local engine (cgroup.go)
	builds    atomic.Int32    // builds of this run in flight
}

// Option configures an Engine.
type Option func(*Engine)

// WithLimits sets the default sandbox limits of jobs (and the limits of
// grade's own helper containers).
func WithLimits(l checks.Limits) Option { return func(e *Engine) { e.limits = l } }

// WithHelperImage sets the image of the diagnostic helper container (it
// needs cat); default busybox:latest.
func WithHelperImage(ref string) Option { return func(e *Engine) { e.helper = ref } }

// WithRunID sets the run id instead of a random one.
func WithRunID(id string) Option { return func(e *Engine) { e.runID = id } }

var tcOnce sync.Once

// quietTestcontainers turns off the reaper (its image cannot be pulled and
// grade cleans up by label itself) and testcontainers' own logging.
func quietTestcontainers() {
	tcOnce.Do(func() {
		if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
			_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		}
		tclog.SetDefault(tclog.NewNoopLogger())
		// compose-go and the compose engine warn through logrus (e.g. of a
		// ${VAR} a student's file uses): not for grade's terminal.
		logrus.SetOutput(io.Discard)
	})
}

// ErrNoEngine is returned by New when no engine answers.
var ErrNoEngine = errors.New("no Docker engine answers")

// New connects to the engine named by DOCKER_HOST (or the default socket)
// and checks that it answers.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	quietTestcontainers()
	self, _ := os.Hostname()
	e := &Engine{helper: "busybox:latest", limits: checks.DefaultLimits, self: self}
	for _, o := range opts {
		o(e)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("connecting to the Docker engine: %w", err)
	}
	e.cli = cli
	if e.runID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		e.runID = hex.EncodeToString(b)
	}
	ping, err := cli.Ping(ctx, client.PingOptions{})
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("%w at %s: %w", ErrNoEngine, cli.DaemonHost(), err)
	}
	info, infoErr := cli.Info(ctx, client.InfoOptions{})
	osType := "linux"
	if infoErr == nil && info.Info.OSType != "" {
		osType = info.Info.OSType
	}
	if e.builder, err = chooseBuilder(os.Getenv("GRADE_BUILDER"), ping, osType); err != nil {
		_ = cli.Close()
		return nil, err
	}
	if localSocket(cli.DaemonHost()) {
		// A local socket whose engine names itself as this machine does:
		// not Docker Desktop's VM, not a socket mounted into a CI container.
		if infoErr == nil && self != "" && info.Info.Name == self {
			e.local = true
			e.cgroups = detectBuildCgroups("/sys/fs/cgroup", info.Info.CgroupDriver)
			if e.cgroups != nil && e.builder == BuilderBuildKit {
				e.steps = newStepLimiter(e.cgroups)
			}
		}
	}
	if d := journalDir(engineKey(info.Info.ID, cli.DaemonHost())); d != "" {
		e.journalDir = d
		e.journal = filepath.Join(d, journalName(e.runID, owner(e.self+"/"+strconv.Itoa(os.Getpid()))))
	}
	return e, nil
}

// Local reports whether the engine runs on grade's own machine (rather
// than in Docker Desktop's VM, a CI service or elsewhere). Grading is the
// same either way; only `grade doctor` says which.
func (e *Engine) Local() bool { return e.local }

// localSocket reports whether a daemon address is a socket of this machine.
func localSocket(host string) bool {
	return strings.HasPrefix(host, "unix://") || strings.HasPrefix(host, "npipe://")
}

// RunID is the id of this run, in the grade.run label.
func (e *Engine) RunID() string { return e.runID }

// Close closes the connection.
func (e *Engine) Close() error { return e.cli.Close() }

// Version returns the engine's version and API version, e.g. "20.10.24 (API 1.41)".
func (e *Engine) Version(ctx context.Context) (string, error) {
	v, err := e.cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("asking the engine its version: %w", err)
	}
	return fmt.Sprintf("%s (API %s)", v.Version, v.APIVersion), nil
}

// labels returns a fresh label map for an object of job (fresh: the
// libraries we hand it to may modify it).
func (e *Engine) labels(job string) map[string]string {
	l := map[string]string{
		LabelManaged: "true",
		LabelRun:     e.runID,
		LabelOwner:   e.self + "/" + strconv.Itoa(os.Getpid()),
	}
	if job != "" {
		l[LabelJob] = job
	}
	return l
}

// ImagePresent reports whether an image reference is on the engine.
func (e *Engine) ImagePresent(ctx context.Context, ref string) (bool, error) {
	_, err := e.cli.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("inspecting %s: %w", ref, err)
}

// CPUs is the number of CPUs the engine has (0 when it does not say).
func (e *Engine) CPUs(ctx context.Context) int {
	info, err := e.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return 0
	}
	return info.Info.NCPU
}
