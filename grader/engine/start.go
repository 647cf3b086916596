package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
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
	if err == nil {
		j.settle(ctx, id)
	}
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

// A container just started is given time to settle before the first check
// looks at it: until every TCP port its image EXPOSEs accepts a
// connection, or it stops, within settleMax (settleQuiet for an image
// that exposes none). Without it, whether a check that looks at the
// running container at once (an exec) sees an app that exits on starting
// would depend on how busy the engine is: the same submission would pass
// in one run and fail in the next. An app that is up answers within a
// moment, so this costs nothing the first HTTP check would not wait anyway.
const (
	settleMax   = 5 * time.Second
	settleQuiet = time.Second
	settlePoll  = 100 * time.Millisecond
)

// settle waits until the app container id is ready or stopped (see
// settleMax); it reports nothing: the checks see what came of it.
func (j *ImageJob) settle(ctx context.Context, id string) {
	ins, err := j.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return
	}
	var ports []int
	if c := ins.Container.Config; c != nil {
		for p := range c.ExposedPorts {
			if p.Proto() == network.TCP {
				ports = append(ports, int(p.Num()))
			}
		}
	}
	limit := settleMax
	if len(ports) == 0 {
		limit = settleQuiet
	}
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	wait := j.e.cli.ContainerWait(wctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	tick := time.NewTicker(settlePoll)
	defer tick.Stop()
	for {
		if len(ports) > 0 && j.listening(wctx, ins.Container, ports) {
			return
		}
		select {
		case <-wait.Result:
			return
		case err := <-wait.Error:
			_ = err // the checks see the container as it is
			return
		case <-wctx.Done():
			return
		case <-tick.C:
		}
	}
}

// listening reports whether every port of the container accepts a TCP
// connection from the job's helper.
func (j *ImageJob) listening(ctx context.Context, ins container.InspectResponse, ports []int) bool {
	for _, p := range ports {
		at, err := j.reachable(ctx, ins, p)
		if err != nil {
			return false
		}
		dctx, cancel := context.WithTimeout(ctx, settlePoll*5)
		c, err := j.DialContext(dctx, "tcp", at)
		cancel()
		if err != nil {
			return false
		}
		_ = c.Close()
	}
	return true
}

func cutEnv(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}
