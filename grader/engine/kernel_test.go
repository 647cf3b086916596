package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// TestComposeKernelOptions: on the engine, a compose service's ulimits,
// shm size and tmpfs mounts are those grade clamped them to, its tmpfs
// nosuid and nodev, and it carries no label of compose's it set itself;
// an image the exercise does not list is refused before anything starts.
func TestComposeKernelOptions(t *testing.T) {
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
	defer func() { _, _ = eng.CleanRun(); assertNothingLabelled(ctx, t, eng) }()
	const mem = 64 << 20
	lim := checks.Limits{Memory: mem, PIDs: 64}

	dir := t.TempDir()
	file := `services:
  web:
    image: busybox:latest
    command: ["sleep", "60"]
    shm_size: 8g
    oom_score_adj: 100
    ulimits:
      nofile: {soft: 1024, hard: 8192}
      nproc: {soft: 32, hard: 100000}
    tmpfs: ["/x:size=100g,exec,suid,dev"]
    volumes:
      - {type: tmpfs, target: /t, tmpfs: {size: 100g}}
`
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	job := eng.NewComposeJob("kernel/compose", JobOptions{Dir: dir, Limits: lim, Compose: true})
	defer func() { _ = job.Close() }()
	info, err := job.Up(ctx, ComposeSpec{Dir: dir, File: "compose.yaml", BuildTimeout: time.Minute, Images: []string{"busybox:latest"}})
	if err != nil || !info.OK {
		t.Fatalf("up: %+v, %v", info, err)
	}
	id, err := job.service(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := eng.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := ins.Container.HostConfig
	if hc.ShmSize != mem || hc.OomScoreAdj != 100 {
		t.Errorf("shm %d, oom score %d", hc.ShmSize, hc.OomScoreAdj)
	}
	for _, u := range hc.Ulimits {
		// (nofile is clamped to guard.MaxNofile, more than this engine
		// lets a container have: the engine's own error, the student's.)
		if (u.Name == "nofile" && (u.Soft != 1024 || u.Hard != 8192)) || (u.Name == "nproc" && (u.Soft != 32 || u.Hard != 64)) {
			t.Errorf("ulimit %+v", *u)
		}
	}
	if o := strings.Split(hc.Tmpfs["/x"], ","); !slices.Contains(o, "nosuid") || !slices.Contains(o, "nodev") || slices.Contains(o, "suid") || !slices.Contains(o, "size=67108864") {
		t.Errorf("tmpfs /x: %q", hc.Tmpfs["/x"])
	}
	for _, m := range hc.Mounts {
		if m.Target == "/t" && (m.TmpfsOptions == nil || m.TmpfsOptions.SizeBytes != mem) {
			t.Errorf("tmpfs /t: %+v", m.TmpfsOptions)
		}
	}
	// What the kernel mounted, seen from inside.
	out, err := job.Exec(ctx, "web", checks.ExecSpec{Cmd: []string{"sh", "-c", "grep -E ' /(x|t|dev/shm) ' /proc/mounts"}})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if len(lines) != 3 {
		t.Errorf("mounts: %q", out.Stdout)
	}
	for _, line := range lines {
		if !strings.Contains(line, "nosuid") || !strings.Contains(line, "nodev") || !strings.Contains(line, "size=65536k") {
			t.Errorf("mounted: %s", line)
		}
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "compose.yaml"), []byte("services:\n  web:\n    image: nginx:latest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job2 := eng.NewComposeJob("image/compose", JobOptions{Dir: other, Limits: lim, Compose: true})
	defer func() { _ = job2.Close() }()
	info, err = job2.Up(ctx, ComposeSpec{Dir: other, File: "compose.yaml", BuildTimeout: time.Minute, Images: []string{"busybox:latest"}})
	if err != nil || len(info.Refused) != 1 || !strings.Contains(info.Refused[0], "image: nginx:latest is not an image of this exercise (busybox:latest)") {
		t.Errorf("another image: %+v, %v", info, err)
	}
}
