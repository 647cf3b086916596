package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/grader/engine"
)

// floor does a job's engine work with no grading logic: build, create,
// start, one HTTP probe (polled until the app answers, up to 5 s), remove.
type floor struct{ cli *client.Client }

func newFloor(ctx context.Context) (*floor, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return nil, fmt.Errorf("the engine does not answer: %w", err)
	}
	return &floor{cli: cli}, nil
}

func (f *floor) close() { _ = f.cli.Close() }

// labels mark the floor's objects so a failed bench can be cleaned up with
// docker rm/rmi --filter label=grade.bench.
func labels() map[string]string { return map[string]string{"grade.bench": "floor"} }

func (f *floor) measure(ctx context.Context, subs []string, jobs int) (Measure, error) {
	durs := make([]float64, len(subs))
	errs := make([]error, len(subs))
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t := time.Now()
				errs[i] = f.one(ctx, subs[i], fmt.Sprintf("grade-bench-floor-%d:latest", i))
				durs[i] = time.Since(t).Seconds()
			}
		}()
	}
	for i := range subs {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Measure{}, err
	}
	return Measure{Name: "floor", Jobs: jobs, WallSec: round(time.Since(start).Seconds()), MedianSec: round(median(durs))}, nil
}

// one builds, runs, probes and removes one submission.
func (f *floor) one(ctx context.Context, dir, tag string) error {
	// Each submission's floor is bounded as grade bounds a job (the
	// scenario's build limit, then a minute to start and answer): a build
	// that never ends costs its limit, not the benchmark.
	ctx, cancel := context.WithTimeout(ctx, floorLimit)
	defer cancel()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(pw, dir)) }()
	res, err := f.cli.ImageBuild(ctx, pr, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true,
		Version: build.BuilderV1, Labels: nil})
	if err != nil {
		return nil // the engine refused the Dockerfile: nothing to run
	}
	failed := false
	dec := json.NewDecoder(res.Body)
	for {
		var m struct {
			ErrorDetail *struct{ Message string } `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			break
		}
		failed = failed || m.ErrorDetail != nil
	}
	_ = res.Body.Close()
	defer func() {
		_, _ = f.cli.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{PruneChildren: true})
	}()
	if failed {
		return nil
	}
	port, _ := network.ParsePort("3000/tcp")
	c, err := f.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: tag, Labels: labels(), ExposedPorts: network.PortSet{port: {}}},
		HostConfig: &container.HostConfig{PortBindings: network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1")}}}},
	})
	if err != nil {
		return err
	}
	defer func() {
		_, _ = f.cli.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}()
	if _, err := f.cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		return nil // the app cannot start: nothing to probe
	}
	ins, err := f.cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil || ins.Container.NetworkSettings == nil {
		return err
	}
	var hostPort string
	for _, b := range ins.Container.NetworkSettings.Ports[port] {
		hostPort = b.HostPort
	}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && hostPort != "" {
		if resp, err := hc.Get("http://127.0.0.1:" + hostPort + "/"); err == nil {
			_ = resp.Body.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// floorLimit bounds the floor's work on one submission.
const floorLimit = 4 * time.Minute

// tarDir writes dir's regular files as a build context.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// imageChecks times 10 file checks and 1 image check on the image of one
// submission: grade's way (engine.Job: one created, never started container
// for all file reads, and an inspect) against one container per check
// (`docker run --rm IMAGE test -e PATH`, as container-structure-test does).
func imageChecks(ctx context.Context, f *floor, dir string) (gradeWay, perCheck float64, err error) {
	eng, err := engine.New(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = eng.Close() }()
	defer func() { _, _ = eng.CleanRun() }()
	job := eng.NewImageJob("bench/image-checks", engine.JobOptions{})
	defer func() { _ = job.Close() }()
	info, err := job.Build(ctx, engine.BuildSpec{Dir: dir, Dockerfile: "Dockerfile", Shown: "Dockerfile", Timeout: 5 * time.Minute})
	if err != nil {
		return 0, 0, fmt.Errorf("building %s: %w", dir, err)
	}
	if !info.OK {
		return 0, 0, fmt.Errorf("building %s: %s", dir, info.Error)
	}
	paths := []string{"/app/app.js", "/app", "/usr/bin/node", "/etc/passwd", "/etc/os-release",
		"/usr/local/bin", "/home/node", "/tmp", "/bin/sh", "/app/missing.js"}
	t := time.Now()
	for _, p := range paths {
		if _, err := job.ReadFile(ctx, p, 1<<20); err != nil && !errors.Is(err, fs.ErrNotExist) && err.Error() != "no such file or directory" {
			return 0, 0, err
		}
	}
	if _, err := job.InspectImage(ctx); err != nil {
		return 0, 0, err
	}
	gradeWay = round(time.Since(t).Seconds())

	t = time.Now()
	for _, p := range paths {
		c, err := f.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config: &container.Config{Image: job.Image(), Entrypoint: []string{"test"}, Cmd: []string{"-e", p}, Labels: labels()},
		})
		if err != nil {
			return 0, 0, err
		}
		var werr error
		if _, err := f.cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err == nil {
			w := f.cli.ContainerWait(ctx, c.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
			select {
			case <-w.Result:
			case werr = <-w.Error:
			}
		}
		_, _ = f.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
		if werr != nil {
			return 0, 0, fmt.Errorf("waiting for a check container: %w", werr)
		}
	}
	if _, err := f.cli.ImageInspect(ctx, job.Image()); err != nil {
		return 0, 0, err
	}
	perCheck = round(time.Since(t).Seconds())
	return gradeWay, perCheck, nil
}
