package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/grader/helper"
)

// The helper (package helper) is grade's own executable run in a container
// on the engine: grade reaches the job's containers, and lets the job's
// script reach grade, only through it, over the Docker API. Its image is
// made from the executable alone (docker import, no registry, no build),
// named after the executable's digest.
const (
	helperRepo = "grade-helper"
	// helperBin is where the executable is in the helper's image.
	helperBin = "/grade"
	// LabelHelper marks helper containers and images.
	LabelHelper = "grade.helper"
)

// helperImage makes sure the helper's image is on the engine and returns
// its reference. The image is made once per run (and kept for the run's
// other jobs); Close removes it when no other run uses it.
func (e *Engine) helperImage(ctx context.Context) (string, error) {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	if e.helperSrc == nil {
		arch, err := e.arch(ctx)
		if err != nil {
			return "", err
		}
		src, err := findHelper(arch, helperFS())
		if err != nil {
			return "", err
		}
		e.helperSrc = src
	}
	ref := helperRepo + ":" + e.helperSrc.digest[:12]
	// Looked for every time: another run's end (or grade clean) may have
	// removed it while no helper of this run was using it.
	if ok, err := e.ImagePresent(ctx, ref); err != nil {
		return "", err
	} else if !ok {
		if err := e.importHelper(ctx, ref, e.helperSrc); err != nil {
			return "", err
		}
	}
	e.helperRef = ref
	return ref, nil
}

// helperSource is the executable the helper's image is made from.
type helperSource struct {
	name   string // for messages
	open   func() (io.ReadCloser, error)
	size   int64
	digest string // hex sha256
}

// findHelper finds the helper for an engine of arch: grade's own
// executable when it is a static Linux one for arch, else the build's
// embedded one for arch (embedded: nil when it has none).
func findHelper(arch string, embedded fs.FS) (*helperSource, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding grade's own executable for its helper: %w", err)
	}
	why := staticLinux(self, arch)
	if why == nil {
		return sourceOf(self, func() (io.ReadCloser, error) { return os.Open(self) })
	}
	name := "helperbin/grade-linux-" + arch
	if embedded != nil {
		if _, err := fs.Stat(embedded, name); err == nil {
			return sourceOf("the embedded "+path.Base(name), func() (io.ReadCloser, error) { return embedded.Open(name) })
		}
	}
	return nil, fmt.Errorf("grade runs a helper container on the engine from its own executable, and %s %w; "+
		"this build embeds no Linux %s helper either (make build-embed makes one that does)", self, why, arch)
}

// sourceOf reads a helper's size and digest.
func sourceOf(name string, open func() (io.ReadCloser, error)) (*helperSource, error) {
	f, err := open()
	if err != nil {
		return nil, fmt.Errorf("reading %s for grade's helper: %w", name, err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("reading %s for grade's helper: %w", name, err)
	}
	return &helperSource{name: name, open: open, size: n, digest: hex.EncodeToString(h.Sum(nil))}, nil
}

// importHelper makes the helper's image from src, streamed.
func (e *Engine) importHelper(ctx context.Context, ref string, src *helperSource) error {
	f, err := src.open()
	if err != nil {
		return fmt.Errorf("reading %s for grade's helper: %w", src.name, err)
	}
	defer func() { _ = f.Close() }()
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := func() error {
			for _, d := range []string{"tmp/", "run/"} {
				if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o1777, ModTime: time.Unix(0, 0)}); err != nil {
					return err
				}
			}
			if err := tw.WriteHeader(&tar.Header{Name: helperBin[1:], Typeflag: tar.TypeReg, Mode: 0o755, Size: src.size, ModTime: time.Unix(0, 0)}); err != nil {
				return err
			}
			if _, err := io.CopyN(tw, f, src.size); err != nil {
				return err
			}
			return tw.Close()
		}()
		_ = pw.CloseWithError(err)
	}()
	res, err := e.cli.ImageImport(ctx, client.ImageImportSource{Source: pr, SourceName: "-"}, ref, client.ImageImportOptions{
		Message: "grade's helper",
		Changes: []string{`ENTRYPOINT ["` + helperBin + `"]`, "ENV " + helper.Env + "=" + helper.ModeIdle, "LABEL " + LabelHelper + "=true"},
	})
	_ = pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return fmt.Errorf("making grade's helper image on the engine: %w", err)
	}
	defer func() { _ = res.Close() }()
	out, err := io.ReadAll(io.LimitReader(res, 1<<20))
	if err != nil {
		return fmt.Errorf("making grade's helper image on the engine: %w", err)
	}
	if i := bytes.Index(out, []byte(`"error"`)); i >= 0 {
		return fmt.Errorf("making grade's helper image on the engine: %s", bytes.TrimSpace(out[i:]))
	}
	return nil
}

// removeHelperImage removes the run's helper image unless a container
// (another run's helper) still uses it.
func (e *Engine) removeHelperImage(ctx context.Context) {
	e.hmu.Lock()
	ref := e.helperRef
	e.helperRef = ""
	e.hmu.Unlock()
	if ref != "" {
		_, _ = e.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
	}
}

// sweepHelperImages removes every helper image no container uses (a run
// killed before its end leaves its own) and returns how many went.
func (e *Engine) sweepHelperImages(ctx context.Context) int {
	is, err := e.cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("label", LabelHelper+"=true")})
	if err != nil {
		return 0
	}
	n := 0
	for _, i := range is.Items {
		if _, err := e.cli.ImageRemove(ctx, i.ID, client.ImageRemoveOptions{}); err == nil {
			n++
		}
	}
	return n
}

// arch is the engine's architecture as Go names it ("amd64", "arm64").
func (e *Engine) arch(ctx context.Context) (string, error) {
	v, err := e.cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("asking the engine its architecture: %w", err)
	}
	if v.Os != "" && v.Os != "linux" {
		return "", fmt.Errorf("the engine runs %s containers; grade grades on a Linux engine", v.Os)
	}
	return v.Arch, nil
}

// staticLinux returns nil when the file at p is a statically linked Linux
// executable for arch, else says what it is instead.
func staticLinux(p, arch string) error {
	f, err := elf.Open(p)
	if err != nil {
		return errors.New("is not a Linux executable")
	}
	defer func() { _ = f.Close() }()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if want == 0 || f.Machine != want {
		return fmt.Errorf("is built for %s, and the engine is %s", f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("is dynamically linked, and the helper's image holds nothing else: build grade with CGO_ENABLED=0 (make build does)")
		}
	}
	return nil
}

// helperCtr is a helper container and grade's session with it.
type helperCtr struct {
	id   string
	sess *helper.Session
	att  client.HijackedResponse

	mu       sync.Mutex
	networks map[string]bool // the networks it is on
}

// helperSpec says where a helper runs.
type helperSpec struct {
	name    string
	labels  map[string]string
	network string // its first network: a job's, or "host"
	mounts  []mount.Mount
}

// startHelper starts a helper container and a session with it. The
// helper gets no capabilities, little memory and a read-only root; the
// caller removes it (closeHelper).
func (e *Engine) startHelper(ctx context.Context, spec helperSpec) (*helperCtr, error) {
	ref, err := e.helperImage(ctx)
	if err != nil {
		return nil, err
	}
	spec.labels[LabelHelper] = "true"
	pids := int64(64)
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(spec.network),
		Resources:   container.Resources{Memory: 64 << 20, MemorySwap: 64 << 20, NanoCPUs: 1e9, PidsLimit: &pids},
		SecurityOpt: []string{"no-new-privileges"},
		CapDrop:     []string{"ALL"},
		// Root without capabilities: it may make sockets in the
		// volumes it is given, and nothing else.
		ReadonlyRootfs: true,
		Mounts:         spec.mounts,
		LogConfig:      container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "64k", "max-file": "1"}},
	}
	mctx, made := making(ctx)
	defer made()
	res, err := e.cli.ContainerCreate(mctx, client.ContainerCreateOptions{
		Name:       spec.name,
		Config:     &container.Config{Image: ref, Labels: spec.labels, User: "0:0"},
		HostConfig: hc,
	})
	if err != nil {
		return nil, fmt.Errorf("creating grade's helper container: %w", err)
	}
	h := &helperCtr{id: res.ID, networks: map[string]bool{spec.network: true}}
	fail := func(err error) (*helperCtr, error) {
		e.closeHelper(h)
		return nil, err
	}
	if _, err := e.cli.ContainerStart(ctx, h.id, client.ContainerStartOptions{}); err != nil {
		return fail(fmt.Errorf("starting grade's helper container: %w", err))
	}
	ex, err := e.cli.ExecCreate(ctx, h.id, client.ExecCreateOptions{
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Env: []string{helper.Env + "=" + helper.ModeSession}, Cmd: []string{helperBin},
	})
	if err != nil {
		return fail(fmt.Errorf("starting grade's helper session: %w", err))
	}
	att, err := e.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return fail(fmt.Errorf("attaching to grade's helper session: %w", err))
	}
	h.att = att.HijackedResponse
	stream := newExecStream(att.HijackedResponse)
	h.sess, err = helper.Open(ctx, stream)
	if err != nil {
		return fail(fmt.Errorf("grade's helper session: %w%s", err, stream.stderrTail()))
	}
	return h, nil
}

// connect puts the helper on a network too.
func (e *Engine) connectHelper(ctx context.Context, h *helperCtr, netName string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.networks[netName] {
		return nil
	}
	if _, err := e.cli.NetworkConnect(ctx, netName, client.NetworkConnectOptions{Container: h.id, EndpointConfig: &network.EndpointSettings{}}); err != nil {
		return fmt.Errorf("putting grade's helper on network %s: %w", netName, err)
	}
	h.networks[netName] = true
	return nil
}

// onNetwork reports whether the helper is on a network.
func (h *helperCtr) onNetwork(netName string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.networks[netName]
}

// closeHelper ends the session and removes the container.
func (e *Engine) closeHelper(h *helperCtr) {
	if h == nil {
		return
	}
	if h.sess != nil {
		_ = h.sess.Close()
	}
	if h.att.Conn != nil {
		h.att.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = e.cli.ContainerRemove(ctx, h.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// execStream is an exec's hijacked connection as one byte stream: writes go
// to the process's standard input, reads come from its standard output
// (demultiplexed); its standard error is kept for messages.
type execStream struct {
	att    client.HijackedResponse
	out    *io.PipeReader
	errbuf *capped
	emu    sync.Mutex
}

func newExecStream(att client.HijackedResponse) *execStream {
	pr, pw := io.Pipe()
	s := &execStream{att: att, out: pr, errbuf: newCapped(4 << 10)}
	go func() {
		_, err := stdcopy.StdCopy(pw, lockedWriter{&s.emu, s.errbuf}, att.Reader)
		if err == nil {
			err = io.EOF
		}
		_ = pw.CloseWithError(err)
	}()
	return s
}

func (s *execStream) Read(p []byte) (int, error)  { return s.out.Read(p) }
func (s *execStream) Write(p []byte) (int, error) { return s.att.Conn.Write(p) }
func (s *execStream) Close() error {
	_ = s.out.Close()
	s.att.Close()
	return nil
}

func (s *execStream) stderrTail() string {
	s.emu.Lock()
	defer s.emu.Unlock()
	if t := strings.TrimSpace(s.errbuf.String()); t != "" {
		return " (the helper said: " + t + ")"
	}
	return ""
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// jobHelper returns the job's helper, started on its network on first use.
func (j *base) jobHelper(ctx context.Context) (*helperCtr, error) {
	j.hmu.Lock()
	defer j.hmu.Unlock()
	if j.helper != nil {
		return j.helper, nil
	}
	netName, err := j.ensureNetwork(ctx)
	if err != nil {
		return nil, err
	}
	h, err := j.e.startHelper(ctx, helperSpec{name: "grade-" + j.slug + "-helper", labels: j.e.labels(j.name), network: netName})
	if err != nil {
		return nil, err
	}
	j.helper = h
	return h, nil
}

// DialContext opens a TCP connection to addr from the job's helper, which
// is on the job's networks: how grade reaches the job's containers on
// every engine (checks.Dialer).
func (j *base) DialContext(ctx context.Context, netw, addr string) (net.Conn, error) {
	h, err := j.jobHelper(ctx)
	if err != nil {
		return nil, err
	}
	return h.sess.DialContext(ctx, netw, addr)
}

// errNoAddress: the container is on no network with an address (network
// mode none): nothing can reach it.
var errNoAddress = errors.New("it has no address on a network grade reaches (network none?)")

// reachable returns the address at which the job's helper reaches port of
// a container: its address on a network the helper is on, or else on its
// first network, which the helper then joins.
func (j *base) reachable(ctx context.Context, ins container.InspectResponse, port int) (string, error) {
	if ins.NetworkSettings == nil || len(ins.NetworkSettings.Networks) == 0 {
		return "", errNoAddress
	}
	h, err := j.jobHelper(ctx)
	if err != nil {
		return "", err
	}
	var first string
	for _, name := range slices.Sorted(maps.Keys(ins.NetworkSettings.Networks)) {
		ep := ins.NetworkSettings.Networks[name]
		if ep == nil || !ep.IPAddress.IsValid() {
			continue
		}
		at := net.JoinHostPort(ep.IPAddress.String(), fmt.Sprint(port))
		if h.onNetwork(name) {
			return at, nil
		}
		if first == "" {
			first = name
		}
	}
	if first == "" {
		return "", errNoAddress
	}
	if err := j.e.connectHelper(ctx, h, first); err != nil {
		return "", err
	}
	ep := ins.NetworkSettings.Networks[first]
	return net.JoinHostPort(ep.IPAddress.String(), fmt.Sprint(port)), nil
}
