package checks

import (
	"context"
	"slices"
	"testing"
)

// TestPersistenceCommands: in a commands stack, persistence writes into the
// student's container, has it removed and run again, and reads back.
func TestPersistenceCommands(t *testing.T) {
	spec := &Persistence{Container: "my-db", Path: "/data", Write: []string{"set", "${token}"}, Read: []string{"get"}}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := spec.CheckStack(StackCommands); err != nil {
		t.Fatal(err)
	}
	db := func(ms ...Mount) map[string]ContainerInfo {
		info := running("my-db", "redis")
		info.Mounts = ms
		return map[string]ContainerInfo{"my-db": info}
	}
	named := Mount{Type: "volume", Name: "db-data", Destination: "/data"}
	tests := []struct {
		name   string
		target *dockerFake
		status Status
		frags  []string
	}{
		{"named volume", &dockerFake{containers: db(named), recreateKeeps: true}, StatusPass,
			[]string{"what my-db stores in /data survives docker rm and a new docker run, on a named volume",
				"/data is the named volume db-data; the value written before docker rm was read back after docker run"}},
		{"nothing mounted", &dockerFake{containers: db()}, StatusFail,
			[]string{"the data was gone after the container was recreated: what grade wrote into my-db before docker rm was not there after docker run",
				"nothing is mounted at /data in my-db", "docker volume create data, then docker run -v data:/data"}},
		{"anonymous volume", &dockerFake{containers: db(Mount{Type: "volume", Name: "77ab", Anonymous: true, Destination: "/data"})}, StatusFail,
			[]string{"the data was gone after the container was recreated", "a bare -v /data", "name it: -v data:/data"}},
		{"bind mount that keeps the data", &dockerFake{containers: db(Mount{Type: "bind", Source: "data", Destination: "/data"}), recreateKeeps: true}, StatusFail,
			[]string{"/data is a bind mount of data, a folder of the host; keep the data in a named volume (docker volume create data, then -v data:/data"}},
		{"volume elsewhere", &dockerFake{containers: db(Mount{Type: "volume", Name: "db-data", Destination: "/var/lib/redis"})}, StatusFail,
			[]string{"the data was gone", "the named volume db-data is mounted at /var/lib/redis instead"}},
		{"cannot write", &dockerFake{containers: db(named), writeFails: true}, StatusFail,
			[]string{"grade could not write its data into my-db", "Read-only file system"}},
		{"no such container", &dockerFake{containers: map[string]ContainerInfo{}}, StatusFail,
			[]string{"there is no container named my-db: did your script run docker run with --name my-db?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, spec.Run(context.Background(), tt.target), tt.status, tt.frags...)
			if len(tt.target.containers) > 0 && !tt.target.writeFails && !slices.Equal(tt.target.calls, []string{"recreate my-db"}) {
				t.Errorf("calls = %v", tt.target.calls)
			}
			for _, name := range tt.target.execIn {
				if name != "my-db" {
					t.Errorf("exec in %q", name)
				}
			}
		})
	}
	want(t, spec.Run(context.Background(), &cycler{}), StatusError, "cannot recreate a student's container")
	for _, bad := range []*Persistence{
		{Path: "/data", Write: []string{"set", "${token}"}, Read: []string{"get"}},
		{Service: "redis", Container: "my-db", Path: "/data", Write: []string{"set", "${token}"}, Read: []string{"get"}},
		{Container: "my db", Path: "/data", Write: []string{"set", "${token}"}, Read: []string{"get"}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
