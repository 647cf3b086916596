// Package helper is grade's engine-side helper: a program that runs in a
// container on the Docker engine, next to the student's containers, and the
// client grade uses to talk to it.
//
// grade reaches the helper only through the Docker API: it runs the helper's
// session as a `docker exec` of the helper container and speaks to it over
// that one hijacked stream, multiplexed (yamux). Over it grade
//
//   - dials TCP addresses from inside the container's network namespace
//     (the job's internal networks, where the student's containers are: the
//     HTTP probes; or the engine host's loopback, for a helper on the host's
//     network), and
//   - listens there: every connection the helper accepts on a unix socket in
//     a volume (the API guard's socket for a script's docker CLI) or on a TCP
//     address (the registry on the engine host's loopback, where the engine's
//     own docker push reaches it) comes back to grade as a stream.
//
// So grade needs no path on its own machine handed to the engine, no engine
// socket mounted into a container, and no published port: the same design
// works with a local engine, GitLab's docker:dind and Docker Desktop's VM.
//
// The helper's program is grade's own executable (a static Linux binary) or
// a test binary of grade's: both call RunIfHelper first thing, which runs
// the helper when the environment says so.
package helper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"
)

// Env is the environment variable that makes grade's executable run as the
// helper: ModeIdle is the helper container's main process (it waits for
// the container to be stopped), ModeSession one session on stdin/stdout.
const (
	Env         = "GRADE_HELPER"
	ModeIdle    = "idle"
	ModeSession = "session"
)

// RunIfHelper runs the helper and exits when Env asks for it; otherwise it
// returns at once. grade's main and the TestMain of every package whose
// tests use the engine call it before anything else.
func RunIfHelper() {
	switch os.Getenv(Env) {
	case "":
		return
	case ModeIdle:
		idle()
		os.Exit(0)
	case ModeSession:
		if err := Serve(stdio{}); err != nil {
			fmt.Fprintln(os.Stderr, "grade helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "grade helper: %s=%q is not a mode (%s, %s)\n", Env, os.Getenv(Env), ModeIdle, ModeSession)
		os.Exit(2)
	}
}

// idle waits for SIGTERM or SIGINT. As a container's first process it has
// to: the kernel ignores signals that PID 1 does not handle.
func idle() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}

// stdio is the session's stream: the exec's standard input and output.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error                { return os.Stdout.Close() }

// request opens every stream: what the opener wants of the other side.
type request struct {
	// Op is "ping", "dial" or "listen" (grade to the helper), or
	// "accepted" (the helper to grade: a connection to a listener).
	Op string `json:"op"`
	// Network and Addr: what to dial or listen on ("tcp", "unix").
	Network string `json:"network,omitempty"`
	Addr    string `json:"addr,omitempty"`
	// Timeout bounds a dial, in milliseconds.
	Timeout int64 `json:"timeout,omitempty"`
	// Listener is the id of the listener an accepted connection came to.
	Listener uint32 `json:"listener,omitempty"`
}

// reply answers a request; Error set means it failed, and the stream ends.
type reply struct {
	Error string `json:"error,omitempty"`
	// Addr is the address a listener got (a TCP port chosen by the kernel).
	Addr string `json:"addr,omitempty"`
	// Listener is the id of a new listener.
	Listener uint32 `json:"listener,omitempty"`
}

// maxHeader caps a request or reply line.
const maxHeader = 4 << 10

func muxConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	c.LogOutput = io.Discard
	c.MaxStreamWindowSize = 1 << 20
	c.KeepAliveInterval = 15 * time.Second
	c.ConnectionWriteTimeout = 30 * time.Second
	return c
}

// writeJSON writes v as one line.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// readJSON reads one line into v, a byte at a time: what follows the line
// belongs to the stream's user.
func readJSON(r io.Reader, v any) error {
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(r, b); err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if b[0] == '\n' {
			return json.Unmarshal(line, v)
		}
		if line = append(line, b[0]); len(line) > maxHeader {
			return errors.New("header line too long")
		}
	}
}

// Serve runs a helper session over rw until grade closes it.
func Serve(rw io.ReadWriteCloser) error {
	mux, err := yamux.Server(rw, muxConfig())
	if err != nil {
		return err
	}
	defer func() { _ = mux.Close() }()
	for {
		st, err := mux.AcceptStream()
		if err != nil {
			if mux.IsClosed() || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		go handle(mux, st)
	}
}

func handle(mux *yamux.Session, st *yamux.Stream) {
	var req request
	_ = st.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := readJSON(st, &req); err != nil {
		_ = st.Close()
		return
	}
	_ = st.SetReadDeadline(time.Time{})
	switch req.Op {
	case "ping":
		_ = writeJSON(st, reply{})
		_ = st.Close()
	case "dial":
		timeout := time.Duration(req.Timeout) * time.Millisecond
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		c, err := net.DialTimeout(network(req.Network), req.Addr, timeout)
		if err != nil {
			_ = writeJSON(st, reply{Error: err.Error()})
			_ = st.Close()
			return
		}
		if err := writeJSON(st, reply{}); err != nil {
			_ = c.Close()
			_ = st.Close()
			return
		}
		splice(st, c)
	case "listen":
		listen(mux, st, req)
	default:
		_ = writeJSON(st, reply{Error: fmt.Sprintf("unknown op %q", req.Op)})
		_ = st.Close()
	}
}

func network(n string) string {
	if n == "" {
		return "tcp"
	}
	return n
}

// listen serves a listener for as long as its stream st stays open: every
// connection accepted comes to grade as a new stream headed "accepted".
func listen(mux *yamux.Session, st *yamux.Stream, req request) {
	if req.Network == "unix" {
		_ = os.Remove(req.Addr) // a socket left by an earlier session
	}
	ln, err := net.Listen(network(req.Network), req.Addr)
	if err == nil && req.Network == "unix" {
		// Who may connect is decided by who may mount the folder.
		err = os.Chmod(req.Addr, 0o666)
	}
	if err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		_ = writeJSON(st, reply{Error: err.Error()})
		_ = st.Close()
		return
	}
	if err := writeJSON(st, reply{Addr: ln.Addr().String(), Listener: st.StreamID()}); err != nil {
		_ = ln.Close()
		_ = st.Close()
		return
	}
	go func() {
		// The listener lives as long as its stream: grade closes it, or
		// the session ends.
		_, _ = io.Copy(io.Discard, st)
		_ = ln.Close()
		_ = st.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			out, err := mux.OpenStream()
			if err != nil {
				_ = c.Close()
				return
			}
			if err := writeJSON(out, request{Op: "accepted", Listener: st.StreamID()}); err != nil {
				_ = c.Close()
				_ = out.Close()
				return
			}
			splice(out, c)
		}()
	}
}

// closeWriter is a connection that can close its sending half.
type closeWriter interface{ CloseWrite() error }

// splice copies a to b and b to a until both sides are done, half-closing
// each direction as it ends, then closes both.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	one := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(closeWriter); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	wg.Add(2)
	go one(a, b)
	go one(b, a)
	wg.Wait()
	_ = a.Close()
	_ = b.Close()
}
