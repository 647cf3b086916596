package checks

import (
	"context"
	"errors"
	"io/fs"
	"time"
)

// Target is what a check runs against: one job's submission on the engine.
// Its capabilities are the interfaces below; a check asserts the one it needs
// and reports an error outcome when the target lacks it.
type Target interface {
	// Job names the target for messages, e.g. "alice/ch04-first-dockerfile".
	Job() string
}

// BuildInfo is what building the submission's image produced.
type BuildInfo struct {
	// OK is true when the image was built.
	OK bool
	// Dockerfile is the Dockerfile's path inside the submission.
	Dockerfile string
	// Error is the engine's own words when the build failed.
	Error string
	// Line is the Dockerfile line the engine blamed, 0 when it named none.
	Line int
	// Excerpt is the Dockerfile around Line, numbered, when Line is set.
	Excerpt string
	// Log is the build log as the student would see it (capped).
	Log      string
	ImageID  string
	Size     int64
	Duration time.Duration
}

// BuildReporter reports how the build went.
type BuildReporter interface {
	BuildInfo() BuildInfo
}

// ImageConfig is the metadata of the built image.
type ImageConfig struct {
	User         string
	WorkingDir   string
	ExposedPorts []string // "3000/tcp"
	Env          []string // "KEY=value"
	Cmd          []string
	Entrypoint   []string
	Labels       map[string]string
	Size         int64
	Layers       int
}

// ImageInspector reads the built image's metadata.
type ImageInspector interface {
	InspectImage(ctx context.Context) (ImageConfig, error)
}

// File is a path read from the image.
type File struct {
	Path       string
	Mode       fs.FileMode
	Size       int64
	LinkTarget string
	// Content holds at most the limit asked for; Truncated says there was more.
	Content   []byte
	Truncated bool
}

// ErrNotExist is returned by FileReader when the path is not in the image.
var ErrNotExist = errors.New("no such file or directory")

// FileReader reads a path from the built image without starting the app.
type FileReader interface {
	ReadFile(ctx context.Context, path string, limit int64) (File, error)
}

// RunSpec says how to run a fresh container of the image.
type RunSpec struct {
	// Args replace the image's CMD when non-nil.
	Args []string
	// Entrypoint replaces the image's ENTRYPOINT when non-nil (docker run
	// --entrypoint); an empty non-nil slice clears it.
	Entrypoint []string
	Env        []string
}

// Output is what a process printed and how it ended.
type Output struct {
	ExitCode  int
	Stdout    string
	Stderr    string
	TimedOut  bool
	OOMKilled bool
	// MemoryLimit is the container's memory limit in bytes (0: unknown).
	MemoryLimit int64
}

// Runner runs a fresh container of the image to completion (docker run).
type Runner interface {
	RunImage(ctx context.Context, spec RunSpec) (Output, error)
}

// ExecSpec is a command to run in a running container (docker exec).
type ExecSpec struct {
	Cmd  []string
	User string
	Env  []string
}

// Execer runs a command in a service's running container.
type Execer interface {
	Exec(ctx context.Context, service string, spec ExecSpec) (Output, error)
}

// PortPublisher gives the address at which the grader reaches a container
// port of a service, starting the service if it is not running yet.
type PortPublisher interface {
	Endpoint(ctx context.Context, service string, port int) (hostPort string, err error)
}

// ContainerState is what the engine says of a service's container.
type ContainerState struct {
	Running   bool
	ExitCode  int
	OOMKilled bool
	// MemoryLimit is the container's memory limit in bytes (0: unknown).
	MemoryLimit int64
	Hostname    string
	Error       string
}

// ContainerInspector reads a service container's state and logs.
type ContainerInspector interface {
	State(ctx context.Context, service string) (ContainerState, error)
	Logs(ctx context.Context, service string, limit int) (string, error)
}

// Listener is a socket listening inside a container.
type Listener struct {
	Proto string // tcp or tcp6
	Addr  string // the local address, e.g. 127.0.0.1 or ::
	Port  int
}

// ListenerProber tells what listens inside a service's container, seen from
// its own network namespace, without tools from the student's image.
type ListenerProber interface {
	Listeners(ctx context.Context, service string) ([]Listener, error)
}

// Memo lets the checks of one job share what they found, e.g. that a port
// does not answer, so that a second check on a dead port does not wait for
// its deadline again.
type Memo interface {
	Recall(key string) (any, bool)
	Remember(key string, v any)
}

// OOMMessage says that a container was killed for memory, naming the limit
// when it is known: "killed: out of memory at 512 MiB".
func OOMMessage(limit int64) string {
	if limit <= 0 {
		return "killed: out of memory"
	}
	return "killed: out of memory at " + Size(limit).String()
}

// StackInfo is how a compose stack came up. grade vets the compose file and
// brings the stack up before any check runs.
type StackInfo struct {
	// OK is true when every service's container is up.
	OK bool
	// File is the compose file's path inside the submission.
	File string
	// Refused lists why the compose file was refused before anything
	// started (a sandbox rule it breaks, or why it does not parse).
	Refused []string
	// Error is the engine's or compose's words when the stack did not come up.
	Error string
	// Log is the build logs of the services grade built, and what the
	// services printed when the stack failed (capped).
	Log      string
	Services []ServiceInfo
	Duration time.Duration
}

// ServiceInfo is one service of a stack.
type ServiceInfo struct {
	Name string
	// State is the container's state ("running", "exited", …); Health its
	// health check status, "" without one.
	State    string
	Health   string
	ExitCode int
	// Ports are the port mappings the compose file declares, normalised
	// to "HOST:CONTAINER" (or "CONTAINER" when no host port is given).
	Ports []string
}

// StackReporter reports how the compose stack came up.
type StackReporter interface {
	StackInfo() StackInfo
}
