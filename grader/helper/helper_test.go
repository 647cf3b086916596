package helper

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pair runs a helper session over an in-memory pipe and returns grade's end.
func pair(t *testing.T) *Session {
	t.Helper()
	a, b := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(b) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Open(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("the helper's session ended with %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("the helper's session did not end when grade closed it")
		}
	})
	return s
}

func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello "+r.URL.Path)
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()

	s := pair(t)
	hc := &http.Client{Transport: &http.Transport{DialContext: s.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	for i := range 3 { // one stream each, one after the other
		resp, err := hc.Get("http://" + ln.Addr().String() + "/x")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if string(b) != "hello /x" {
			t.Fatalf("request %d: body %q", i, b)
		}
	}
}

func TestDialRefusedNamesTheCause(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now

	s := pair(t)
	_, err = s.DialContext(context.Background(), "tcp", addr)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("dial of a closed port: %v, want connection refused", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// A non-routable address on a documentation network: the context bounds it.
	if _, err := s.DialContext(ctx, "tcp", "192.0.2.1:9"); err == nil {
		t.Fatal("dial of an unreachable address succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("dial took %s, past its context's 200ms", d)
	}
}

func TestListen(t *testing.T) {
	s := pair(t)
	for _, tc := range []struct{ netw, addr string }{
		{"unix", filepath.Join(t.TempDir(), "docker.sock")},
		{"tcp", "127.0.0.1:0"},
	} {
		t.Run(tc.netw, func(t *testing.T) {
			ln, err := s.Listen(context.Background(), tc.netw, tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "relayed "+r.URL.Path)
			}), ReadHeaderTimeout: time.Second}
			go func() { _ = srv.Serve(ln) }()
			at := ln.Addr().String()
			if tc.netw == "tcp" && strings.HasSuffix(at, ":0") {
				t.Fatalf("listener address %s: want the port the kernel chose", at)
			}
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, tc.netw, at)
				}}}
			for i := range 3 {
				resp, err := hc.Get("http://docker/v1.41/info")
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if string(b) != "relayed /v1.41/info" {
					t.Fatalf("request %d: body %q", i, b)
				}
			}
			_ = srv.Close() // closes ln: the helper stops listening
			deadline := time.Now().Add(5 * time.Second)
			for {
				c, err := (&net.Dialer{}).Dial(tc.netw, at)
				if err != nil {
					break
				}
				_ = c.Close()
				if time.Now().After(deadline) {
					t.Fatal("the helper still listens after grade closed the listener")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestListenOnAPathThatCannotBeMade(t *testing.T) {
	s := pair(t)
	_, err := s.Listen(context.Background(), "unix", filepath.Join(t.TempDir(), "no", "such", "folder", "s.sock"))
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("listen in a missing folder: %v", err)
	}
}
