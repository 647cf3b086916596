package checks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
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
	// Steps are the rebuilt image's layers, oldest first (Rebuild only).
	Steps []BuildStep
	// TimedOut is true when the build was stopped at its time limit;
	// Running is then the instruction it was running (Line is its line), and
	// Others how many other builds grade was running on the engine.
	TimedOut bool
	Running  string
	Others   int
}

// BuildStep is one entry of a rebuilt image's history: the instruction that
// made it and whether it came from the build cache (the first build's image
// has the very same layer). Read from the images' histories, never from the
// build log, which the student's RUN output can imitate.
type BuildStep struct {
	// Instruction is as the engine records it, e.g. "RUN pip install -r
	// requirements.txt" or "COPY … /app/" (the builder does not keep
	// COPY's sources).
	Instruction string
	Cached      bool
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
// With limit 0 it only says whether the path is there (and what it is),
// reading no content.
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
	// Volume, when set, mounts a fresh named volume holding these files.
	Volume *RunVolume
}

// RunVolume is a named volume grade mounts into a run (docker run -v
// name:/path), with input files in it before the run; Collect names files
// read back from it after the run (into Output.Files).
type RunVolume struct {
	Path    string
	Files   map[string]string
	Collect []string
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
	// Files holds the files read back from the run's volume (capped at
	// 1 MiB each); a file that was not there is absent.
	Files map[string]string
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
// port of a service, starting the service if it is not running yet. The
// address is reached through the target's Dialer when it has one.
type PortPublisher interface {
	Endpoint(ctx context.Context, service string, port int) (hostPort string, err error)
}

// Dialer opens connections to the addresses Endpoint and HostEndpoint give:
// grade's engine reaches the job's containers from a helper on the job's
// networks, on every kind of engine.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
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

// SourceReader reads a file of the submission itself, as the student wrote
// it (not from the image), e.g. the Dockerfile. path is slash-separated and
// relative to the submission; it must stay inside it.
type SourceReader interface {
	ReadSource(path string, limit int64) ([]byte, error)
}

// Layer is one entry of the image's build history (docker history).
type Layer struct {
	// CreatedBy is the instruction that made it, e.g.
	// "/bin/sh -c #(nop)  ENV TOKEN=abc" or "/bin/sh -c pip install …".
	CreatedBy string
}

// HistoryReader reads the built image's history, oldest first.
type HistoryReader interface {
	History(ctx context.Context) ([]Layer, error)
}

// ImageWalker visits the regular files of every layer of the built image
// (as docker save gives them), not only of its final filesystem: a file
// that a later step deletes is still in the layer that added it, where
// anyone who pulls the image can read it. Layers come in no set order and
// a path that several layers hold is visited once for each. Whiteouts
// (the .wh.* entries that mark deletions) are not files. For each file,
// read gets its header (Path, Mode, Size; no Content) and says how many
// bytes of its content to read (0: none), so that a walk spends its
// budget only on the files a check looks into; fn then gets the file with
// that content (Truncated when there was more). fn returning an error
// stops the walk with it; a walk that reaches its cap returns ErrWalkLimit.
type ImageWalker interface {
	WalkImage(ctx context.Context, read func(File) int64, fn func(File) error) error
}

// Planter is implemented by checks that put files into the build context
// before the build, as if the student had left them in the submission
// folder (the .dockerignore applies to them): path → content.
type Planter interface {
	Plants() map[string]string
}

// Rebuilder builds the image again, from the same context with bytes
// appended to the given files (path relative to the build context → bytes),
// and reports that build, its log included. The first build's image and
// verdict are kept.
type Rebuilder interface {
	Rebuild(ctx context.Context, change map[string][]byte) (BuildInfo, error)
}

// DownInfo is what `docker compose down` (volumes kept) left of a stack.
type DownInfo struct {
	// Containers lists the services whose containers are still there.
	Containers []string
	// Volumes lists the project's volumes still there, by their name in
	// the compose file.
	Volumes  []string
	Duration time.Duration
}

// StackCycler takes the job's compose stack down and brings it up again,
// as `docker compose down` and `docker compose up` do.
type StackCycler interface {
	Down(ctx context.Context) (DownInfo, error)
	UpAgain(ctx context.Context) (StackInfo, error)
}

// Mount is one mount of a container.
type Mount struct {
	// Type is "volume", "bind" or "tmpfs".
	Type        string
	Destination string
	// Name is a volume's name (as the compose file names it, for a
	// stack's volume); Anonymous is true for a volume nobody named (an
	// image's VOLUME, or "- /data" in a compose file).
	Name      string
	Anonymous bool
	// Source is a bind mount's source, relative to the submission when it
	// is inside it.
	Source string
}

// MountInspector lists the mounts of a service's container.
type MountInspector interface {
	Mounts(ctx context.Context, service string) ([]Mount, error)
}

// --- The registry step (course 8.3): a student's script of docker
// commands, run against grade's API guard, and the job's own registry. ---

// ScriptSpec says how to run one of the submission's shell scripts with the
// docker CLI, whose Docker API is grade's guard.
type ScriptSpec struct {
	// File is the script's path inside the submission (slash-separated).
	File string
	// ImageName is the name under which the script finds the image grade
	// built from the submission, e.g. "my-app:1.0".
	ImageName string
	// Registry is the registry address the script pushes to, e.g.
	// "localhost:5000"; grade serves the job's own registry under it.
	Registry string
}

// Refusal is one docker call of a script that grade's guard refused.
type Refusal struct {
	// Command is the call as the student would recognise it, e.g.
	// "docker push my-app:1.0", or the API call when the command is not
	// known ("POST /containers/create").
	Command string
	// Why says why it was refused and what the exercise wants instead.
	Why string
}

// ScriptRun is what running a script produced: its output and exit code,
// and the calls the guard refused.
type ScriptRun struct {
	Output
	Refused []Refusal
}

// ScriptRunner runs a shell script of the submission (sh FILE) in a
// container with the docker CLI, no network and the submission's files in
// its working directory; its Docker API is a guard that allows only what
// the registry step needs.
type ScriptRunner interface {
	RunScript(ctx context.Context, spec ScriptSpec) (ScriptRun, error)
}

// Manifest is what a registry says of an image it holds.
type Manifest struct {
	Digest    string
	MediaType string
	// Size is the image's size in the registry: its config and layers.
	Size   int64
	Layers int
}

// RegistryReader reads the job's registry (the one ScriptRunner's scripts
// push to) and runs what it holds. repo is a repository path in it
// ("my-app"), tag a tag ("1.0").
type RegistryReader interface {
	// RegistryTags lists what the registry holds, repository → tags;
	// empty when nothing was pushed.
	RegistryTags(ctx context.Context) (map[string][]string, error)
	// RegistryManifest reads an image's manifest from the registry.
	RegistryManifest(ctx context.Context, repo, tag string) (Manifest, error)
	// RunFromRegistry has the engine pull the image from the registry and
	// runs a fresh container of it to completion, as Runner does.
	RunFromRegistry(ctx context.Context, repo, tag string, spec RunSpec) (Output, error)
}

// --- Image scanning (course 4.4, 8.2): the image's files as an archive. ---

// ErrWalkLimit is returned (wrapped) by ImageWalker when it stopped at its
// cap on files or bytes before the end of the image: the files it visited
// were seen, the rest were not. A check must not pass on such a partial
// walk.
var ErrWalkLimit = errors.New("the image has more files than grade reads")

// ImageSaver writes the built image to w as docker save does (a tar
// archive of its layers and config), for scanners that read one.
type ImageSaver interface {
	SaveImage(ctx context.Context, w io.Writer) error
}

// --- Command scripts (course 3, 5, 6): what a student's docker commands
// made, by the student's own names. In a scenario whose stack is commands,
// the `script` check runs the student's script against grade's API guard,
// which gives every container, volume and network a per-job name and keeps
// the student's: the capabilities below take and give the student's names
// (my-web-server, my-app-net, notes-data), never the engine's. The
// container capabilities above (Execer, ContainerInspector, MountInspector)
// take a container's name as the student gave it as their service. ---

// PortBinding is a port published as the student asked (-p HOST:CONTAINER).
type PortBinding struct {
	HostPort      int
	ContainerPort int
	// Proto is "tcp" or "udp".
	Proto string
}

// ContainerInfo is what the engine says of a container the student's
// commands made.
type ContainerInfo struct {
	Name string
	// Image is the image as the student's command named it (nginx,
	// nginx:latest).
	Image string
	// Status is the engine's: "created", "running", "exited", "restarting",
	// "paused".
	Status   string
	Running  bool
	ExitCode int
	// RestartPolicy is "no", "always", "unless-stopped" or "on-failure".
	RestartPolicy string
	// AutoRemove is true for a container run with --rm.
	AutoRemove bool
	// Ports are the host ports the student published, as asked.
	Ports []PortBinding
	// Mounts: a volume's Name is the student's name for it; a bind mount's
	// Source is relative to the submission ("site").
	Mounts []Mount
	// Networks are the student's names of the networks the container is
	// on; "bridge" is Docker's default network (no --network).
	Networks []string
}

// VolumeInfo is a named volume the student's commands made.
type VolumeInfo struct {
	Name   string
	Driver string
	// Containers are the containers mounting it (student names), with the
	// path each mounts it at: name → path.
	Containers map[string]string
}

// NetworkInfo is a network the student's commands made ("bridge": Docker's
// default network, which grade gives each job its own copy of).
type NetworkInfo struct {
	Name   string
	Driver string
	// Containers are the containers on it (student names), with the
	// aliases each answers to there beyond its name.
	Containers map[string][]string
}

// ObjectInspector reads what the student's commands made. Each method
// returns an error wrapping ErrNotExist when the student made no object of
// that name.
type ObjectInspector interface {
	Container(ctx context.Context, name string) (ContainerInfo, error)
	Volume(ctx context.Context, name string) (VolumeInfo, error)
	Network(ctx context.Context, name string) (NetworkInfo, error)
}

// VolumeReader reads a file from a named volume the student's commands
// made (through a helper container that mounts it read-only); limit as for
// FileReader. ErrNotExist when the volume or the file is not there.
type VolumeReader interface {
	ReadVolume(ctx context.Context, volume, path string, limit int64) (File, error)
}

// NotPublishedError is returned by HostPorts.HostEndpoint when the
// container publishes nothing on the host port asked for; Ports are what it
// publishes.
type NotPublishedError struct {
	Container string
	HostPort  int
	Ports     []PortBinding
}

func (e *NotPublishedError) Error() string {
	if len(e.Ports) == 0 {
		return fmt.Sprintf("%s publishes no ports (no -p)", e.Container)
	}
	var ps []string
	for _, p := range e.Ports {
		ps = append(ps, fmt.Sprintf("-p %d:%d", p.HostPort, p.ContainerPort))
	}
	return fmt.Sprintf("%s publishes nothing on host port %d (it was run with %s)", e.Container, e.HostPort, strings.Join(ps, " "))
}

// HostPorts reaches what a container publishes on a host port, as the
// student would with curl localhost:HOSTPORT. grade keeps parallel jobs
// apart by never giving the student's host port to the engine: it returns
// the address at which grade reaches the container port behind it.
type HostPorts interface {
	HostEndpoint(ctx context.Context, container string, hostPort int) (string, error)
}

// Lifecycle does to a student's container what docker stop, docker start,
// docker rm -f, and docker rm -f followed by the same docker run (same
// name, image, command, mounts, networks and ports) do.
type Lifecycle interface {
	Stop(ctx context.Context, container string) error
	Start(ctx context.Context, container string) error
	Remove(ctx context.Context, container string) error
	Recreate(ctx context.Context, container string) error
}

// Resolution is what a lookup of a name from inside a container found.
type Resolution struct {
	// Addrs are the addresses the name resolved to; empty when it did not.
	Addrs []string
	// Reached is true when a TCP connection to the port asked for was
	// made (always false when no port was asked for).
	Reached bool
	// Output is the lookup tool's own words, for feedback.
	Output string
}

// NameResolver looks a name up from inside a container's network
// namespace, as its processes would, and with port > 0 connects to it
// there (through a helper container sharing the namespace: nothing from
// the student's image is needed).
type NameResolver interface {
	ResolveFrom(ctx context.Context, container, name string, port int) (Resolution, error)
}

// WorkspaceEditor writes a file of the submission's copy that the
// student's bind mounts (-v "$(pwd)/site":/usr/share/nginx/html) come
// from, as a student editing a file on the host would. path is
// slash-separated, inside the submission.
type WorkspaceEditor interface {
	EditWorkspace(ctx context.Context, path string, content []byte) error
}

// NotMadeError is returned by ObjectInspector (and the container
// capabilities in a commands stack) when the student's commands made no
// object of that name; it is ErrNotExist. Refused counts the script's calls
// grade refused: what they asked for was never made.
type NotMadeError struct {
	// What is "container", "volume" or "network".
	What, Name string
	Refused    int
	// Failed is the engine's (or grade's) answer to the script's docker
	// run --name NAME when that made nothing, e.g. "network my-net not
	// found"; "" when the script never tried.
	Failed string
}

func (e *NotMadeError) Error() string {
	return fmt.Sprintf("your commands made no %s named %q", e.What, e.Name)
}

// Is makes a *NotMadeError ErrNotExist.
func (e *NotMadeError) Is(target error) bool { return target == ErrNotExist }
