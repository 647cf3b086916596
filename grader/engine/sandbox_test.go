package engine_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/engine"
)

// TestSandbox runs containers of a job on the real engine and reads, from
// inside, what the sandbox allows: no NET_RAW or MKNOD, no new privileges,
// the pids limit, and (with a local engine) no route out of the job's network.
func TestSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatalf("integration tests need the Docker engine: %v", err)
	}
	defer func() { _ = eng.Close() }()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox:latest\nCMD [\"true\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job := eng.NewImageJob("sandbox/test", engine.JobOptions{Limits: checks.Limits{PIDs: 64}})
	defer func() {
		if err := job.Close(); err != nil {
			t.Error(err)
		}
		_, _ = eng.CleanRun()
		if left, _ := eng.Leftovers(context.Background()); len(left) > 0 {
			t.Errorf("left on the engine: %v", left)
		}
	}()
	if b, err := job.Build(ctx, engine.BuildSpec{Dir: dir, Dockerfile: "Dockerfile", Shown: "Dockerfile", Timeout: time.Minute}); err != nil || !b.OK {
		t.Fatalf("build: %+v %v", b, err)
	}
	run := func(cmd ...string) checks.Output {
		t.Helper()
		out, err := job.RunImage(ctx, checks.RunSpec{Args: cmd})
		if err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
		return out
	}
	status := run("cat", "/proc/self/status").Stdout
	if !strings.Contains(status, "NoNewPrivs:\t1") {
		t.Errorf("no-new-privileges is not set:\n%s", status)
	}
	capEff := field(status, "CapEff")
	caps, err := strconv.ParseUint(capEff, 16, 64)
	if err != nil {
		t.Fatalf("CapEff %q: %v", capEff, err)
	}
	const netRaw, mknod, sysAdmin = 13, 27, 21
	for _, c := range []uint{netRaw, mknod, sysAdmin} {
		if caps&(1<<c) != 0 {
			t.Errorf("capability %d is in the effective set %s", c, capEff)
		}
	}
	if out := run("cat", "/sys/fs/cgroup/pids/pids.max"); out.ExitCode == 0 && strings.TrimSpace(out.Stdout) != "64" {
		t.Errorf("pids.max = %q, want 64", out.Stdout)
	}
	// An address this machine reaches (Debian's mirror, which the images
	// are built from); the container must not.
	addrs, err := net.DefaultResolver.LookupHost(ctx, "deb.debian.org")
	if err != nil || len(addrs) == 0 {
		t.Fatalf("resolving deb.debian.org (make images needs it too): %v", err)
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(addrs[0], "80"), 5*time.Second)
	if err != nil {
		t.Fatalf("this machine does not reach %s:80 either: %v", addrs[0], err)
	}
	_ = conn.Close()
	if out := run("nc", "-w", "3", addrs[0], "80"); out.ExitCode == 0 {
		t.Errorf("a container reached %s:80 from its job's network, which should have no way out", addrs[0])
	}
}

// field returns the value of "Key:\tvalue" in /proc/self/status.
func field(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
