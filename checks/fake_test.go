package checks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fake is a target with every capability; each test fills what it needs.
type fake struct {
	build     BuildInfo
	image     ImageConfig
	imageErr  error
	files     map[string]File
	run       func(RunSpec) (Output, error)
	exec      func(ExecSpec) (Output, error)
	endpoint  string
	endErr    error
	state     ContainerState
	stateErr  error
	logs      string
	listeners []Listener
	probes    int
	lastRun   RunSpec
	memo      map[string]any
}

func (f *fake) Recall(k string) (any, bool) { v, ok := f.memo[k]; return v, ok }

func (f *fake) Remember(k string, v any) {
	if f.memo == nil {
		f.memo = map[string]any{}
	}
	f.memo[k] = v
}

func (f *fake) Job() string          { return "alice/test" }
func (f *fake) BuildInfo() BuildInfo { return f.build }
func (f *fake) InspectImage(context.Context) (ImageConfig, error) {
	return f.image, f.imageErr
}

func (f *fake) ReadFile(_ context.Context, p string, limit int64) (File, error) {
	file, ok := f.files[p]
	if !ok {
		return File{}, ErrNotExist
	}
	if int64(len(file.Content)) > limit {
		file.Content, file.Truncated = file.Content[:limit], true
	}
	return file, nil
}

func (f *fake) RunImage(_ context.Context, s RunSpec) (Output, error) {
	f.lastRun = s
	return f.run(s)
}

func (f *fake) Exec(_ context.Context, _ string, s ExecSpec) (Output, error) { return f.exec(s) }

func (f *fake) Endpoint(context.Context, string, int) (string, error) { return f.endpoint, f.endErr }

func (f *fake) State(context.Context, string) (ContainerState, error) { return f.state, f.stateErr }

func (f *fake) Logs(context.Context, string, int) (string, error) { return f.logs, nil }

func (f *fake) Listeners(context.Context, string) ([]Listener, error) {
	f.probes++
	return f.listeners, nil
}

// bare is a target with no capability at all.
type bare struct{}

func (bare) Job() string { return "bob/test" }

// serve starts an HTTP server answering with h and returns its host:port.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// closedPort returns a host:port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// want compares an outcome's status and that its text holds each fragment.
func want(t *testing.T, o Outcome, status Status, fragments ...string) {
	t.Helper()
	if o.Status != status {
		t.Errorf("status = %s, want %s\n%+v", o.Status, status, o)
	}
	all := o.Expected + "\n" + o.Actual + "\n" + o.Message + "\n" + o.Detail
	for _, f := range fragments {
		if !strings.Contains(all, f) {
			t.Errorf("outcome lacks %q:\n%s", f, all)
		}
	}
}

func ptr[T any](v T) *T { return &v }
