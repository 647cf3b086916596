package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func fastPolls(t *testing.T) {
	t.Helper()
	saved := []time.Duration{httpPollStart, httpPollMax, httpSettle, httpProbeEvery, httpWrongPortOK, httpReserve}
	httpPollStart, httpPollMax, httpSettle, httpProbeEvery, httpWrongPortOK, httpReserve =
		10*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond, 150*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() {
		httpPollStart, httpPollMax, httpSettle, httpProbeEvery, httpWrongPortOK, httpReserve =
			saved[0], saved[1], saved[2], saved[3], saved[4], saved[5]
	})
}

func TestHTTP(t *testing.T) {
	fastPolls(t)
	hello := func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "Hello from Docker! Running on host: abc123")
	}
	var hits atomic.Int64
	counter := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "viewed %d times", hits.Add(1)) }
	stuck := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "viewed 1 times") }
	notFound := func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }

	tests := []struct {
		name   string
		check  HTTP
		target func(t *testing.T) Target
		status Status
		frags  []string
	}{
		{"answers", HTTP{Port: 3000, Expect: HTTPExpect{BodyContains: "Hello from Docker!"}},
			func(t *testing.T) Target {
				return &fake{endpoint: serve(t, hello), state: ContainerState{Running: true}}
			},
			StatusPass, []string{"status 200"}},
		{"hostname variable", HTTP{Port: 3000, Expect: HTTPExpect{BodyContains: "host: ${hostname}"}},
			func(t *testing.T) Target {
				return &fake{endpoint: serve(t, hello), state: ContainerState{Running: true, Hostname: "abc123"}}
			},
			StatusPass, nil},
		{"other hostname", HTTP{Port: 3000, Expect: HTTPExpect{BodyContains: "host: ${hostname}"}},
			func(t *testing.T) Target {
				return &fake{endpoint: serve(t, hello), state: ContainerState{Running: true, Hostname: "ffff"}}
			},
			StatusFail, []string{`does not contain "host: ffff"`}},
		{"wrong status", HTTP{Port: 3000, Path: "/x"},
			func(t *testing.T) Target {
				return &fake{endpoint: serve(t, notFound), state: ContainerState{Running: true}}
			},
			StatusFail, []string{"the status is 404, not 200"}},
		{"body mismatch", HTTP{Port: 3000, Expect: HTTPExpect{BodyMatches: `^Bye`}},
			func(t *testing.T) Target {
				return &fake{endpoint: serve(t, hello), state: ContainerState{Running: true}}
			},
			StatusFail, []string{"does not match /^Bye/", "Hello from Docker"}},
		{"bound to loopback", HTTP{Port: 3000},
			func(t *testing.T) Target {
				return &fake{endpoint: closedPort(t), state: ContainerState{Running: true}, logs: "listening on 127.0.0.1:3000\n",
					listeners: []Listener{{Proto: "tcp", Addr: "127.0.0.1", Port: 3000}}}
			},
			StatusFail, []string{"listens on 127.0.0.1:3000", "bind 0.0.0.0", "container log:"}},
		{"wrong port", HTTP{Port: 3000},
			func(t *testing.T) Target {
				return &fake{endpoint: closedPort(t), state: ContainerState{Running: true},
					listeners: []Listener{{Proto: "tcp6", Addr: "::", Port: 8080}}}
			},
			StatusFail, []string{"nothing listens on port 3000", "[::]:8080"}},
		{"never listens", HTTP{Port: 3000},
			func(t *testing.T) Target { return &fake{endpoint: closedPort(t), state: ContainerState{Running: true}} },
			StatusFail, []string{"nothing listens inside the container", "waited"}},
		{"exited", HTTP{Port: 3000},
			func(t *testing.T) Target {
				return &fake{endpoint: closedPort(t), state: ContainerState{ExitCode: 1}, logs: "Error: Cannot find module '/app/server.js'\n"}
			},
			StatusFail, []string{"exited with code 1", "Cannot find module"}},
		{"out of memory", HTTP{Port: 3000},
			func(t *testing.T) Target {
				return &fake{endpoint: closedPort(t), state: ContainerState{ExitCode: 137, OOMKilled: true}}
			},
			StatusFail, []string{"out of memory"}},
		{"start failure is the student's", HTTP{Port: 3000},
			func(*testing.T) Target {
				return &fake{endErr: &StartError{Err: errors.New(`exec: "nod": executable file not found`)}}
			},
			StatusFail, []string{"did not start", "nod"}},
		{"engine failure is grade's", HTTP{Port: 3000},
			func(*testing.T) Target { return &fake{endErr: errors.New("engine gone")} },
			StatusError, []string{"engine gone"}},
		{"counter grows", HTTP{Port: 5000, Repeat: 3, Expect: HTTPExpect{BodyMatches: `viewed (\d+) times`, Increasing: true}},
			func(t *testing.T) Target {
				return &fake{endpoint: serve(t, counter), state: ContainerState{Running: true}}
			},
			StatusPass, []string{"counts 1, 2, 3"}},
		{"counter stuck", HTTP{Port: 5000, Repeat: 3, Expect: HTTPExpect{BodyMatches: `viewed (\d+) times`, Increasing: true}},
			func(t *testing.T) Target {
				return &fake{endpoint: serve(t, stuck), state: ContainerState{Running: true}}
			},
			StatusFail, []string{"did not grow", "counts 1, 1"}},
		{"hostname unreadable", HTTP{Port: 3000, Expect: HTTPExpect{BodyContains: "host: ${hostname}"}},
			func(t *testing.T) Target {
				return &fake{endpoint: serve(t, hello), stateErr: errors.New("engine gone")}
			},
			StatusError, []string{"hostname", "engine gone"}},
		{"no capability", HTTP{Port: 3000},
			func(*testing.T) Target { return bare{} },
			StatusError, []string{"cannot publish"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			want(t, tt.check.Run(ctx, tt.target(t)), tt.status, tt.frags...)
		})
	}
}

// TestHTTPBefore: grade sets a number where the count is kept, and the
// page must go on from it; a count kept elsewhere (in the app's memory)
// fails, and so does a before command that finds nothing to set.
func TestHTTPBefore(t *testing.T) {
	fastPolls(t)
	check := HTTP{Port: 5000, Before: &HTTPBefore{Service: "redis", Command: []string{"sh", "-c", "set hits ${number}"}, Does: "sets hits to ${number}"},
		Expect: HTTPExpect{BodyContains: "viewed ${next} times"}}
	if err := check.Validate(); err != nil {
		t.Fatal(err)
	}
	var store atomic.Int64 // the count in "redis"
	setter := func(s ExecSpec) (Output, error) {
		n, err := strconv.Atoi(strings.TrimPrefix(s.Cmd[2], "set hits "))
		if err != nil {
			return Output{ExitCode: 1, Stderr: "not a number: " + s.Cmd[2]}, nil
		}
		store.Store(int64(n))
		return Output{}, nil
	}
	inRedis := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "viewed %d times", store.Add(1)) }
	var mem atomic.Int64
	inMemory := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "viewed %d times", mem.Add(1)+3) }
	noKey := func(ExecSpec) (Output, error) {
		return Output{ExitCode: 1, Stdout: "no key of redis holds a number"}, nil
	}
	tests := []struct {
		name   string
		target *fake
		status Status
		frags  []string
	}{
		{"count kept in redis", &fake{endpoint: serve(t, inRedis), exec: setter, state: ContainerState{Running: true}}, StatusPass, nil},
		{"count kept in memory", &fake{endpoint: serve(t, inMemory), exec: setter, state: ContainerState{Running: true}}, StatusFail,
			[]string{`body "viewed `, `does not contain "viewed `}},
		{"nothing to set", &fake{endpoint: serve(t, inMemory), exec: noKey, state: ContainerState{Running: true}}, StatusFail,
			[]string{"after grade sets hits to ", "before the request, grade sets hits to ", "(in redis), and it failed: no key of redis holds a number"}},
		{"engine gone", &fake{endpoint: serve(t, inRedis), exec: func(ExecSpec) (Output, error) { return Output{}, errors.New("engine gone") },
			state: ContainerState{Running: true}}, StatusError, []string{"engine gone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			o := check.Run(ctx, tt.target)
			want(t, o, tt.status, tt.frags...)
			if tt.status != StatusError && strings.Contains(o.Expected, "$") {
				t.Errorf("expected = %q: the student must read the number grade set", o.Expected)
			}
		})
	}
}

func TestHTTPLoopbackConcludesEarly(t *testing.T) {
	fastPolls(t)
	f := &fake{endpoint: closedPort(t), state: ContainerState{Running: true},
		listeners: []Listener{{Proto: "tcp", Addr: "127.0.0.1", Port: 3000}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	o := (&HTTP{Port: 3000}).Run(ctx, f)
	want(t, o, StatusFail, "127.0.0.1:3000")
	if time.Since(start) > 30*time.Second {
		t.Errorf("the loopback diagnosis waited for the deadline instead of concluding (%s)", time.Since(start))
	}
}

func TestHTTPValidate(t *testing.T) {
	tests := []struct {
		name  string
		check HTTP
		field string
	}{
		{"relative path", HTTP{Port: 80, Path: "index.html"}, "path"},
		{"bad regexp", HTTP{Port: 80, Expect: HTTPExpect{BodyMatches: "("}}, "expect.body_matches"},
		{"unknown variable", HTTP{Port: 80, Expect: HTTPExpect{BodyContains: "${host}"}}, "expect.body_contains"},
		{"increasing without group", HTTP{Port: 80, Repeat: 3, Expect: HTTPExpect{BodyMatches: "viewed", Increasing: true}}, "expect.increasing"},
		{"increasing once", HTTP{Port: 80, Expect: HTTPExpect{BodyMatches: `(\d+)`, Increasing: true}}, "expect.increasing"},
		{"fine", HTTP{Port: 80, Path: "/", Expect: HTTPExpect{BodyContains: "${hostname}"}}, ""},
		{"next without before", HTTP{Port: 80, Expect: HTTPExpect{BodyContains: "${next}"}}, "expect"},
		{"before without number", HTTP{Port: 80, Before: &HTTPBefore{Service: "redis", Command: []string{"true"}},
			Expect: HTTPExpect{BodyContains: "${next}"}}, "before.command"},
		{"before, page not compared", HTTP{Port: 80, Before: &HTTPBefore{Service: "redis", Command: []string{"set", "${number}"}, Does: "sets ${number}"},
			Expect: HTTPExpect{BodyContains: "viewed"}}, "expect"},
		{"before repeated", HTTP{Port: 80, Repeat: 2, Before: &HTTPBefore{Service: "redis", Command: []string{"set", "${number}"}},
			Expect: HTTPExpect{BodyContains: "${next}"}}, "repeat"},
		{"before fine", HTTP{Port: 80, Before: &HTTPBefore{Service: "redis", Command: []string{"set", "${number}"}},
			Expect: HTTPExpect{BodyContains: "viewed ${next} times"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check.Validate()
			var fe *FieldError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.field != "" && !errors.As(err, &fe):
				t.Fatalf("error = %v, want a field error on %s", err, tt.field)
			case tt.field != "" && fe.Field != tt.field:
				t.Fatalf("field = %s, want %s (%v)", fe.Field, tt.field, err)
			}
		})
	}
}

// TestHTTPRemembersDeadPort: a second check on a port found dead reports
// the same cause at once; a check on another port still probes.
func TestHTTPRemembersDeadPort(t *testing.T) {
	fastPolls(t)
	f := &fake{endpoint: closedPort(t), state: ContainerState{Running: true},
		listeners: []Listener{{Proto: "tcp", Addr: "127.0.0.1", Port: 3000}}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	want(t, (&HTTP{Port: 3000}).Run(ctx, f), StatusFail, "127.0.0.1:3000")
	probes := f.probes
	start := time.Now()
	o := (&HTTP{Port: 3000, Path: "/other"}).Run(ctx, f)
	want(t, o, StatusFail, "127.0.0.1:3000", "GET /other")
	if f.probes != probes || time.Since(start) > 100*time.Millisecond {
		t.Errorf("the second check probed again (%d probes, %s)", f.probes-probes, time.Since(start))
	}
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	f.endpoint = srv
	want(t, (&HTTP{Port: 8080}).Run(ctx, f), StatusPass)
}

// TestHTTPSilentPort: after a check waited its whole limit with nothing
// listening, the job's next check on the port tries once instead of waiting
// again, and still passes when the app has come up since.
func TestHTTPSilentPort(t *testing.T) {
	fastPolls(t)
	f := &fake{endpoint: closedPort(t), state: ContainerState{Running: true}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	want(t, (&HTTP{Port: 3000}).Run(ctx, f), StatusFail, "nothing listens")
	cancel()
	start := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	want(t, (&HTTP{Port: 3000, Path: "/other"}).Run(ctx, f), StatusFail, "nothing listens", "earlier:")
	if time.Since(start) > 300*time.Millisecond {
		t.Errorf("the second check waited again (%s)", time.Since(start))
	}
	f.endpoint = serve(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	want(t, (&HTTP{Port: 3000}).Run(ctx, f), StatusPass)
}

// sourced is a target that also reads the submission's files.
type sourced struct {
	fake
	src map[string]string
}

func (s *sourced) ReadSource(p string, _ int64) ([]byte, error) {
	b, ok := s.src[p]
	if !ok {
		return nil, ErrNotExist
	}
	return []byte(b), nil
}

func TestHTTPBodyEqualsFile(t *testing.T) {
	fastPolls(t)
	page := "<h1>alice's notes</h1>\n"
	served := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }
	}
	check := HTTP{Port: 80, Expect: HTTPExpect{BodyEqualsFile: "index.html"}}
	if err := check.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		body   string
		src    map[string]string
		status Status
		frags  []string
	}{
		{"the student's page", page, map[string]string{"index.html": page}, StatusPass, []string{"the submission's index.html as its body"}},
		{"the welcome page", "<h1>Welcome to nginx!</h1>\n", map[string]string{"index.html": page}, StatusFail,
			[]string{"the body is not the submission's index.html", "Welcome to nginx!"}},
		{"no such file", page, map[string]string{}, StatusFail, []string{"the submission has no index.html"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := &sourced{fake: fake{endpoint: serve(t, served(tt.body)), state: ContainerState{Running: true}}, src: tt.src}
			c := check
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			want(t, c.Run(ctx, target), tt.status, tt.frags...)
		})
	}
	bad := HTTP{Port: 80, Expect: HTTPExpect{BodyEqualsFile: "../etc/passwd"}}
	if bad.Validate() == nil {
		t.Error("a file outside the submission was accepted")
	}
}

// TestHTTPCommands: in a commands stack the request goes to the host port
// the student published, of the container the student named.
func TestHTTPCommands(t *testing.T) {
	fastPolls(t)
	hello := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "Welcome to nginx!") }
	web := func(ports ...PortBinding) map[string]ContainerInfo {
		info := running("my-web-server", "nginx")
		info.Ports = ports
		return map[string]ContainerInfo{"my-web-server": info}
	}
	tests := []struct {
		name   string
		target func(t *testing.T) *dockerFake
		status Status
		frags  []string
	}{
		{"answers", func(t *testing.T) *dockerFake {
			return &dockerFake{containers: web(PortBinding{8080, 80, "tcp"}), endpoints: map[int]string{8080: serve(t, hello)}}
		}, StatusPass, []string{"GET / on host port 8080 (localhost:8080/), published by my-web-server, answers 200", "Welcome to nginx!"}},
		{"ports the wrong way round", func(*testing.T) *dockerFake {
			return &dockerFake{containers: web(PortBinding{80, 8080, "tcp"})}
		}, StatusFail, []string{"my-web-server publishes nothing on host port 8080 (it was run with -p 80:8080)",
			"publish it with -p 8080:80: HOST:CONTAINER, the host port comes first"}},
		{"another host port", func(*testing.T) *dockerFake {
			return &dockerFake{containers: web(PortBinding{9090, 80, "tcp"})}
		}, StatusFail, []string{"(it was run with -p 9090:80)", "publish it with -p 8080:80: HOST:CONTAINER"}},
		{"nothing published", func(*testing.T) *dockerFake { return &dockerFake{containers: web()} },
			StatusFail, []string{"my-web-server publishes no ports (no -p)", "publish it with -p 8080:PORT: HOST:CONTAINER"}},
		{"no such container", func(*testing.T) *dockerFake { return &dockerFake{containers: map[string]ContainerInfo{}} },
			StatusFail, []string{"there is no container named my-web-server: did your script run docker run with --name my-web-server?"}},
		{"exited", func(*testing.T) *dockerFake {
			d := &dockerFake{containers: web(PortBinding{8080, 80, "tcp"}), fake: fake{logs: "nginx: [emerg] unknown directive\n"}}
			info := d.containers["my-web-server"]
			info.Running, info.Status, info.ExitCode = false, "exited", 1
			d.containers["my-web-server"] = info
			return d
		}, StatusFail, []string{"my-web-server: exited with code 1", "unknown directive"}},
		{"published to the wrong container port", func(t *testing.T) *dockerFake {
			return &dockerFake{containers: web(PortBinding{8080, 8080, "tcp"}), endpoints: map[int]string{8080: closedPort(t)},
				fake: fake{listeners: []Listener{{Proto: "tcp", Addr: "0.0.0.0", Port: 80}}}}
		}, StatusFail, []string{"nothing listens on port 8080 inside the container, where -p 8080:8080 sends the requests", "0.0.0.0:80", "(-p 8080:80)"}},
		{"loopback", func(t *testing.T) *dockerFake {
			return &dockerFake{containers: web(PortBinding{8080, 3000, "tcp"}), endpoints: map[int]string{8080: closedPort(t)},
				fake: fake{listeners: []Listener{{Proto: "tcp", Addr: "127.0.0.1", Port: 3000}}}}
		}, StatusFail, []string{"listens on 127.0.0.1:3000", "bind 0.0.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := HTTP{Container: "my-web-server", HostPort: 8080, Expect: HTTPExpect{BodyContains: "Welcome"}}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			target := tt.target(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			want(t, c.Run(ctx, target), tt.status, tt.frags...)
			for _, args := range target.endpoint2 {
				if args != [2]any{"my-web-server", 8080} {
					t.Errorf("HostEndpoint(%v)", args)
				}
			}
		})
	}
	want(t, (&HTTP{Container: "w", HostPort: 8080}).Run(context.Background(), &fake{}), StatusError, "cannot reach the ports")
	for _, tt := range []struct {
		name  string
		check HTTP
		field string
	}{
		{"no port at all", HTTP{}, "port"},
		{"both ports", HTTP{Port: 80, HostPort: 8080}, "host_port"},
		{"service and container", HTTP{Service: "web", Container: "web", HostPort: 8080}, "container"},
		{"bad container", HTTP{Container: "my web", HostPort: 8080}, "container"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(t, tt.check.Validate()); got != tt.field {
				t.Errorf("Validate names %q, want %q", got, tt.field)
			}
		})
	}
}
