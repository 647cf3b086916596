package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gradeproject/grade/checks"
)

func TestScriptUser(t *testing.T) {
	if u := scriptUserFor(0, 0); u != (scriptUser{nobody, nobody}) || u.String() != "65534:65534" {
		t.Errorf("grade as root: the script runs as %v", u)
	}
	if u := scriptUserFor(1000, 100); u != (scriptUser{1000, 100}) {
		t.Errorf("grade as 1000:100: the script runs as %v", u)
	}
}

func TestCapUploads(t *testing.T) {
	var got int
	// As go-containerregistry does: a read error is ignored, the part read kept.
	h := capUploads(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got += int(n)
		w.WriteHeader(http.StatusAccepted)
	}), 10)
	for i, tt := range []struct {
		body   string
		length bool
		status int
	}{
		{"123456", true, http.StatusAccepted},
		{"123456", true, http.StatusForbidden},  // 12 > 10, refused by its length
		{"123456", false, http.StatusForbidden}, // no length: cut off while read
		{"1", false, http.StatusForbidden},      // the registry is full
	} {
		req := httptest.NewRequest(http.MethodPatch, "/v2/x/blobs/uploads/1", strings.NewReader(tt.body))
		if !tt.length {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("upload %d: status %d, want %d", i, rec.Code, tt.status)
		}
		if tt.status == http.StatusForbidden {
			var e struct {
				Errors []struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Code != "DENIED" ||
				!strings.Contains(e.Errors[0].Message, "grade: this exercise's registry takes at most 10B") {
				t.Errorf("upload %d: the refusal is %s", i, rec.Body)
			}
		}
	}
	if got > 12 {
		t.Errorf("the registry read %d bytes", got)
	}
	req := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Errorf("a read once full: %d", rec.Code)
	}
}

func TestRegistryLimit(t *testing.T) {
	for _, tt := range []struct{ image, want int64 }{
		{0, registryMax}, {64 << 20, 64 << 20}, {2 << 30, registryMax},
	} {
		if got := registryLimit(tt.image); got != tt.want {
			t.Errorf("registryLimit(%d) = %d, want %d", tt.image, got, tt.want)
		}
	}
}

func TestSubmissionTar(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "push.sh"), []byte("docker push x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/shadow", filepath.Join(dir, "sub", "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "sub", "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := scriptUser{uid: nobody, gid: nobody}
	var buf bytes.Buffer
	if err := submissionTar(&buf, dir, "work", 1<<20, 10, u); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "root:") {
		t.Error("a link was followed out of the submission")
	}
	seen := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		seen[h.Name] = string(b) + h.Linkname
		if h.Uid != nobody || h.Gid != nobody || h.Mode&0o600 != 0o600 {
			t.Errorf("%s: %d:%d %o, want the script's user's, readable and writable", h.Name, h.Uid, h.Gid, h.Mode)
		}
	}
	for name, want := range map[string]string{"work/": "", "work/push.sh": "docker push x\n", "work/sub/": "", "work/sub/link": "/etc/shadow"} {
		if got, ok := seen[name]; !ok || got != want {
			t.Errorf("the tar has %s as %q (%v), want %q", name, got, ok, want)
		}
	}
	if _, ok := seen["work/sub/pipe"]; ok || len(seen) != 4 {
		t.Errorf("the tar has %d entries (%v), want no FIFO", len(seen), seen)
	}
	var le *checks.LimitError
	if err := submissionTar(io.Discard, dir, "work", 4, 10, u); !errors.As(err, &le) || !strings.Contains(err.Error(), "larger than 4B") {
		t.Errorf("a submission over the size limit: %v", err)
	}
	if err := submissionTar(io.Discard, dir, "work", 1<<20, 3, u); !errors.As(err, &le) || !strings.Contains(err.Error(), "more than 3 files and folders") {
		t.Errorf("a submission over the entry limit: %v", err)
	}
	// A hard link to a file outside the submission (ln /etc/hostname
	// hl.txt) is refused, in the tar of /work and in the workspace alike.
	outside := filepath.Join(t.TempDir(), "host-file")
	if err := os.WriteFile(outside, []byte("the host's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(outside, filepath.Join(dir, "hl.txt")); err != nil {
		t.Skipf("no hard link here: %v", err)
	}
	var re *checks.RefusedError
	if err := submissionTar(io.Discard, dir, "work", 1<<20, 10, u); !errors.As(err, &re) || !strings.Contains(err.Error(), "hl.txt is a hard link (it has 2 names)") {
		t.Errorf("a hard link in the tar of /work: %v", err)
	}
	if err := workspace(dir, filepath.Join(t.TempDir(), "w"), 1<<20, 10); !errors.As(err, &re) || !strings.Contains(err.Error(), "hl.txt is a hard link") {
		t.Errorf("a hard link in the workspace: %v", err)
	}
}

// TestSessionStartedOnce: checks asking for the job's registry at once
// get the same one.
func TestSessionStartedOnce(t *testing.T) {
	e := registryEngine(context.Background(), t)
	defer func() {
		_, _ = e.CleanRun()
		_ = e.Close()
	}()
	j := e.NewImageJob("alice/ch08", JobOptions{})
	var wg sync.WaitGroup
	got := make([]*registrySession, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := j.registrySession(context.Background(), nil)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		}()
	}
	wg.Wait()
	if got[0] == nil {
		t.Fatal("no session started")
	}
	for _, s := range got[1:] {
		if s != got[0] {
			t.Fatal("two sessions started for one job")
		}
	}
	j.mu.Lock()
	closers := len(j.closers)
	j.mu.Unlock()
	if closers != 2 { // the slot's and the session's
		t.Errorf("%d closers registered", closers)
	}
	if err := got[0].close(); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(got[0].dir); !os.IsNotExist(err) {
		t.Errorf("the session's folder is still there: %v", err)
	}
	if j.existingSession() != nil {
		t.Error("the session is still held")
	}
}

// TestSweepSessionDirs: a dead run's folders of the temp dir (sessions,
// compose projects, doctor's) go, a live one's and this run's stay.
func TestSweepSessionDirs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	gone := strconv.Itoa(cmd.Process.Pid)
	me := strconv.Itoa(os.Getpid())
	e := &Engine{runID: "mine", self: "thishost"}
	dirs := map[string]bool{ // name → swept
		sessionDirPrefix + "old~thishost~" + gone + "~123": true,
		sessionDirPrefix + "live~thishost~" + me + "~123":  false,
		sessionDirPrefix + "mine~thishost~" + gone + "~1":  false, // this run's own
		sessionDirPrefix + "far~otherhost~" + gone + "~12": false, // another machine's
		sessionDirPrefix + "odd":                           false,
		"grade-other~thishost~" + gone + "~1":              false,
		composeDirPrefix + "old~thishost~" + gone + "~7":   true, // a compose project of a dead run
		doctorDirPrefix + "old~thishost~" + gone + "~8":    true,
		composeDirPrefix + "live~thishost~" + me + "~9":    false,
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, d, "api"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sweepSessionDirs(); err != nil {
		t.Fatal(err)
	}
	for d, swept := range dirs {
		_, err := os.Stat(filepath.Join(tmp, d))
		if swept != os.IsNotExist(err) {
			t.Errorf("%s: swept %v, want %v", d, os.IsNotExist(err), swept)
		}
	}
}

// TestGate: shutting the registry's gate waits for the requests being
// served and refuses new ones.
func TestGate(t *testing.T) {
	g := &gate{}
	release, entered := make(chan struct{}), make(chan struct{})
	var finished bool
	h := g.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		finished = true
	}))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v2/", nil))
	<-entered
	go func() { time.Sleep(50 * time.Millisecond); close(release) }()
	g.shut(5 * time.Second)
	if !finished {
		t.Error("shut did not wait for the request being served")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v2/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("a request after shut: %d", rec.Code)
	}
}
