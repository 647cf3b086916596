package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// Session is grade's end of one helper session.
type Session struct {
	mux *yamux.Session

	mu        sync.Mutex
	listeners map[uint32]*listener
}

// Open starts a session over rw (the exec's stream) and checks that the
// helper answers.
func Open(ctx context.Context, rw io.ReadWriteCloser) (*Session, error) {
	mux, err := yamux.Client(rw, muxConfig())
	if err != nil {
		return nil, err
	}
	s := &Session{mux: mux, listeners: map[uint32]*listener{}}
	go s.accept()
	st, err := s.open(ctx, request{Op: "ping"})
	if err != nil {
		_ = mux.Close()
		return nil, fmt.Errorf("the helper does not answer: %w", err)
	}
	_ = st.Close()
	return s, nil
}

// Close ends the session and every stream and listener of it.
func (s *Session) Close() error { return s.mux.Close() }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.mux.CloseChan() }

// open opens a stream with req and reads the reply; the stream is ready for
// its data when err is nil.
func (s *Session) open(ctx context.Context, req request) (*yamux.Stream, error) {
	st, err := s.mux.OpenStream()
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	} else {
		_ = st.SetDeadline(time.Now().Add(time.Minute))
	}
	stop := context.AfterFunc(ctx, func() { _ = st.SetDeadline(time.Now()) })
	defer stop()
	var rep reply
	err = writeJSON(st, req)
	if err == nil {
		err = readJSON(st, &rep)
	}
	if err == nil && rep.Error != "" {
		err = errors.New(rep.Error)
	}
	if err != nil {
		_ = st.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	_ = st.SetDeadline(time.Time{})
	if req.Op == "listen" {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.listeners[rep.Listener] = &listener{s: s, ctl: st, addr: addr{network(req.Network), rep.Addr},
			conns: make(chan net.Conn), done: make(chan struct{})}
	}
	return st, nil
}

// DialContext opens a connection to addr from inside the helper's network
// namespace, as a net.Dialer's DialContext does (network "tcp", or "unix"
// for a socket in the helper's filesystem).
func (s *Session) DialContext(ctx context.Context, netw, addr string) (net.Conn, error) {
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if netw == "tcp4" || netw == "tcp6" {
		netw = "tcp"
	}
	st, err := s.open(ctx, request{Op: "dial", Network: netw, Addr: addr, Timeout: timeout.Milliseconds()})
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: netw, Addr: stringAddr(addr), Err: err}
	}
	return st, nil
}

// Listen listens on addr in the helper (a TCP address, or a unix socket's
// path, made 0666: who may connect is who may mount its folder) and returns
// a listener whose connections are relayed to grade. Closing it stops the
// helper's listener.
func (s *Session) Listen(ctx context.Context, netw, addr string) (net.Listener, error) {
	st, err := s.open(ctx, request{Op: "listen", Network: netw, Addr: addr})
	if err != nil {
		return nil, fmt.Errorf("listening on %s in the helper: %w", addr, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.ctl == st {
			return l, nil
		}
	}
	return nil, errors.New("the helper's listener is gone")
}

// accept takes the streams the helper opens (accepted connections) to
// their listeners.
func (s *Session) accept() {
	for {
		st, err := s.mux.AcceptStream()
		if err != nil {
			s.mu.Lock()
			for id, l := range s.listeners {
				l.shut()
				delete(s.listeners, id)
			}
			s.mu.Unlock()
			return
		}
		go func() {
			var req request
			_ = st.SetReadDeadline(time.Now().Add(30 * time.Second))
			if err := readJSON(st, &req); err != nil || req.Op != "accepted" {
				_ = st.Close()
				return
			}
			_ = st.SetReadDeadline(time.Time{})
			s.mu.Lock()
			l := s.listeners[req.Listener]
			s.mu.Unlock()
			if l == nil || !l.deliver(st) {
				_ = st.Close()
			}
		}()
	}
}

// listener is a helper's listener as grade sees it.
type listener struct {
	s     *Session
	ctl   *yamux.Stream
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *listener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	case <-time.After(30 * time.Second):
		return false // nobody accepts: the connection is dropped
	}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) shut() { l.once.Do(func() { close(l.done); _ = l.ctl.Close() }) }

func (l *listener) Close() error {
	l.shut()
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	for id, x := range l.s.listeners {
		if x == l {
			delete(l.s.listeners, id)
		}
	}
	return nil
}

func (l *listener) Addr() net.Addr { return l.addr }

type addr struct{ netw, a string }

func (a addr) Network() string { return a.netw }
func (a addr) String() string  { return a.a }

type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }
