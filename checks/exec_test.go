package checks

import (
	"context"
	"errors"
	"testing"
)

func TestExec(t *testing.T) {
	ok := func(stdout string) func(ExecSpec) (Output, error) {
		return func(ExecSpec) (Output, error) { return Output{Stdout: stdout}, nil }
	}
	tests := []struct {
		name   string
		check  Exec
		exec   func(ExecSpec) (Output, error)
		status Status
		frags  []string
	}{
		{"passes", Exec{Command: []string{"id", "-u"}, Expect: OutputExpect{StdoutEquals: ptr("1000")}}, ok("1000\n"), StatusPass, []string{"`id -u`"}},
		{"wrong output", Exec{Command: []string{"id", "-u"}, Expect: OutputExpect{StdoutEquals: ptr("1000")}}, ok("0\n"), StatusFail, []string{`stdout is not "1000"`, `stdout "0"`}},
		{"exit code", Exec{Command: []string{"test", "-f", "/x"}},
			func(ExecSpec) (Output, error) { return Output{ExitCode: 1}, nil }, StatusFail, []string{"exit code is 1, not 0"}},
		{"stderr", Exec{Command: []string{"sh"}, Expect: OutputExpect{ExitCode: ptr(2), StderrMatches: "not found$"}},
			func(ExecSpec) (Output, error) { return Output{ExitCode: 2, Stderr: "x: not found"}, nil }, StatusPass, nil},
		{"container gone", Exec{Command: []string{"ls"}},
			func(ExecSpec) (Output, error) { return Output{}, &StartError{Err: errors.New("exited with code 1")} }, StatusFail, []string{"did not start"}},
		{"deadline", Exec{Command: []string{"sleep", "99"}},
			func(ExecSpec) (Output, error) { return Output{}, context.DeadlineExceeded }, StatusFail, []string{"time limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, tt.check.Run(context.Background(), &fake{exec: tt.exec}), tt.status, tt.frags...)
		})
	}
	want(t, (&Exec{Command: []string{"ls"}}).Run(context.Background(), bare{}), StatusError)
	if err := (&Exec{Command: []string{"ls"}, Expect: OutputExpect{StdoutMatches: "["}}).Validate(); err == nil {
		t.Error("a bad stdout_matches was accepted")
	}
}

// TestExecCommands: in a commands stack the command runs in the container
// the student named.
func TestExecCommands(t *testing.T) {
	nginx := running("my-web-server", "nginx")
	stopped := nginx
	stopped.Running, stopped.Status, stopped.ExitCode = false, "exited", 0
	tests := []struct {
		name       string
		containers map[string]ContainerInfo
		status     Status
		frags      []string
	}{
		{"runs in it", map[string]ContainerInfo{"my-web-server": nginx}, StatusPass, []string{"`nginx -v` in my-web-server gives exit code 0"}},
		{"no such container", map[string]ContainerInfo{}, StatusFail, []string{"there is no container named my-web-server"}},
		{"stopped", map[string]ContainerInfo{"my-web-server": stopped}, StatusFail, []string{"my-web-server is not running: it exited with code 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Exec{Container: "my-web-server", Command: []string{"nginx", "-v"}}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			target := &dockerFake{containers: tt.containers}
			want(t, c.Run(context.Background(), target), tt.status, tt.frags...)
			for _, name := range target.execIn {
				if name != "my-web-server" {
					t.Errorf("exec in %q", name)
				}
			}
		})
	}
	// Without an inspector, a container that is not there still fails.
	target := &fake{exec: func(ExecSpec) (Output, error) { return Output{}, notThere("container", "my-web-server") }}
	want(t, (&Exec{Container: "my-web-server", Command: []string{"ls"}}).Run(context.Background(), target), StatusFail, "there is no container named my-web-server")
	if (&Exec{Service: "web", Container: "web", Command: []string{"ls"}}).Validate() == nil {
		t.Error("service and container were accepted together")
	}
}
