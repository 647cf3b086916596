package engine

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// TestCommands runs a student's script of docker commands through the
// guard on the real engine: the objects it makes carry the job's names and
// labels, the checks' capabilities find them by the student's names, a
// refused option starts nothing, and closing the job leaves nothing.
func TestCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	eng := registryEngine(ctx, t)
	defer func() { _ = eng.Close() }()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"site/index.html": "my own page\n",
		"run.sh": `set -e
docker network create my-app-net
docker volume create site-data
docker run -d --name my-web -p 8080:80 -v site-data:/usr/share/nginx/html nginx
docker run -d --name dev -v "$(pwd)/site":/usr/share/nginx/html --network my-app-net --network-alias web nginx
docker run -d --name my-app --network my-app-net busybox sleep 300
docker ps --format '{{.Names}} {{.Status}}'
docker volume ls --format '{{.Name}}'
docker network ls --format '{{.Name}}'
docker exec my-web cat /usr/share/nginx/html/index.html | head -2
docker run --rm --name once busybox echo attached-output
docker run --rm --name once busybox echo attached-again
if docker run -d --name twin -p 8080:80 nginx; then echo "A TAKEN PORT WAS ALLOWED"; fi
docker logs my-web 2>&1 | head -1
if docker run --privileged busybox true; then echo "PRIVILEGED WAS ALLOWED"; fi
if docker run -v /:/host busybox true; then echo "ROOT BIND WAS ALLOWED"; fi
if docker run --network host busybox true; then echo "HOST NETWORK WAS ALLOWED"; fi
if docker run --pid host busybox true; then echo "HOST PID WAS ALLOWED"; fi
if docker run -v /var/run/docker.sock:/var/run/docker.sock busybox true; then echo "SOCKET WAS ALLOWED"; fi
if docker run -d nginxx; then echo "PULL WAS ALLOWED"; fi
echo done
`,
	})
	job := eng.NewCommandsJob("commands/test", JobOptions{Dir: dir, Commands: &CommandsOptions{Images: []string{"nginx:latest", "busybox:latest", ScriptImage}}})
	closed := false
	defer func() {
		if !closed {
			_ = job.Close()
		}
	}()
	run, err := job.RunScript(ctx, checks.ScriptSpec{File: "run.sh"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("script output:\n%s", run.Stdout)
	for _, r := range run.Refused {
		t.Logf("refused: %s: %s", r.Command, r.Why)
	}
	if run.ExitCode != 0 || strings.Contains(run.Stdout, "ALLOWED") || !strings.Contains(run.Stdout, "attached-again") ||
		!strings.Contains(run.Stdout, "port is already allocated") {
		t.Fatalf("exit %d", run.ExitCode)
	}
	for _, want := range []string{"--privileged", "-v /:/host", "--network host", "--pid host", "/var/run/docker.sock", "nothing can be pulled"} {
		found := false
		for _, r := range run.Refused {
			found = found || strings.Contains(r.Command+" "+r.Why, want)
		}
		if !found {
			t.Errorf("no refusal names %s", want)
		}
	}
	for _, name := range []string{"my-web", "my-app", "dev"} {
		if strings.Contains(run.Stdout, "grade-") {
			t.Errorf("the script saw an engine name:\n%s", run.Stdout)
		}
		if !strings.Contains(run.Stdout, name+" Up") {
			t.Errorf("docker ps did not show %s up", name)
		}
	}
	info, err := job.Container(ctx, "my-web")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("my-web: %+v", info)
	if !info.Running || len(info.Ports) != 1 || info.Ports[0].HostPort != 8080 || info.Ports[0].ContainerPort != 80 {
		t.Errorf("my-web: %+v", info)
	}
	addr, err := job.HostEndpoint(ctx, "my-web", 8080)
	if err != nil {
		t.Fatal(err)
	}
	body := get(ctx, t, job, "http://"+addr+"/")
	if !strings.Contains(body, "Welcome to nginx") {
		t.Errorf("my-web answered %q", body)
	}
	var np *checks.NotPublishedError
	if _, err := job.HostEndpoint(ctx, "my-web", 80); !errors.As(err, &np) {
		t.Errorf("host port 80: %v", err)
	}
	vol, err := job.Volume(ctx, "site-data")
	if err != nil || vol.Containers["my-web"] != "/usr/share/nginx/html" {
		t.Errorf("site-data: %+v %v", vol, err)
	}
	if f, err := job.ReadVolume(ctx, "site-data", "index.html", 0); err != nil || f.Size == 0 {
		t.Errorf("the volume was not seeded: %+v %v", f, err)
	}
	nw, err := job.Network(ctx, "my-app-net")
	if err != nil || len(nw.Containers) != 2 {
		t.Errorf("my-app-net: %+v %v", nw, err)
	}
	t.Logf("my-app-net: %+v", nw)
	res, err := job.ResolveFrom(ctx, "my-app", "dev", 80)
	if err != nil || len(res.Addrs) == 0 || !res.Reached {
		t.Errorf("dev from my-app: %+v %v", res, err)
	}
	res, err = job.ResolveFrom(ctx, "my-app", "web", 0)
	if err != nil || len(res.Addrs) == 0 {
		t.Errorf("alias web from my-app: %+v %v", res, err)
	}
	res, err = job.ResolveFrom(ctx, "my-web", "dev", 0)
	if err != nil || len(res.Addrs) != 0 {
		t.Errorf("dev from my-web (default bridge) resolved: %+v %v", res, err)
	}
	if err := job.EditWorkspace(ctx, "site/edit.html", []byte("edited\n")); err != nil {
		t.Fatal(err)
	}
	out, err := job.Exec(ctx, "dev", checks.ExecSpec{Cmd: []string{"cat", "/usr/share/nginx/html/edit.html"}})
	if err != nil || !strings.Contains(out.Stdout, "edited") {
		t.Errorf("the edit did not show: %+v %v", out, err)
	}
	if _, err := job.Exec(ctx, "my-web", checks.ExecSpec{Cmd: []string{"sh", "-c", "echo kept > /usr/share/nginx/html/token"}}); err != nil {
		t.Fatal(err)
	}
	if err := job.Recreate(ctx, "my-web"); err != nil {
		t.Fatal(err)
	}
	out, err = job.Exec(ctx, "my-web", checks.ExecSpec{Cmd: []string{"cat", "/usr/share/nginx/html/token"}})
	if err != nil || !strings.Contains(out.Stdout, "kept") {
		t.Errorf("the volume's data after recreation: %+v %v", out, err)
	}
	if err := job.Stop(ctx, "my-app"); err != nil {
		t.Fatal(err)
	}
	if err := job.Start(ctx, "my-app"); err != nil {
		t.Fatal(err)
	}
	if err := job.Remove(ctx, "my-app"); err != nil {
		t.Fatal(err)
	}
	if _, err := job.Container(ctx, "my-app"); !errors.Is(err, checks.ErrNotExist) {
		t.Errorf("my-app after remove: %v", err)
	}
	closed = true
	if err := job.Close(); err != nil {
		t.Fatal(err)
	}
	assertNothingLabelled(ctx, t, eng)
}

// get fetches url through the job's helper, the only way to its containers.
func get(ctx context.Context, t *testing.T, job checks.Dialer, url string) string {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: job.DialContext, DisableKeepAlives: true}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err == nil {
			b := make([]byte, 4096)
			n, _ := resp.Body.Read(b)
			_ = resp.Body.Close()
			return string(b[:n])
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func assertNothingLabelled(ctx context.Context, t *testing.T, eng *Engine) {
	t.Helper()
	f := client.Filters{}.Add("label", LabelManaged+"=true").Add("label", LabelRun+"="+eng.runID)
	cs, _ := eng.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	vs, _ := eng.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	ns, _ := eng.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if len(cs.Items) > 0 || len(vs.Items) > 0 || len(ns.Items) > 0 {
		t.Errorf("left: %d containers, %d volumes, %d networks", len(cs.Items), len(vs.Items), len(ns.Items))
	}
}
