package checks

import (
	"context"
	"strings"
	"testing"
)

// cycler is a target whose compose stack can go down and up: the service's
// data survives when survive is set.
type cycler struct {
	fake
	down     DownInfo
	upOK     bool
	mounts   []Mount
	survive  bool
	stored   string
	writeOut Output
	cycles   int
}

func (c *cycler) Down(context.Context) (DownInfo, error) { c.cycles++; return c.down, nil }

func (c *cycler) UpAgain(context.Context) (StackInfo, error) {
	if !c.survive {
		c.stored = ""
	}
	if !c.upOK {
		return StackInfo{Error: "service web exited (1)"}, nil
	}
	return StackInfo{OK: true}, nil
}

func (c *cycler) Mounts(context.Context, string) ([]Mount, error) { return c.mounts, nil }

func (c *cycler) Exec(_ context.Context, _ string, s ExecSpec) (Output, error) {
	argv := strings.Join(s.Cmd, " ")
	if strings.HasPrefix(argv, "set ") {
		if c.writeOut.ExitCode != 0 {
			return c.writeOut, nil
		}
		c.stored = strings.TrimPrefix(argv, "set ")
		return Output{Stdout: "OK\n"}, nil
	}
	return Output{Stdout: c.stored + "\n"}, nil
}

func TestComposeDown(t *testing.T) {
	spec := &ComposeDown{Expect: ComposeDownExpect{Keeps: []string{"redis-data"}}}
	tests := []struct {
		name   string
		target *cycler
		status Status
		frags  []string
	}{
		{"volume kept", &cycler{down: DownInfo{Volumes: []string{"redis-data"}}, upOK: true}, StatusPass, []string{"volumes left: redis-data"}},
		{"no named volume", &cycler{down: DownInfo{}, upOK: true}, StatusFail,
			[]string{"no volume named redis-data is left after down", "top-level volumes: key"}},
		{"container left", &cycler{down: DownInfo{Containers: []string{"web"}, Volumes: []string{"redis-data"}}, upOK: true}, StatusFail,
			[]string{"the containers of web are still there after down"}},
		{"does not come back", &cycler{down: DownInfo{Volumes: []string{"redis-data"}}}, StatusFail,
			[]string{"did not come up again after down: service web exited (1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, spec.Run(context.Background(), tt.target), tt.status, tt.frags...)
			if tt.target.cycles != 1 {
				t.Errorf("down ran %d times", tt.target.cycles)
			}
		})
	}
	want(t, spec.Run(context.Background(), &fake{}), StatusError, "cannot take a compose stack down")
}

func TestPersistence(t *testing.T) {
	spec := &Persistence{Service: "redis", Path: "/data", Write: []string{"set", "${token}"}, Read: []string{"get"}}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	named := []Mount{{Type: "volume", Destination: "/data", Name: "redis-data"}}
	anon := []Mount{{Type: "volume", Destination: "/data", Name: "0123", Anonymous: true}}
	bind := []Mount{{Type: "bind", Destination: "/data", Source: "./data"}}
	tests := []struct {
		name   string
		target *cycler
		status Status
		frags  []string
	}{
		{"named volume", &cycler{mounts: named, survive: true, upOK: true}, StatusPass,
			[]string{"/data is the named volume redis-data", "read back after up"}},
		{"anonymous volume", &cycler{mounts: anon, upOK: true}, StatusFail,
			[]string{"the data was gone after the stack was recreated", "/data is an anonymous volume", "name it"}},
		{"nothing mounted", &cycler{upOK: true}, StatusFail,
			[]string{"the data was gone", "nothing is mounted at /data in redis"}},
		{"bind mount, read-only", &cycler{mounts: bind, upOK: true, writeOut: Output{ExitCode: 1, Stderr: "Read-only file system"}}, StatusFail,
			[]string{"writing failed", "Read-only file system", "/data is a bind mount of ./data, a folder of the host"}},
		{"bind mount survives but is not a volume", &cycler{mounts: bind, survive: true, upOK: true}, StatusFail,
			[]string{"bind mount of ./data"}},
		{"stack does not come back", &cycler{mounts: named, survive: true}, StatusFail, []string{"did not come up again"}},
		{"volume at the wrong path", &cycler{mounts: append(anon, Mount{Type: "volume", Destination: "/var/lib/redis", Name: "redis-data"}), upOK: true},
			StatusFail, []string{"the data was gone", "the named volume redis-data is mounted at /var/lib/redis instead"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, spec.Run(context.Background(), tt.target), tt.status, tt.frags...)
		})
	}
	for _, bad := range []*Persistence{
		{Service: "redis", Path: "data", Write: []string{"set", "${token}"}, Read: []string{"get"}},
		{Service: "redis", Path: "/data", Write: []string{"set", "x"}, Read: []string{"get"}},
		{Service: "redis", Path: "/data", Write: []string{"set", "${token}"}, Read: []string{"get", "${other}"}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestLogs(t *testing.T) {
	tests := []struct {
		name   string
		expect LogsExpect
		logs   string
		status Status
		frags  []string
	}{
		{"contains", LogsExpect{Contains: "Ready to accept connections"}, "1:M * Ready to accept connections tcp\n", StatusPass, nil},
		{"matches", LogsExpect{Matches: `DB loaded from disk`}, "x\n1:M * DB loaded from disk: 0.000 seconds\n", StatusPass, nil},
		{"missing", LogsExpect{Matches: `DB loaded from disk`}, "1:M * Ready to accept connections tcp\n", StatusFail,
			[]string{"the log does not match /DB loaded from disk/", "no such line in the log (1 lines read", "Ready to accept connections"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Logs{Service: "redis", Expect: tt.expect}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, c.Run(context.Background(), &fake{logs: tt.logs}), tt.status, tt.frags...)
		})
	}
	if (&Logs{}).Validate() == nil {
		t.Error("an empty expectation was accepted")
	}
	if (&Logs{Expect: LogsExpect{Matches: "("}}).Validate() == nil {
		t.Error("a bad pattern was accepted")
	}
}

// TestLogsCommands: in a commands stack the log is the named container's.
func TestLogsCommands(t *testing.T) {
	c := &Logs{Container: "my-web-server", Expect: LogsExpect{Contains: `"GET / HTTP/1.1" 200`}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	web := map[string]ContainerInfo{"my-web-server": running("my-web-server", "nginx")}
	target := &dockerFake{containers: web, fake: fake{logs: `172.17.0.1 - - "GET / HTTP/1.1" 200 615` + "\n"}}
	want(t, c.Run(context.Background(), target), StatusPass, "the log of my-web-server")
	if len(target.logsOf) != 1 || target.logsOf[0] != "my-web-server" {
		t.Errorf("logs of %v", target.logsOf)
	}
	target = &dockerFake{containers: web, fake: fake{logs: "start worker processes\n"}}
	want(t, c.Run(context.Background(), target), StatusFail, `the log does not contain "\"GET / HTTP/1.1\" 200"`, "start worker processes")
	want(t, c.Run(context.Background(), &dockerFake{containers: map[string]ContainerInfo{}}), StatusFail, "there is no container named my-web-server")
	if (&Logs{Service: "web", Container: "web", Expect: LogsExpect{Contains: "x"}}).Validate() == nil {
		t.Error("service and container were accepted together")
	}
}
