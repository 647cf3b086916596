package engine

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gradeproject/grade/checks"
)

// tarEntry is one entry of a tar built by tarOf.
type tarEntry struct {
	name, body string
	typeflag   byte // tar.TypeReg when 0
	link       string
}

// tarOf builds a tar of the entries, in order.
func tarOf(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		} else {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The layers of an image whose build copies .env and keys/id_rsa, then
// deletes them: the base, the COPY, the RUN rm.
func testLayers(t *testing.T) (base, cp, rm []byte) {
	base = tarOf(t, tarEntry{name: "bin/", typeflag: tar.TypeDir}, tarEntry{name: "bin/busybox", body: strings.Repeat("\x7fELF", 100)},
		tarEntry{name: "bin/sh", typeflag: tar.TypeSymlink, link: "busybox"}, tarEntry{name: "etc/passwd", body: "root:x:0:0\n"})
	cp = tarOf(t, tarEntry{name: "app/", typeflag: tar.TypeDir}, tarEntry{name: "app/.env", body: "TOKEN=abc\n"},
		tarEntry{name: "app/keys/id_rsa", body: "-----BEGIN OPENSSH PRIVATE KEY-----\n"}, tarEntry{name: "app/big.txt", body: strings.Repeat("x", 100)})
	rm = tarOf(t, tarEntry{name: "app/", typeflag: tar.TypeDir}, tarEntry{name: "app/.wh..env"}, tarEntry{name: "app/.wh.keys"},
		tarEntry{name: "app/cache/.wh..wh..opq"})
	return base, cp, rm
}

// legacySave is a docker save archive as Docker 20.10 writes it: a folder
// per layer, in the order of their ids, then the config and manifest.
func legacySave(t *testing.T) []byte {
	base, cp, rm := testLayers(t)
	var es []tarEntry
	for _, l := range []struct {
		id    string
		layer []byte
	}{{"4c13", cp}, {"7dae", base}, {"e678", rm}} {
		es = append(es, tarEntry{name: l.id + "/", typeflag: tar.TypeDir}, tarEntry{name: l.id + "/VERSION", body: "1.0"},
			tarEntry{name: l.id + "/json", body: `{"id":"` + l.id + `"}`}, tarEntry{name: l.id + "/layer.tar", body: string(l.layer)})
	}
	es = append(es, tarEntry{name: "ecd5.json", body: `{"rootfs":{"type":"layers"}}`},
		tarEntry{name: "manifest.json", body: `[{"Layers":["7dae/layer.tar","4c13/layer.tar","e678/layer.tar"]}]`})
	return tarOf(t, es...)
}

// ociSave is a docker save archive as later engines write it: OCI blobs,
// one layer compressed, and legacy layer.tar symlinks to the blobs.
func ociSave(t *testing.T) []byte {
	base, cp, rm := testLayers(t)
	return tarOf(t,
		tarEntry{name: "blobs/", typeflag: tar.TypeDir}, tarEntry{name: "blobs/sha256/", typeflag: tar.TypeDir},
		tarEntry{name: "blobs/sha256/11aa", body: gzipOf(t, cp)},
		tarEntry{name: "blobs/sha256/22bb", body: `{"schemaVersion":2,"layers":[]}`},
		tarEntry{name: "blobs/sha256/33cc", body: string(base)},
		tarEntry{name: "blobs/sha256/44dd", body: gzipOf(t, []byte("not a tar, but gzipped"))},
		tarEntry{name: "blobs/sha256/55ee", body: string(rm)},
		tarEntry{name: "7dae/layer.tar", typeflag: tar.TypeSymlink, link: "../blobs/sha256/33cc"},
		tarEntry{name: "index.json", body: `{"schemaVersion":2}`}, tarEntry{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`})
}

func TestWalkLayers(t *testing.T) {
	all := func(checks.File) int64 { return 1 << 20 }
	collect := func(archive []byte, w *layerWalk) (map[string]checks.File, error) {
		got := map[string]checks.File{}
		w.fn = func(f checks.File) error {
			if _, dup := got[f.Path]; dup {
				t.Errorf("%s visited twice", f.Path)
			}
			got[f.Path] = f
			return nil
		}
		err := w.archive(context.Background(), bytes.NewReader(archive))
		return got, err
	}
	for name, archive := range map[string][]byte{"legacy": legacySave(t), "oci": ociSave(t)} {
		t.Run(name, func(t *testing.T) {
			w := &layerWalk{read: all, maxEntries: 100, maxBytes: 1 << 20}
			got, err := collect(archive, w)
			if err != nil {
				t.Fatal(err)
			}
			paths := slices.Sorted(maps.Keys(got))
			if want := []string{"/app/.env", "/app/big.txt", "/app/keys/id_rsa", "/bin/busybox", "/etc/passwd"}; !slices.Equal(paths, want) {
				t.Errorf("visited %v, want %v", paths, want)
			}
			if f := got["/app/.env"]; string(f.Content) != "TOKEN=abc\n" || f.Truncated || f.Size != 10 || !f.Mode.IsRegular() {
				t.Errorf("/app/.env: %+v", f)
			}
			if w.layers != 3 || w.entries != 12 {
				t.Errorf("%d layers, %d entries", w.layers, w.entries)
			}
		})
	}

	// read decides what is read; what it leaves unread costs nothing.
	var asked []string
	w := &layerWalk{read: func(f checks.File) int64 {
		asked = append(asked, f.Path)
		if f.Content != nil {
			t.Errorf("read got content for %s", f.Path)
		}
		if strings.HasPrefix(f.Path, "/bin/") {
			return 0
		}
		return 4
	}, maxEntries: 100, maxBytes: 16}
	got, err := collect(legacySave(t), w)
	if err != nil || len(asked) != 5 {
		t.Fatalf("asked for %v: %v", asked, err)
	}
	if f := got["/bin/busybox"]; f.Content != nil || !f.Truncated || f.Size != 400 {
		t.Errorf("unread busybox: %+v", f)
	}
	if f := got["/app/big.txt"]; string(f.Content) != "xxxx" || !f.Truncated {
		t.Errorf("big.txt: %+v", f)
	}
	if w.bytes != 16 {
		t.Errorf("%d bytes counted, want 16", w.bytes)
	}

	// Caps: entries (whatever their kind) and content read.
	_, err = collect(legacySave(t), &layerWalk{read: all, maxEntries: 5, maxBytes: 1 << 20})
	if !errors.Is(err, checks.ErrWalkLimit) || !strings.Contains(err.Error(), "stopped after 5 files and folders") {
		t.Errorf("entry cap: %v", err)
	}
	_, err = collect(legacySave(t), &layerWalk{read: all, maxEntries: 100, maxBytes: 20})
	if !errors.Is(err, checks.ErrWalkLimit) {
		t.Errorf("byte cap: %v", err)
	}

	stop := errors.New("enough")
	n := 0
	err = (&layerWalk{read: all, fn: func(checks.File) error { n++; return stop }, maxEntries: 100, maxBytes: 1 << 20}).
		archive(context.Background(), bytes.NewReader(legacySave(t)))
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d files", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = (&layerWalk{read: all, fn: func(checks.File) error { return nil }, maxEntries: 100, maxBytes: 1 << 20}).
		archive(ctx, bytes.NewReader(legacySave(t)))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk: %v", err)
	}
	zstd := tarOf(t, tarEntry{name: "blobs/sha256/66ff", body: "\x28\xb5\x2f\xfd rest"})
	if _, err := collect(zstd, &layerWalk{read: all, maxEntries: 100, maxBytes: 1 << 20}); err == nil || !strings.Contains(err.Error(), "zstd") {
		t.Errorf("a zstd layer: %v", err)
	}
}

// TestImageFS builds a small image on the real engine whose build context
// holds a .env and a private key (and a planted file), which a later step
// deletes, and a token in a web page; then it reads its history and walks
// the files of its layers the way the secrets check does.
func TestImageFS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng, err := New(ctx)
	if err != nil {
		t.Fatalf("integration tests need the Docker engine: %v", err)
	}
	defer func() { _ = eng.Close() }()
	dir := t.TempDir()
	const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"
	for name, body := range map[string]string{
		"Dockerfile": "FROM busybox:latest\nARG NPM_TOKEN=s3cr3t-build-arg\nENV API_TOKEN=s3cr3t-in-env\nWORKDIR /app\nCOPY . .\n" +
			"RUN echo built > /app/built.txt && rm -rf /app/.env /app/keys\nCOPY site/ /usr/share/nginx/html/\nCMD [\"true\"]\n",
		"site/index.html": "<script>const token = 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ1234567890'</script>\n",
		".env":            "DB_PASSWORD=hunter2-from-env-file\n",
		"keys/id_rsa":     key,
		"app.sh":          "echo hi\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job := eng.NewImageJob("imagefs/test", JobOptions{})
	defer func() {
		if err := job.Close(); err != nil {
			t.Error(err)
		}
		_, _ = eng.CleanRun()
		// Only this job's: another run may share the engine.
		left, _ := eng.Leftovers(context.Background())
		if left = slices.DeleteFunc(left, func(l string) bool { return !strings.HasSuffix(l, " imagefs/test") }); len(left) > 0 {
			t.Errorf("left on the engine: %v", left)
		}
	}()
	planted := map[string]string{"config/.env.local": "API_TOKEN=s3cr3t-planted-by-grade\n"}
	b, err := job.Build(ctx, BuildSpec{Dir: dir, Dockerfile: "Dockerfile", Shown: "Dockerfile", Timeout: time.Minute,
		Plant: map[string][]byte{"config/.env.local": []byte(planted["config/.env.local"])}})
	if err != nil || !b.OK {
		t.Fatalf("build: %+v %v", b, err)
	}

	history, err := job.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var env, run *checks.Layer
	for i, l := range history {
		switch {
		case strings.Contains(l.CreatedBy, "ENV API_TOKEN=s3cr3t-in-env"):
			env = &history[i]
		case strings.Contains(l.CreatedBy, "echo built"):
			run = &history[i]
		}
	}
	if env == nil || run == nil || !strings.Contains(run.CreatedBy, "NPM_TOKEN=s3cr3t-build-arg") {
		t.Errorf("history lacks the ENV or the RUN with its build argument:\n%+v", history)
	}
	if last := history[len(history)-1]; !strings.Contains(last.CreatedBy, `CMD ["true"]`) && !strings.Contains(last.CreatedBy, "LABEL") {
		t.Errorf("history is not oldest first: it ends with %+v", last)
	}

	seen := map[string]checks.File{}
	all := func(f checks.File) int64 {
		if f.Content != nil {
			t.Errorf("read got %s's content", f.Path)
		}
		return 1 << 20
	}
	if err := job.WalkImage(ctx, all, func(f checks.File) error {
		if strings.Contains(f.Path, ".wh.") {
			t.Errorf("the walk visited the whiteout %s", f.Path)
		}
		seen[f.Path] = f
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/app/.env", "/app/keys/id_rsa", "/app/config/.env.local", "/app/built.txt", "/bin/busybox",
		"/usr/share/nginx/html/index.html"} {
		if _, ok := seen[p]; !ok {
			t.Errorf("the walk did not see %s (%d files seen)", p, len(seen))
		}
	}
	if f := seen["/app/keys/id_rsa"]; string(f.Content) != key {
		t.Errorf("/app/keys/id_rsa read as %q", f.Content)
	}
	if f := seen["/bin/busybox"]; f.Truncated != (f.Size > 1<<20) {
		t.Errorf("busybox: size %d, %d bytes read, truncated %v", f.Size, len(f.Content), f.Truncated)
	}

	var saved bytes.Buffer
	if err := job.SaveImage(ctx, &saved); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&saved)
	manifest := false
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		manifest = manifest || h.Name == "manifest.json"
	}
	if !manifest {
		t.Error("the saved image has no manifest.json")
	}

	o := (&checks.Secrets{Plant: planted}).Run(ctx, job)
	t.Logf("secrets check: %s\n%s\n%s", o.Status, o.Actual, o.Message)
	deleted := " is in a layer of the image, although a later step deletes it: it is still there for anyone who pulls the image"
	for _, want := range []string{"/app/config/.env.local is in the image: grade put config/.env.local in the build context",
		"/app/.env (a .env file)" + deleted, "/app/keys/id_rsa (an SSH private key file)" + deleted,
		"/usr/share/nginx/html/index.html holds a GitHub token (ghp_…)", "ENV API_TOKEN holds a token (s3cr…)",
		"history: ARG NPM_TOKEN=s3cr… holds a token (s3cr…)"} {
		if !strings.Contains(o.Actual, want) {
			t.Errorf("the secrets check did not report %q", want)
		}
	}
	for _, leak := range []string{"s3cr3t-in-env", "s3cr3t-build-arg", "hunter2", "s3cr3t-planted"} {
		if strings.Contains(o.Actual+o.Message+o.Detail, leak) {
			t.Errorf("the secrets check shows %q", leak)
		}
	}
}
