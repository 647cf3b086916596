package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/guard"
)

// The capabilities of a submission of docker commands (checks.ObjectInspector,
// VolumeReader, HostPorts, Lifecycle, NameResolver, WorkspaceEditor): what
// the student's script made, by the student's names (see commands.go).

// cmds returns the job's commands state, nil before its script ran.
func (j *CommandsJob) cmds() *guard.Commands {
	s := j.existingSession()
	if s == nil {
		return nil
	}
	return s.guard.Commands()
}

// studentContainer finds a container the student's commands made.
func (j *CommandsJob) studentContainer(name string) (*guard.Commands, guard.Container, error) {
	c := j.cmds()
	if c == nil {
		return nil, guard.Container{}, c.ErrNoObject("container", name)
	}
	_, k, ok := c.Lookup(name)
	if !ok {
		return nil, guard.Container{}, c.ErrNoObject("container", name)
	}
	return c, k, nil
}

// commandsContainer is service() for a submission of docker commands: the
// container of that name, as a *checks.StartError when there is none (the
// submission's fault).
func (j *CommandsJob) commandsContainer(name string) (string, error) {
	_, k, err := j.studentContainer(name)
	if err != nil {
		return "", &checks.StartError{Service: name, Err: err}
	}
	return k.ID, nil
}

// Container reads a container the student's commands made.
func (j *CommandsJob) Container(ctx context.Context, name string) (checks.ContainerInfo, error) {
	c, k, err := j.studentContainer(name)
	if err != nil {
		return checks.ContainerInfo{}, err
	}
	res, err := j.e.cli.ContainerInspect(ctx, k.ID, client.ContainerInspectOptions{})
	if err != nil {
		if isNotFound(err) { // removed by --rm, or by the engine
			return checks.ContainerInfo{}, c.ErrNoObject("container", name)
		}
		return checks.ContainerInfo{}, fmt.Errorf("inspecting %s of %s: %w", name, j.name, err)
	}
	ins := res.Container
	info := checks.ContainerInfo{Name: name, Image: k.Image, Ports: k.Ports, RestartPolicy: "no"}
	if st := ins.State; st != nil {
		info.Status, info.Running, info.ExitCode = string(st.Status), st.Running, st.ExitCode
	}
	if hc := ins.HostConfig; hc != nil {
		if p := string(hc.RestartPolicy.Name); p != "" {
			info.RestartPolicy = p
		}
		info.AutoRemove = hc.AutoRemove
	}
	info.Mounts = j.commandsMounts(c, ins.Mounts)
	if ns := ins.NetworkSettings; ns != nil {
		for n := range ns.Networks {
			info.Networks = append(info.Networks, studentName(c, n))
		}
		sort.Strings(info.Networks)
	}
	return info, nil
}

// commandsMounts gives a container's mounts in the student's names:
// volumes by their name, binds by their folder in the submission.
func (j *CommandsJob) commandsMounts(c *guard.Commands, ms []container.MountPoint) []checks.Mount {
	var out []checks.Mount
	for _, m := range ms {
		cm := checks.Mount{Type: string(m.Type), Destination: m.Destination}
		switch m.Type {
		case mount.TypeVolume:
			if rel, ok := j.boundFolder(m.Name); ok {
				// A folder of the submission, as the student bound it.
				cm.Type, cm.Source = string(mount.TypeBind), rel
				break
			}
			name, own := c.StudentName(m.Name)
			cm.Name, cm.Anonymous = name, !own
		case mount.TypeBind:
			cm.Source = m.Source
		}
		out = append(out, cm)
	}
	return out
}

// studentName is the student's name of an engine object of the job's.
func studentName(c *guard.Commands, engineName string) string {
	n, _ := c.StudentName(engineName)
	return n
}

// Volume reads a named volume the student's commands made.
func (j *CommandsJob) Volume(ctx context.Context, name string) (checks.VolumeInfo, error) {
	c := j.cmds()
	if c == nil {
		return checks.VolumeInfo{}, c.ErrNoObject("volume", name)
	}
	if !c.HasVolume(name) {
		return checks.VolumeInfo{}, c.ErrNoObject("volume", name)
	}
	res, err := j.e.cli.VolumeInspect(ctx, c.EngineName(name), client.VolumeInspectOptions{})
	if err != nil {
		if isNotFound(err) {
			return checks.VolumeInfo{}, c.ErrNoObject("volume", name)
		}
		return checks.VolumeInfo{}, fmt.Errorf("inspecting the volume %s of %s: %w", name, j.name, err)
	}
	info := checks.VolumeInfo{Name: name, Driver: res.Volume.Driver, Containers: map[string]string{}}
	for cname, id := range c.Snapshot() {
		ins, err := j.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			continue
		}
		for _, m := range ins.Container.Mounts {
			if m.Type == mount.TypeVolume && m.Name == c.EngineName(name) {
				info.Containers[cname] = m.Destination
			}
		}
	}
	return info, nil
}

// Network reads a network the student's commands made ("bridge": the
// job's copy of Docker's default network).
func (j *CommandsJob) Network(ctx context.Context, name string) (checks.NetworkInfo, error) {
	c := j.cmds()
	if c == nil || !c.HasNetwork(name) {
		return checks.NetworkInfo{}, c.ErrNoObject("network", name)
	}
	res, err := j.e.cli.NetworkInspect(ctx, c.EngineName(name), client.NetworkInspectOptions{})
	if err != nil {
		if isNotFound(err) {
			return checks.NetworkInfo{}, c.ErrNoObject("network", name)
		}
		return checks.NetworkInfo{}, fmt.Errorf("inspecting the network %s of %s: %w", name, j.name, err)
	}
	info := checks.NetworkInfo{Name: name, Driver: res.Network.Driver, Containers: map[string][]string{}}
	for cname, id := range c.Snapshot() {
		ins, err := j.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil || ins.Container.NetworkSettings == nil {
			continue
		}
		ep, ok := ins.Container.NetworkSettings.Networks[c.EngineName(name)]
		if !ok {
			continue
		}
		aliases := []string{}
		if ep != nil {
			for _, a := range ep.Aliases {
				// The engine adds the container's name and short id.
				if a != cname && !strings.HasPrefix(id, a) {
					aliases = append(aliases, a)
				}
			}
		}
		info.Containers[cname] = aliases
	}
	return info, nil
}

// ReadVolume reads a file of a named volume the student's commands made,
// through a created, never started helper container that mounts it
// read-only.
func (j *CommandsJob) ReadVolume(ctx context.Context, volume, p string, limit int64) (checks.File, error) {
	c := j.cmds()
	if c == nil {
		return checks.File{}, c.ErrNoObject("volume", volume)
	}
	if !c.HasVolume(volume) {
		return checks.File{}, c.ErrNoObject("volume", volume)
	}
	const at = "/grade-volume"
	hc := j.hostConfig()
	hc.NetworkMode = "none"
	hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: c.EngineName(volume), Target: at, ReadOnly: true,
		VolumeOptions: &mount.VolumeOptions{NoCopy: true}}}
	id, err := j.create(ctx, &container.Config{Image: j.e.helper, Entrypoint: []string{"/grade-volume-reader"}, NetworkDisabled: true}, hc, "")
	if err != nil {
		return checks.File{}, fmt.Errorf("preparing to read the volume %s of %s: %w", volume, j.name, err)
	}
	defer j.remove(id)
	return j.readPath(ctx, id, path.Join(at, path.Clean("/"+p)), p, limit, "the volume "+volume)
}

// HostEndpoint gives the address at which grade reaches what a container
// publishes on a host port, as the student asked (-p HOST:CONTAINER): the
// engine never got the student's host port.
func (j *CommandsJob) HostEndpoint(ctx context.Context, name string, hostPort int) (string, error) {
	_, k, err := j.studentContainer(name)
	if err != nil {
		return "", &checks.StartError{Service: name, Err: err}
	}
	cport := 0
	for _, p := range k.Ports {
		if p.HostPort == hostPort && p.Proto == "tcp" {
			cport = p.ContainerPort
			break
		}
	}
	if cport == 0 {
		return "", &checks.NotPublishedError{Container: name, HostPort: hostPort, Ports: k.Ports}
	}
	res, err := j.e.cli.ContainerInspect(ctx, k.ID, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("inspecting %s of %s: %w", name, j.name, err)
	}
	ins := res.Container
	if ins.State != nil && !ins.State.Running {
		return "", exitedErr(checks.ContainerState{ExitCode: ins.State.ExitCode, OOMKilled: ins.State.OOMKilled})
	}
	if ins.NetworkSettings == nil {
		return "", &checks.StartError{Service: name, Err: errors.New("it is on no network")}
	}
	at, err := j.reachable(ctx, ins, cport)
	if errors.Is(err, errNoAddress) {
		return "", &checks.StartError{Service: name, Err: errors.New("it has no address on a network grade reaches (--network none?)")}
	}
	return at, err
}

// stopTimeout is how long docker stop waits before it kills: short, as a
// process that ignores SIGTERM makes every stop last it.
const stopTimeout = 3

// Stop stops a container of the student's, as docker stop does.
func (j *CommandsJob) Stop(ctx context.Context, name string) error {
	c, k, err := j.studentContainer(name)
	if err != nil {
		return err
	}
	t := stopTimeout
	if _, err := j.e.cli.ContainerStop(ctx, k.ID, client.ContainerStopOptions{Timeout: &t}); err != nil {
		if isNotFound(err) {
			return c.ErrNoObject("container", name)
		}
		return fmt.Errorf("stopping %s of %s: %w", name, j.name, err)
	}
	return nil
}

// Start starts a container of the student's, as docker start does.
func (j *CommandsJob) Start(ctx context.Context, name string) error {
	c, k, err := j.studentContainer(name)
	if err != nil {
		return err
	}
	if _, err := j.e.cli.ContainerStart(ctx, k.ID, client.ContainerStartOptions{}); err != nil {
		if isNotFound(err) {
			return c.ErrNoObject("container", name)
		}
		return &checks.StartError{Service: name, Err: startErr(err)}
	}
	return nil
}

// Remove removes a container of the student's, as docker rm -f does.
func (j *CommandsJob) Remove(ctx context.Context, name string) error {
	c, k, err := j.studentContainer(name)
	if err != nil {
		return err
	}
	if _, err := j.e.cli.ContainerRemove(ctx, k.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
		return fmt.Errorf("removing %s of %s: %w", name, j.name, err)
	}
	c.Forget(name)
	return nil
}

// Recreate removes a container of the student's and runs a new one with
// the very same options (name, image, command, mounts, networks with their
// aliases, ports), as docker rm -f and the same docker run again would.
func (j *CommandsJob) Recreate(ctx context.Context, name string) error {
	c, k, err := j.studentContainer(name)
	if err != nil {
		return err
	}
	res, err := j.e.cli.ContainerInspect(ctx, k.ID, client.ContainerInspectOptions{})
	if err != nil {
		if isNotFound(err) {
			return c.ErrNoObject("container", name)
		}
		return fmt.Errorf("inspecting %s of %s: %w", name, j.name, err)
	}
	ins := res.Container
	if ins.Config == nil || ins.HostConfig == nil {
		return fmt.Errorf("the engine gave no configuration for %s of %s", name, j.name)
	}
	if _, err := j.e.cli.ContainerRemove(ctx, k.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
		return fmt.Errorf("removing %s of %s: %w", name, j.name, err)
	}
	cfg, hc := ins.Config, ins.HostConfig
	cfg.Hostname = "" // a new container gets its own, as docker run gives it
	var first string
	eps := map[string]*network.EndpointSettings{}
	if ins.NetworkSettings != nil {
		for n, ep := range ins.NetworkSettings.Networks {
			var aliases []string
			if ep != nil {
				for _, a := range ep.Aliases {
					if !strings.HasPrefix(ins.ID, a) {
						aliases = append(aliases, a)
					}
				}
			}
			eps[n] = &network.EndpointSettings{Aliases: aliases}
		}
	}
	names := make([]string, 0, len(eps))
	for n := range eps {
		names = append(names, n)
	}
	sort.Strings(names)
	nc := &network.NetworkingConfig{}
	if string(hc.NetworkMode) != "" && eps[string(hc.NetworkMode)] != nil {
		first = string(hc.NetworkMode)
	} else if len(names) > 0 && !hc.NetworkMode.IsContainer() && !hc.NetworkMode.IsNone() {
		first = names[0]
		hc.NetworkMode = container.NetworkMode(first)
	}
	if first != "" {
		nc.EndpointsConfig = map[string]*network.EndpointSettings{first: eps[first]}
	}
	engineName := strings.TrimPrefix(ins.Name, "/")
	mctx, made := making(ctx)
	defer made()
	created, err := j.e.cli.ContainerCreate(mctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, NetworkingConfig: nc, Name: engineName})
	if err != nil {
		return &checks.StartError{Service: name, Err: fmt.Errorf("running it again: %w", startErr(err))}
	}
	c.Replace(name, guard.Container{ID: created.ID, Image: k.Image, Ports: k.Ports})
	for _, n := range names {
		if n == first {
			continue
		}
		if _, err := j.e.cli.NetworkConnect(ctx, n, client.NetworkConnectOptions{Container: created.ID, EndpointConfig: eps[n]}); err != nil {
			return fmt.Errorf("connecting %s of %s to %s again: %w", name, j.name, studentName(c, n), err)
		}
	}
	if _, err := j.e.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return &checks.StartError{Service: name, Err: startErr(err)}
	}
	return nil
}

// resolveScript looks NAME up and, with a port, connects to it: run by
// busybox's shell in the container's network namespace (its /etc/hosts
// and resolv.conf are the container's).
const resolveScript = `nslookup "$1" 2>&1; echo "--- grade: hosts"; grep -w -- "$1" /etc/hosts 2>/dev/null; ` +
	`if [ "$2" != 0 ]; then if nc -w 3 "$1" "$2" </dev/null >/dev/null 2>&1; then echo "--- grade: connected"; else echo "--- grade: no connection"; fi; fi`

var (
	nslookupAddrRe = regexp.MustCompile(`(?m)^Address(?: \d+)?:\s+([0-9a-fA-F.:]+)(?:\s|$)`)
	hostsAddrRe    = regexp.MustCompile(`(?m)^([0-9a-fA-F.:]+)\s`)
)

// ResolveFrom looks a name up from inside a container of the student's, as
// its processes would, and with port > 0 connects to it there.
func (j *CommandsJob) ResolveFrom(ctx context.Context, from, name string, port int) (checks.Resolution, error) {
	id, err := j.commandsContainer(from)
	if err != nil {
		return checks.Resolution{}, err
	}
	res, err := j.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return checks.Resolution{}, fmt.Errorf("inspecting %s of %s: %w", from, j.name, err)
	}
	if st := res.Container.State; st != nil && !st.Running {
		return checks.Resolution{}, exitedErr(checks.ContainerState{ExitCode: st.ExitCode, OOMKilled: st.OOMKilled})
	}
	hc := j.hostConfig()
	hc.NetworkMode = container.NetworkMode("container:" + id)
	hid, err := j.create(ctx, &container.Config{Image: j.e.helper, Entrypoint: []string{"sh", "-c", resolveScript, "grade-resolve"},
		Cmd: []string{name, strconv.Itoa(port)}}, hc, "")
	if err != nil {
		return checks.Resolution{}, fmt.Errorf("starting the network helper (%s) for %s: %w", j.e.helper, j.name, err)
	}
	defer j.remove(hid)
	out, err := j.runToExit(ctx, hid)
	if err != nil {
		return checks.Resolution{}, err
	}
	return parseResolution(out.Stdout+out.Stderr, port), nil
}

// parseResolution reads what resolveScript printed.
func parseResolution(out string, port int) checks.Resolution {
	lookup, rest, _ := strings.Cut(out, "--- grade: hosts")
	r := checks.Resolution{Output: strings.TrimSpace(lookup)}
	seen := map[string]bool{}
	// nslookup first names its server ("Server: 127.0.0.11", "Address:
	// 127.0.0.11:53"): the answer's addresses come after "Name:".
	if i := strings.Index(lookup, "Name:"); i >= 0 {
		for _, m := range nslookupAddrRe.FindAllStringSubmatch(lookup[i:], -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				r.Addrs = append(r.Addrs, m[1])
			}
		}
	}
	hosts, conn, _ := strings.Cut(rest, "--- grade: ")
	for _, m := range hostsAddrRe.FindAllStringSubmatch(hosts, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			r.Addrs = append(r.Addrs, m[1])
		}
	}
	r.Reached = port > 0 && strings.HasPrefix(strings.TrimSpace(conn), "connected")
	return r
}

// EditWorkspace writes a file of the workspace the student's bind mounts
// come from, as an edit on the host would.
func (j *CommandsJob) EditWorkspace(ctx context.Context, p string, content []byte) error {
	c := j.cmds()
	if c == nil {
		return errors.New("the script has not run: there is no workspace to edit")
	}
	clean := path.Clean(p)
	if p == "" || path.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("%q is not a path inside the submission", p)
	}
	return c.EditWorkspace(ctx, clean, content)
}

// Mounts lists the mounts of a container of the student's, in the
// student's names.
func (j *CommandsJob) Mounts(ctx context.Context, name string) ([]checks.Mount, error) {
	c, k, err := j.studentContainer(name)
	if err != nil {
		return nil, &checks.StartError{Service: name, Err: err}
	}
	ins, err := j.e.cli.ContainerInspect(ctx, k.ID, client.ContainerInspectOptions{})
	if err != nil {
		if isNotFound(err) {
			return nil, &checks.StartError{Service: name, Err: c.ErrNoObject("container", name)}
		}
		return nil, fmt.Errorf("inspecting %s of %s: %w", name, j.name, err)
	}
	return j.commandsMounts(c, ins.Container.Mounts), nil
}

// CommandsJob is the job of a submission of docker commands: what its
// script made is kept by its guard (package guard).
type CommandsJob struct {
	*base
	opts CommandsOptions
}

// NewCommandsJob prepares the job of a submission of docker commands
// (opts.Commands; none lets it run no image but the docker CLI's).
func (e *Engine) NewCommandsJob(name string, opts JobOptions) *CommandsJob {
	j := &CommandsJob{base: e.newJob(name, opts)}
	if opts.Commands != nil {
		j.opts = *opts.Commands
	}
	j.ops = j
	return j
}

// service is a container the script made.
func (j *CommandsJob) service(_ context.Context, name string) (string, error) {
	return j.commandsContainer(name)
}

// containerOf is a container the script made, or "".
func (j *CommandsJob) containerOf(name string) string {
	id, _ := j.commandsContainer(name)
	return id
}

// RunScript runs the student's script of docker commands (see RunScript of
// ImageJob) against the guard in commands mode.
func (j *CommandsJob) RunScript(ctx context.Context, spec checks.ScriptSpec) (checks.ScriptRun, error) {
	return j.runScript(ctx, spec, &j.opts)
}

// Close removes everything the job created: the script's containers,
// networks and volumes, the job's helper, its guard (see ImageJob's Close).
func (j *CommandsJob) Close() error { return j.close(nil, nil) }
