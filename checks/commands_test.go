package checks

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"testing"
)

// dockerFake is what a student's docker commands made, by the student's
// names, with every capability the kinds of a commands stack use. Exec
// understands three commands: "set X" stores X in the container's own
// filesystem, "get" prints it, and "cat PATH" prints a file edited in the
// workspace when a bind mount of the container shows it at PATH.
type dockerFake struct {
	fake
	containers map[string]ContainerInfo
	volumes    map[string]VolumeInfo
	networks   map[string]NetworkInfo
	// volFiles holds "volume/path" for each file in a volume.
	volFiles map[string]bool
	resolve  func(container, name string, port int) (Resolution, error)
	// endpoints maps a published host port to where grade reaches it.
	endpoints map[int]string
	// stored is what "set" wrote into each container.
	stored map[string]string
	// edits are the workspace files grade edited: path → content.
	edits map[string]string

	stopLoses     bool // docker stop loses the container's files (never so in Docker)
	startExits    bool // the container exits at once when started
	removeKeeps   bool // docker rm -f leaves the container
	recreateKeeps bool // the data survives docker rm and docker run
	writeFails    bool // "set" exits 1

	execIn    []string // containers exec'd in, in order
	logsOf    []string // containers whose logs were read
	endpoint2 [][2]any // HostEndpoint's arguments
	calls     []string // lifecycle calls, "stop my-web"
}

func notThere(what, name string) error { return fmt.Errorf("%s %s: %w", what, name, ErrNotExist) }

func (d *dockerFake) Container(_ context.Context, name string) (ContainerInfo, error) {
	info, ok := d.containers[name]
	if !ok {
		return ContainerInfo{}, notThere("container", name)
	}
	return info, nil
}

func (d *dockerFake) Volume(_ context.Context, name string) (VolumeInfo, error) {
	v, ok := d.volumes[name]
	if !ok {
		return VolumeInfo{}, notThere("volume", name)
	}
	return v, nil
}

func (d *dockerFake) Network(_ context.Context, name string) (NetworkInfo, error) {
	n, ok := d.networks[name]
	if !ok {
		return NetworkInfo{}, notThere("network", name)
	}
	return n, nil
}

func (d *dockerFake) ReadVolume(_ context.Context, vol, p string, _ int64) (File, error) {
	if !d.volFiles[vol+"/"+p] {
		return File{}, notThere("file", p)
	}
	return File{Path: p}, nil
}

func (d *dockerFake) HostEndpoint(_ context.Context, container string, hostPort int) (string, error) {
	d.endpoint2 = append(d.endpoint2, [2]any{container, hostPort})
	info, ok := d.containers[container]
	if !ok {
		return "", notThere("container", container)
	}
	for _, b := range info.Ports {
		if b.HostPort == hostPort {
			return d.endpoints[hostPort], nil
		}
	}
	return "", &NotPublishedError{Container: container, HostPort: hostPort, Ports: info.Ports}
}

func (d *dockerFake) ResolveFrom(_ context.Context, container, name string, port int) (Resolution, error) {
	if _, ok := d.containers[container]; !ok {
		return Resolution{}, notThere("container", container)
	}
	return d.resolve(container, name, port)
}

func (d *dockerFake) Stop(_ context.Context, name string) error {
	d.calls = append(d.calls, "stop "+name)
	info, ok := d.containers[name]
	if !ok {
		return notThere("container", name)
	}
	if info.AutoRemove {
		delete(d.containers, name)
		return nil
	}
	info.Running, info.Status = false, "exited"
	d.containers[name] = info
	if d.stopLoses {
		delete(d.stored, name)
	}
	return nil
}

func (d *dockerFake) Start(_ context.Context, name string) error {
	d.calls = append(d.calls, "start "+name)
	info, ok := d.containers[name]
	if !ok {
		return notThere("container", name)
	}
	info.Running, info.Status = !d.startExits, "running"
	if d.startExits {
		info.Status, info.ExitCode = "exited", 1
	}
	d.containers[name] = info
	return nil
}

func (d *dockerFake) Remove(_ context.Context, name string) error {
	d.calls = append(d.calls, "rm "+name)
	if _, ok := d.containers[name]; !ok {
		return notThere("container", name)
	}
	if !d.removeKeeps {
		delete(d.containers, name)
	}
	return nil
}

func (d *dockerFake) Recreate(_ context.Context, name string) error {
	d.calls = append(d.calls, "recreate "+name)
	if _, ok := d.containers[name]; !ok {
		return notThere("container", name)
	}
	if !d.recreateKeeps {
		delete(d.stored, name)
	}
	return nil
}

func (d *dockerFake) Mounts(_ context.Context, name string) ([]Mount, error) {
	info, ok := d.containers[name]
	if !ok {
		return nil, notThere("container", name)
	}
	return info.Mounts, nil
}

func (d *dockerFake) EditWorkspace(_ context.Context, p string, content []byte) error {
	if d.edits == nil {
		d.edits = map[string]string{}
	}
	d.edits[p] = string(content)
	return nil
}

func (d *dockerFake) State(_ context.Context, name string) (ContainerState, error) {
	if info, ok := d.containers[name]; ok {
		return ContainerState{Running: info.Running, ExitCode: info.ExitCode, Hostname: "abc123"}, nil
	}
	return d.state, d.stateErr
}

func (d *dockerFake) Logs(_ context.Context, name string, _ int) (string, error) {
	d.logsOf = append(d.logsOf, name)
	if _, ok := d.containers[name]; !ok && d.containers != nil {
		return "", notThere("container", name)
	}
	return d.logs, nil
}

func (d *dockerFake) Exec(_ context.Context, name string, s ExecSpec) (Output, error) {
	d.execIn = append(d.execIn, name)
	info, ok := d.containers[name]
	if !ok {
		return Output{}, notThere("container", name)
	}
	if !info.Running {
		return Output{}, errors.New("container " + name + " is not running")
	}
	argv := strings.Join(s.Cmd, " ")
	switch {
	case strings.HasPrefix(argv, "set "):
		if d.writeFails {
			return Output{ExitCode: 1, Stderr: "Read-only file system"}, nil
		}
		if d.stored == nil {
			d.stored = map[string]string{}
		}
		d.stored[name] = strings.TrimPrefix(argv, "set ")
		return Output{Stdout: "OK\n"}, nil
	case argv == "get":
		return Output{Stdout: d.stored[name] + "\n"}, nil
	case strings.HasPrefix(argv, "cat /"):
		want := strings.TrimPrefix(argv, "cat ")
		for _, m := range info.Mounts {
			if m.Type != "bind" {
				continue
			}
			for p, content := range d.edits {
				rel := strings.TrimPrefix(p, path.Clean(m.Source)+"/")
				if rel != p && path.Join(m.Destination, rel) == want {
					return Output{Stdout: content}, nil
				}
			}
		}
		return Output{ExitCode: 1, Stderr: "cat: " + want + ": No such file or directory\n"}, nil
	}
	if d.exec != nil {
		return d.exec(s)
	}
	return Output{}, nil
}

// running is a running container of the image.
func running(name, image string) ContainerInfo {
	return ContainerInfo{Name: name, Image: image, Status: "running", Running: true, RestartPolicy: "no", Networks: []string{"bridge"}}
}

// fieldOf returns the field a validation error names, "" for none.
func fieldOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a field error", err)
	}
	return fe.Field
}

// TestCheckStack: the kinds whose keys depend on the stack accept the keys
// of theirs and refuse the others'.
func TestCheckStack(t *testing.T) {
	persist := func(service, container string) *Persistence {
		return &Persistence{Service: service, Container: container, Path: "/data", Write: []string{"set", "${token}"}, Read: []string{"get"}}
	}
	tests := []struct {
		name  string
		check StackChecker
		stack string
		field string // "" when it fits
	}{
		{"exec in an image stack", &Exec{Command: []string{"ls"}}, StackImage, ""},
		{"exec of a service", &Exec{Service: "web", Command: []string{"ls"}}, StackCompose, ""},
		{"exec of a container", &Exec{Container: "my-web", Command: []string{"ls"}}, StackCommands, ""},
		{"exec without a container", &Exec{Command: []string{"ls"}}, StackCommands, "container"},
		{"exec of a service in commands", &Exec{Service: "web", Command: []string{"ls"}}, StackCommands, "service"},
		{"exec of a container in compose", &Exec{Container: "web", Command: []string{"ls"}}, StackCompose, "container"},
		{"exec of a container in image", &Exec{Container: "web", Command: []string{"ls"}}, StackImage, "container"},

		{"logs of a container", &Logs{Container: "my-web"}, StackCommands, ""},
		{"logs without a container", &Logs{}, StackCommands, "container"},
		{"logs of a container in compose", &Logs{Container: "my-web"}, StackCompose, "container"},
		{"logs of the image's app", &Logs{}, StackImage, ""},

		{"http on a container port", &HTTP{Port: 3000}, StackImage, ""},
		{"http of a service", &HTTP{Service: "web", Port: 5000}, StackCompose, ""},
		{"http on a host port", &HTTP{Container: "my-web", HostPort: 8080}, StackCommands, ""},
		{"http without host_port", &HTTP{Container: "my-web"}, StackCommands, "host_port"},
		{"http on a container port in commands", &HTTP{Container: "my-web", Port: 80}, StackCommands, "port"},
		{"http without a container", &HTTP{HostPort: 8080}, StackCommands, "container"},
		{"http on a host port in image", &HTTP{HostPort: 8080}, StackImage, "host_port"},
		{"http of a container in compose", &HTTP{Container: "web", Port: 80}, StackCompose, "container"},
		{"http without a port", &HTTP{}, StackImage, "port"},
		{"http before in a container", &HTTP{Container: "my-web", HostPort: 8080, Before: &HTTPBefore{Container: "my-web"}}, StackCommands, ""},
		{"http before in a service, commands", &HTTP{Container: "my-web", HostPort: 8080, Before: &HTTPBefore{Service: "my-web"}}, StackCommands, "before.service"},
		{"http before in a container, compose", &HTTP{Service: "web", Port: 80, Before: &HTTPBefore{Container: "redis"}}, StackCompose, "before.container"},

		{"persistence of a service", persist("redis", ""), StackCompose, ""},
		{"persistence of a container", persist("", "my-db"), StackCommands, ""},
		{"persistence of a container in compose", persist("", "my-db"), StackCompose, "container"},
		{"persistence of a service in commands", persist("redis", ""), StackCommands, "service"},
		{"persistence without a container", persist("", ""), StackCommands, "container"},
		{"persistence without a service", persist("", ""), StackCompose, "service"},
		{"persistence in an image stack", persist("", ""), StackImage, "kind"},

		{"script that pushes", &Script{File: "push.sh", ImageName: "my-app:1.0", Registry: "localhost:5000"}, StackImage, ""},
		{"script of commands", &Script{File: "run.sh"}, StackCommands, ""},
		{"script without an image name", &Script{File: "push.sh"}, StackImage, "image_name"},
		{"script with an image name in commands", &Script{File: "run.sh", ImageName: "my-app:1.0", Registry: "localhost:5000"}, StackCommands, "image_name"},
		{"script in compose", &Script{File: "run.sh"}, StackCompose, "kind"},
		{"script that must push", &Script{File: "push.sh", ImageName: "my-app:1.0", Registry: "localhost:5000", Expect: ScriptExpect{Pushed: true}}, StackImage, ""},
		{"script of commands that must push", &Script{File: "run.sh", Expect: ScriptExpect{Pushed: true}}, StackCommands, "expect.pushed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(t, tt.check.CheckStack(tt.stack)); got != tt.field {
				t.Errorf("CheckStack(%s) names %q, want %q", tt.stack, got, tt.field)
			}
		})
	}
}

// TestCommandsKinds: the kinds that grade a commands stack say so, and
// those that depend on the stack do not claim one.
func TestCommandsKinds(t *testing.T) {
	for _, k := range []string{"container", "volume", "network", "dns", "lifecycle", "bind-mount"} {
		su, ok := Kinds[k]().(StackUser)
		if !ok || su.Stack() != StackCommands {
			t.Errorf("%s does not grade a commands stack", k)
		}
	}
	for _, k := range []string{"persistence", "script", "http", "exec", "logs"} {
		c := Kinds[k]()
		if _, ok := c.(StackUser); ok {
			t.Errorf("%s claims one stack", k)
		}
		if _, ok := c.(StackChecker); !ok {
			t.Errorf("%s does not check its keys against the stack", k)
		}
	}
}
