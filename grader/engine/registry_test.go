package engine

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gradeproject/grade/checks"
)

// TestRegistryStep runs a script through the guard on the real engine:
// it tags and pushes to the job's registry, from a container with no
// capabilities and no network, and what it pushed is pulled back and run.
// Closing the job stops the registry and the guard and leaves nothing: no
// port, no socket folder, no tag, nothing labelled.
func TestRegistryStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng := registryEngine(ctx, t)
	defer func() { _ = eng.Close() }()
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile": "FROM busybox:latest\nCMD [\"echo\", \"pushed and pulled\"]\n",
		"push.sh": `set -e
grep -E '^(CapEff|NoNewPrivs)' /proc/self/status
echo "routes: $(tail -n +2 /proc/net/route | wc -l)"
echo "user: $(id -u):$(id -g)"
echo "# more" >> /work/Dockerfile && touch /work/made && echo "work: writable"
if docker run busybox true; then echo "RUN WAS ALLOWED"; fi
docker tag my-app:1.0 localhost:5000/my-app:1.0
docker push localhost:5000/my-app:1.0
`,
	}
	writeFiles(t, dir, files)
	job := eng.NewImageJob("registry/test", JobOptions{Dir: dir})
	closed := false
	defer func() {
		if !closed {
			_ = job.Close()
		}
		_, _ = eng.CleanRun()
	}()
	if b, err := job.Build(ctx, BuildSpec{Dir: dir, Dockerfile: "Dockerfile", Shown: "Dockerfile", Timeout: time.Minute}); err != nil || !b.OK {
		t.Fatalf("build: %+v %v", b, err)
	}
	run, err := job.RunScript(ctx, checks.ScriptSpec{File: "push.sh", ImageName: "my-app:1.0", Registry: "localhost:5000"})
	if err != nil {
		t.Fatal(err)
	}
	out := run.Stdout
	if run.ExitCode != 0 {
		t.Fatalf("the script exited with %d:\n%s", run.ExitCode, out)
	}
	user := scriptUserFor(os.Geteuid(), os.Getegid())
	if os.Geteuid() == 0 && user.String() != "65534:65534" {
		t.Fatalf("as root the script would run as %s", user)
	}
	for _, want := range []string{"CapEff:\t0000000000000000", "NoNewPrivs:\t1", "routes: 0", "not allowed in this exercise",
		"user: " + user.String() + "\n", "work: writable", "The push refers to repository [localhost:5000/my-app]"} {
		if !strings.Contains(out, want) {
			t.Errorf("the script's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "RUN WAS ALLOWED") || strings.Contains(out, "127.0.0.1:") {
		t.Errorf("the script's output:\n%s", out)
	}
	if len(run.Refused) != 1 || run.Refused[0].Command != "docker run busybox" {
		t.Errorf("refused: %+v", run.Refused)
	}
	tags, err := job.RegistryTags(ctx)
	if err != nil || len(tags["my-app"]) != 1 || tags["my-app"][0] != "1.0" {
		t.Fatalf("the registry holds %v (%v)", tags, err)
	}
	m, err := job.RegistryManifest(ctx, "my-app", "1.0")
	if err != nil || !strings.HasPrefix(m.Digest, "sha256:") || m.Layers == 0 || m.Size == 0 {
		t.Errorf("manifest %+v, %v", m, err)
	}
	pulled, err := job.RunFromRegistry(ctx, "my-app", "1.0", checks.RunSpec{})
	if err != nil || pulled.ExitCode != 0 || pulled.Stdout != "pushed and pulled\n" {
		t.Errorf("the pulled image ran: %+v, %v", pulled, err)
	}

	s := job.existingSession()
	if s == nil {
		t.Fatal("no session")
	}
	ref := s.engineAddr + "/my-app:1.0"
	if ok, _ := eng.ImagePresent(ctx, ref); !ok {
		t.Errorf("%s is not on the engine", ref)
	}
	closed = true
	if err := job.Close(); err != nil {
		t.Errorf("closing the job: %v", err)
	}
	if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		_ = c.Close()
		t.Errorf("the registry still answers at %s", s.addr)
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("the guard's folder %s is still there: %v", s.dir, err)
	}
	if ok, _ := eng.ImagePresent(ctx, ref); ok {
		t.Errorf("%s is still on the engine", ref)
	}
	if job.existingSession() != nil {
		t.Error("the session is still held")
	}
	if left, _ := eng.Leftovers(ctx); len(left) > 0 {
		var ours []string
		for _, l := range left {
			if strings.HasSuffix(l, " registry/test") {
				ours = append(ours, l)
			}
		}
		if len(ours) > 0 {
			t.Errorf("left on the engine: %v", ours)
		}
	}
}

// TestRegistryStepCap: a push past the registry's own limit is refused
// with grade's message, not retried, and the registry holds nothing.
func TestRegistryStepCap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng := registryEngine(ctx, t)
	defer func() { _ = eng.Close() }()
	defer func(m int64) { registryMax = m }(registryMax)
	registryMax = 1 << 20 // busybox's layer is about 2MB compressed
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox:latest\n",
		"push.sh":    "docker tag my-app:1.0 localhost:5000/my-app:1.0 && docker push localhost:5000/my-app:1.0\n",
	})
	job := eng.NewImageJob("registry/cap", JobOptions{Dir: dir})
	defer func() {
		_ = job.Close()
		_, _ = eng.CleanRun()
	}()
	if b, err := job.Build(ctx, BuildSpec{Dir: dir, Dockerfile: "Dockerfile", Shown: "Dockerfile", Timeout: time.Minute}); err != nil || !b.OK {
		t.Fatalf("build: %+v %v", b, err)
	}
	start := time.Now()
	run, err := job.RunScript(ctx, checks.ScriptSpec{File: "push.sh", ImageName: "my-app:1.0", Registry: "localhost:5000"})
	if err != nil {
		t.Fatal(err)
	}
	if run.ExitCode == 0 || !strings.Contains(run.Stdout, "denied: grade: this exercise's registry takes at most "+checks.Size(registryMax).String()+" in all") {
		t.Errorf("exit code %d, output:\n%s", run.ExitCode, run.Stdout)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the refused push took %v: retried?", d)
	}
	if tags, err := job.RegistryTags(ctx); err != nil || len(tags) != 0 {
		t.Errorf("the registry holds %v (%v)", tags, err)
	}
}

// registryEngine connects to the engine for a registry step test.
func registryEngine(ctx context.Context, t *testing.T) *Engine {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	eng, err := New(ctx)
	if err != nil {
		t.Fatalf("integration tests need the Docker engine: %v", err)
	}
	if ok, _ := eng.ImagePresent(ctx, ScriptImage); !ok {
		_ = eng.Close()
		t.Fatalf("%s is missing: make images (or images/prepare.sh %s)", ScriptImage, ScriptImage)
	}
	return eng
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
