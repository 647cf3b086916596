package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gradeproject/grade/checks"
)

func TestMetadataOnly(t *testing.T) {
	for _, tt := range []struct {
		createdBy string
		size      int64
		want      bool
	}{
		{"/bin/sh -c #(nop)  ENV TOKEN=abc", 0, true},
		{"/bin/sh -c #(nop) WORKDIR /app", 0, true},
		{`/bin/sh -c #(nop)  CMD ["node" "app.js"]`, 0, true},
		{"/bin/sh -c #(nop) COPY file:0b1f in /app/empty ", 0, false},
		{"/bin/sh -c #(nop) ADD file:9a4f in / ", 7_000_000, false},
		{"|1 TOKEN=abc /bin/sh -c true", 0, false},
		{"/bin/sh -c npm ci", 4_000_000, false},
	} {
		if got := metadataOnly(tt.createdBy, tt.size); got != tt.want {
			t.Errorf("metadataOnly(%q, %d) = %v, want %v", tt.createdBy, tt.size, got, tt.want)
		}
	}
}

// exportTar builds a tar stream like docker export's.
func exportTar(t *testing.T, files map[string]string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	write := func(h *tar.Header, body string) {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	write(&tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	write(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"}, "")
	for _, n := range names {
		write(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))}, files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestWalkTar(t *testing.T) {
	files := map[string]string{"app/.env": "TOKEN=abc\n", "app/big.txt": strings.Repeat("x", 100), "etc/passwd": "root:x:0:0\n"}
	collect := func(limit int64, maxFiles int, maxBytes int64) ([]checks.File, error) {
		var got []checks.File
		err := walkTar(context.Background(), exportTar(t, files), limit, maxFiles, maxBytes, func(f checks.File) error {
			got = append(got, f)
			return nil
		})
		return got, err
	}
	got, err := collect(10, 100, 1<<20)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d files, %v", len(got), err)
	}
	if got[0].Path != "/app/.env" || string(got[0].Content) != "TOKEN=abc\n" || got[0].Truncated || !got[0].Mode.IsRegular() {
		t.Errorf("first file %+v", got[0])
	}
	if got[1].Path != "/app/big.txt" || len(got[1].Content) != 10 || !got[1].Truncated || got[1].Size != 100 {
		t.Errorf("big file %+v", got[1])
	}
	got, err = collect(1000, 2, 1<<20)
	if !errors.Is(err, checks.ErrWalkLimit) || len(got) != 2 {
		t.Errorf("file cap: %d files, %v", len(got), err)
	}
	got, err = collect(1000, 100, 50)
	if !errors.Is(err, checks.ErrWalkLimit) || len(got) != 2 || len(got[1].Content) != 40 {
		t.Errorf("byte cap: %d files, %v", len(got), err)
	}
	stop := errors.New("enough")
	n := 0
	err = walkTar(context.Background(), exportTar(t, files), 10, 100, 1<<20, func(checks.File) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d files", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := walkTar(ctx, exportTar(t, files), 10, 100, 1<<20, func(checks.File) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk: %v", err)
	}
}

// TestImageFS builds a small image on the real engine whose build context
// holds a .env and a private key (and a planted file), then reads its
// history and walks its files the way the secrets check does.
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
			"RUN echo built > /app/built.txt\nCMD [\"true\"]\n",
		".env":        "DB_PASSWORD=hunter2-from-env-file\n",
		"keys/id_rsa": key,
		"app.sh":      "echo hi\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job := eng.NewJob("imagefs/test", JobOptions{})
	defer func() {
		if err := job.Close(); err != nil {
			t.Error(err)
		}
		_, _ = eng.CleanRun()
		if left, _ := eng.Leftovers(context.Background()); len(left) > 0 {
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
	if env == nil || !env.Empty || run == nil || run.Empty || !strings.Contains(run.CreatedBy, "NPM_TOKEN=s3cr3t-build-arg") {
		t.Errorf("history lacks the ENV (metadata only) or the RUN with its build argument:\n%+v", history)
	}
	if last := history[len(history)-1]; !strings.Contains(last.CreatedBy, `CMD ["true"]`) && !strings.Contains(last.CreatedBy, "LABEL") {
		t.Errorf("history is not oldest first: it ends with %+v", last)
	}

	seen := map[string]checks.File{}
	if err := job.WalkImage(ctx, 1<<20, func(f checks.File) error { seen[f.Path] = f; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/app/.env", "/app/keys/id_rsa", "/app/config/.env.local", "/app/built.txt", "/bin/busybox"} {
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
	for _, want := range []string{"/app/config/.env.local is in the image: grade put config/.env.local in the build context",
		"/app/.env (a .env file)", "/app/keys/id_rsa (an SSH private key file)", "ENV API_TOKEN holds a token (s3cr…)",
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
