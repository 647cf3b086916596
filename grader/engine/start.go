package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"

	"github.com/gradeproject/grade/checks"
)

// start starts the app container once (through testcontainers-go) and
// returns its id. A container that cannot start is a StartError: the
// submission's fault.
func (j *ImageJob) start(ctx context.Context) (string, error) {
	j.mu.Lock()
	if j.started {
		id, err := j.app, j.startEr
		j.mu.Unlock()
		return id, err
	}
	j.mu.Unlock()
	if !j.BuildInfo().OK {
		return "", &checks.StartError{Err: fmt.Errorf("the image did not build")}
	}
	netName, err := j.ensureNetwork(ctx)
	if err != nil {
		return "", err
	}
	sctx, cancel := context.WithTimeout(ctx, j.limits.Start.Std())
	defer cancel()
	id, err := j.startApp(sctx, netName)
	if err != nil && sctx.Err() != nil && ctx.Err() == nil {
		err = &checks.StartError{Err: fmt.Errorf("it did not start within %s", j.limits.Start.Std())}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	// Recorded whatever happened: a second attempt would clash with the
	// container's name, and the first one's verdict stands for the job.
	j.app, j.started, j.startEr = id, true, err
	return id, err
}

func (j *ImageJob) startApp(ctx context.Context, netName string) (string, error) {
	env := map[string]string{}
	for _, kv := range j.env {
		k, v, _ := cutEnv(kv)
		env[k] = v
	}
	sandbox := j.hostConfig()
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:    j.tag,
			Name:     "grade-" + j.slug + "-app",
			Labels:   j.e.labels(j.name),
			Env:      env,
			Networks: []string{netName},
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.Resources = sandbox.Resources
				hc.SecurityOpt = sandbox.SecurityOpt
				hc.CapDrop = sandbox.CapDrop
				hc.LogConfig = sandbox.LogConfig
			},
		},
		Started: true,
	}
	c, err := testcontainers.GenericContainer(ctx, req)
	var id string
	if c != nil {
		id = c.GetContainerID()
	}
	if err != nil {
		var se *checks.StartError
		if errors.As(startErr(err), &se) {
			return id, se
		}
		return id, fmt.Errorf("starting the container of %s: %w", j.name, err)
	}
	return id, nil
}

func cutEnv(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}
