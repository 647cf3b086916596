package engine_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/engine"
)

// TestHostUnreachable: a container of a job reaches no address of the
// engine's host (the job network's gateway, docker0, the host's other
// addresses) and none of grade's machine, on whichever engine DOCKER_HOST
// names. Listeners wait on the engine's host (a container on the host's
// network) and on grade's machine; a container on Docker's default bridge
// must reach the first (else the test proves nothing), the job's container
// must reach neither.
func TestHostUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatalf("integration tests need the Docker engine: %v", err)
	}
	defer func() { _ = eng.Close() }()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	labels := map[string]string{engine.LabelManaged: "true", engine.LabelRun: eng.RunID(), engine.LabelJob: "hostreach/test"}
	defer func() {
		_, _ = eng.CleanRun()
		if left, _ := eng.Leftovers(context.Background(), eng.RunID()); len(left) > 0 {
			t.Errorf("left on the engine: %v", left)
		}
	}()

	// run runs busybox on a network mode and returns its output.
	run := func(mode string, cmd ...string) string {
		t.Helper()
		res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config:     &container.Config{Image: "busybox:latest", Cmd: cmd, Labels: labels},
			HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(mode)},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			_, _ = cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
		}()
		if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
			t.Fatal(err)
		}
		w := cli.ContainerWait(ctx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case <-w.Result:
		case err := <-w.Error:
			t.Fatal(err)
		}
		logs, err := cli.ContainerLogs(ctx, res.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = logs.Close() }()
		var out strings.Builder
		_, _ = stdcopy.StdCopy(&out, &out, logs)
		return out.String()
	}

	// A listener on the engine's host, on every address.
	port := 20000 + rand.IntN(20000)
	lis, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: "busybox:latest", Labels: labels, Cmd: []string{"sh", "-c", fmt.Sprintf("mkdir -p /w && echo engine-host > /w/index.html && exec httpd -f -p %d -h /w", port)}},
		HostConfig: &container.HostConfig{NetworkMode: "host"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerStart(ctx, lis.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	// And one on grade's machine (the next port: with a local engine the
	// two share the host's network).
	ln, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", port+1))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "grade-machine") }),
		ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()

	// The engine host's addresses, read on its network, and grade's own.
	addrs := ipv4s(run("host", "ip", "-4", "-o", "addr", "show"))
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
				addrs = append(addrs, ipn.IP.String())
			}
		}
	}
	addrs = slices.Compact(slices.Sorted(slices.Values(addrs)))
	probe := func(list []string) []string {
		var s strings.Builder
		for _, a := range list {
			for _, p := range []int{port, port + 1} {
				fmt.Fprintf(&s, "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 %s %d | grep -q -e engine-host -e grade-machine && echo OPEN %s:%d; ", a, p, a, p)
			}
		}
		return []string{"sh", "-c", s.String() + "true"}
	}

	// The control: the default bridge reaches the engine's host.
	control := run("bridge", probe(addrs)...)
	if !strings.Contains(control, "OPEN") {
		t.Fatalf("a container on Docker's default bridge reached none of %v on port %d: the test's listener does not work\n%s", addrs, port, control)
	}

	// The job's container, with its network's gateway added.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox:latest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job := eng.NewImageJob("hostreach/test", engine.JobOptions{})
	defer func() { _ = job.Close() }()
	if b, err := job.Build(ctx, engine.BuildSpec{Dir: dir, Dockerfile: "Dockerfile", Shown: "Dockerfile", Timeout: time.Minute}); err != nil || !b.OK {
		t.Fatalf("build: %+v %v", b, err)
	}
	gw, err := job.RunImage(ctx, checks.RunSpec{Args: []string{"sh", "-c", "ip -4 route; ip -4 -o addr show"}})
	if err != nil {
		t.Fatal(err)
	}
	targets := append(slices.Clone(addrs), gateways(gw.Stdout)...)
	out, err := job.RunImage(ctx, checks.RunSpec{Args: probe(targets)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.Stdout, "OPEN") {
		t.Errorf("a job's container reached the engine's host or grade's machine:\n%s(tried %v on ports %d and %d)", out.Stdout, targets, port, port+1)
	}
	t.Logf("unreachable from the job's network: %v on ports %d, %d (the default bridge reached: %s)", targets, port, port+1, strings.Join(strings.Fields(control), " "))

	// Builds: a RUN step that tries the same addresses writes what it
	// reached into the image. Offline (stack.build_network: false) it
	// reaches nothing; with the builder's network it may reach the
	// engine's host (docs/security.md says so), which is logged.
	for _, offline := range []bool{true, false} {
		bdir := t.TempDir()
		script := strings.Join(probe(targets)[2:], " ")
		df := fmt.Sprintf("FROM busybox:latest\nRUN (%s) > /reached.txt 2>&1; true\n", script)
		if err := os.WriteFile(filepath.Join(bdir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		bjob := eng.NewImageJob(fmt.Sprintf("hostreach/build-offline-%v", offline), engine.JobOptions{OfflineBuild: offline})
		b, err := bjob.Build(ctx, engine.BuildSpec{Dir: bdir, Dockerfile: "Dockerfile", Shown: "Dockerfile", Timeout: 2 * time.Minute})
		if err != nil || !b.OK {
			_ = bjob.Close()
			t.Fatalf("build (offline %v): %+v %v", offline, b, err)
		}
		got, err := bjob.RunImage(ctx, checks.RunSpec{Args: []string{"cat", "/reached.txt"}})
		_ = bjob.Close()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case got.ExitCode != 0:
			t.Errorf("the build's probe wrote nothing (offline %v): %+v", offline, got)
		case offline && strings.Contains(got.Stdout, "OPEN"):
			t.Errorf("an offline build's RUN reached the engine's host or grade's machine:\n%s", got.Stdout)
		case !offline:
			t.Logf("a build with network reached: %q", strings.Join(strings.Fields(got.Stdout), " "))
		}
	}
}

var inetRe = regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)/`)

// ipv4s lists the addresses of `ip -4 -o addr` output, loopback left out.
func ipv4s(s string) []string {
	var out []string
	for _, m := range inetRe.FindAllStringSubmatch(s, -1) {
		if !strings.HasPrefix(m[1], "127.") {
			out = append(out, m[1])
		}
	}
	return out
}

var viaRe = regexp.MustCompile(`via (\d+\.\d+\.\d+\.\d+)`)

// gateways lists the gateways of `ip route` output, and the first address of
// each subnet the container is on (where Docker puts a bridge's gateway).
func gateways(s string) []string {
	var out []string
	for _, m := range viaRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	for _, a := range ipv4s(s) {
		ip := net.ParseIP(a).To4()
		out = append(out, net.IPv4(ip[0], ip[1], ip[2], 1).String())
	}
	return out
}
