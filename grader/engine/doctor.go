package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// Facts is what `grade doctor` reads off the engine.
type Facts struct {
	Version, APIVersion string
	OS                  string
	Daemon              string // where the engine is: unix:///var/run/docker.sock, tcp://docker:2376
	StorageDriver       string
	CgroupDriver        string
	CgroupVersion       string
	CPUs                int
	Memory              int64
	// Local is true when the engine runs on grade's own machine; false for
	// Docker Desktop's VM, a CI service (docker:dind) or another machine.
	// Grading works the same on both.
	Local bool
	// Name is the engine's host name.
	Name string
	// BuildPIDs is true when build steps get the pids limit.
	BuildPIDs bool
	// Builder builds the submissions (BuilderClassic, BuilderBuildKit);
	// Frontend is the Dockerfile frontend image BuildKit builds with, ""
	// for the engine's built-in one.
	Builder, Frontend string
	// StepLimits is true when BuildKit's build steps get the job's memory,
	// CPU and pids limits (cgroup.go's stepLimiter).
	StepLimits bool
}

// Facts reads the engine's version, drivers and resources.
func (e *Engine) Facts(ctx context.Context) (Facts, error) {
	v, err := e.cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return Facts{}, fmt.Errorf("asking the engine its version: %w", err)
	}
	info, err := e.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Facts{}, fmt.Errorf("asking the engine about itself: %w", err)
	}
	i := info.Info
	return Facts{
		Version: v.Version, APIVersion: v.APIVersion, OS: i.OperatingSystem, Daemon: e.cli.DaemonHost(),
		StorageDriver: i.Driver, CgroupDriver: i.CgroupDriver, CgroupVersion: i.CgroupVersion,
		CPUs: i.NCPU, Memory: i.MemTotal, Local: e.local, Name: i.Name, BuildPIDs: e.cgroups != nil && e.builder == BuilderClassic,
		Builder: e.builder, Frontend: e.frontend(ctx), StepLimits: e.steps != nil,
	}, nil
}

// TryJob does what grading does with a tiny image: builds it FROM the helper
// image, starts it in the sandbox and fetches a page from it the way the
// http check does (through grade's helper container on the job's network),
// then removes everything. It returns where the page was fetched from.
func (e *Engine) TryJob(ctx context.Context) (string, error) {
	dir, err := e.makeTempDir(doctorDirPrefix)
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	df := fmt.Sprintf("FROM %s\nRUN mkdir -p /www && echo grade-doctor > /www/index.html\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n", e.helper)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return "", err
	}
	j := e.NewImageJob("doctor/doctor", JobOptions{})
	defer func() {
		_ = j.Close()
		_, _ = e.CleanRun()
	}()
	b, err := j.Build(ctx, BuildSpec{Dir: dir, Dockerfile: "Dockerfile", Shown: "Dockerfile", Timeout: 2 * time.Minute})
	if err != nil {
		return "", err
	}
	if !b.OK {
		return "", fmt.Errorf("building FROM %s: %s", e.helper, b.Error)
	}
	addr, err := j.Endpoint(ctx, "", 8080)
	if err != nil {
		return "", err
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DialContext: j.DialContext}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		body, err := fetch(ctx, hc, "http://"+addr+"/")
		if err == nil && strings.Contains(body, "grade-doctor") {
			return addr, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err == nil {
				err = fmt.Errorf("unexpected answer %q", body)
			}
			return addr, fmt.Errorf("the container runs but %s does not answer through grade's helper: %w", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func fetch(ctx context.Context, hc *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return string(b), err
}
