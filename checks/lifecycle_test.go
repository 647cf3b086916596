package checks

import (
	"context"
	"slices"
	"testing"
)

func TestLifecycle(t *testing.T) {
	web := func(edit func(*ContainerInfo)) map[string]ContainerInfo {
		info := running("my-web-server", "nginx")
		if edit != nil {
			edit(&info)
		}
		return map[string]ContainerInfo{"my-web-server": info}
	}
	tests := []struct {
		name   string
		remove bool
		target *dockerFake
		status Status
		frags  []string
		calls  []string
	}{
		{"keeps its files", false, &dockerFake{containers: web(nil)}, StatusPass,
			[]string{"what grade writes in my-web-server survives docker stop and docker start", "read back after docker start"},
			[]string{"stop my-web-server", "start my-web-server"}},
		{"run with --rm", false, &dockerFake{containers: web(func(c *ContainerInfo) { c.AutoRemove = true })}, StatusFail,
			[]string{"the container was removed when it stopped: it was run with --rm, so docker start has nothing to start"},
			[]string{"stop my-web-server"}},
		{"does not start again", false, &dockerFake{containers: web(nil), startExits: true, fake: fake{logs: "fatal: port taken\n"}}, StatusFail,
			[]string{"after docker start, my-web-server: exited with code 1", "after docker start, my-web-server is not running: it exited with code 1", "fatal: port taken"}, nil},
		{"files lost", false, &dockerFake{containers: web(nil), stopLoses: true}, StatusFail,
			[]string{"the file changed inside the container was gone after docker stop and docker start"}, nil},
		{"cannot write", false, &dockerFake{containers: web(nil), writeFails: true}, StatusFail,
			[]string{"grade could not write its data into my-web-server", "Read-only file system"}, nil},
		{"no such container", false, &dockerFake{containers: map[string]ContainerInfo{}}, StatusFail,
			[]string{"there is no container named my-web-server"}, []string{}},
		{"not running", false, &dockerFake{containers: web(func(c *ContainerInfo) { c.Running, c.Status, c.ExitCode = false, "exited", 0 })}, StatusFail,
			[]string{"my-web-server is not running: it exited with code 0"}, []string{}},
		{"removed", true, &dockerFake{containers: web(nil)}, StatusPass,
			[]string{"docker rm -f removes the container", "docker rm -f removed it"},
			[]string{"stop my-web-server", "start my-web-server", "rm my-web-server"}},
		{"still there", true, &dockerFake{containers: web(nil), removeKeeps: true}, StatusFail,
			[]string{"after docker rm -f, my-web-server is still there"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &LifecycleCheck{Container: "my-web-server", Write: []string{"set", "${token}"}, Read: []string{"get"}, Remove: tt.remove}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, c.Run(context.Background(), tt.target), tt.status, tt.frags...)
			if tt.calls != nil && len(tt.calls)+len(tt.target.calls) > 0 && !slices.Equal(tt.target.calls, tt.calls) {
				t.Errorf("calls = %v, want %v", tt.target.calls, tt.calls)
			}
		})
	}
	want(t, (&LifecycleCheck{Container: "x"}).Run(context.Background(), bare{}), StatusError, "cannot stop and start")
	for _, tt := range []struct {
		name  string
		check LifecycleCheck
		field string
	}{
		{"fine", LifecycleCheck{Container: "w", Write: []string{"sh", "-c", "echo ${token} > /x"}, Read: []string{"cat", "/x"}}, ""},
		{"no container", LifecycleCheck{Write: []string{"set", "${token}"}, Read: []string{"get"}}, "container"},
		{"no token", LifecycleCheck{Container: "w", Write: []string{"set", "x"}, Read: []string{"get"}}, "write"},
		{"unknown variable", LifecycleCheck{Container: "w", Write: []string{"set", "${token}"}, Read: []string{"get", "${other}"}}, "write"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(t, tt.check.Validate()); got != tt.field {
				t.Errorf("Validate names %q, want %q", got, tt.field)
			}
		})
	}
}
