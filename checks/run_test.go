package checks

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// entrypointImage behaves like an image with ENTRYPOINT ["echo","Hello from"]
// and CMD ["Docker"], or, with shell set, ENTRYPOINT echo Hello from (shell form).
func entrypointImage(shell bool) func(RunSpec) (Output, error) {
	return func(s RunSpec) (Output, error) {
		ep := []string{"echo", "Hello from"}
		if shell {
			ep = []string{"/bin/sh", "-c", "echo Hello from"}
		}
		args := []string{"Docker"}
		if s.Args != nil {
			args = s.Args
		}
		if s.Entrypoint != nil {
			ep = s.Entrypoint
		}
		argv := append(slices.Clone(ep), args...)
		if shell && s.Entrypoint == nil {
			argv = ep // sh -c ignores the extra arguments
		}
		if argv[0] == "/bin/sh" {
			return Output{Stdout: strings.TrimPrefix(argv[2], "echo ") + "\n"}, nil
		}
		return Output{Stdout: strings.Join(argv[1:], " ") + "\n"}, nil
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		check  Run
		shell  bool
		status Status
		frags  []string
	}{
		{"default", Run{Expect: OutputExpect{StdoutEquals: ptr("Hello from Docker")}}, false, StatusPass, []string{"docker run IMAGE"}},
		{"args replace cmd", Run{Args: []string{"ENTRYPOINT"}, Expect: OutputExpect{StdoutEquals: ptr("Hello from ENTRYPOINT")}}, false, StatusPass, nil},
		{"entrypoint override", Run{Entrypoint: []string{"echo"}, Args: []string{"overridden"}, Expect: OutputExpect{StdoutEquals: ptr("overridden")}}, false,
			StatusPass, []string{"docker run --entrypoint echo IMAGE overridden"}},
		{"shell form ignores args", Run{Args: []string{"ENTRYPOINT"}, Expect: OutputExpect{StdoutEquals: ptr("Hello from ENTRYPOINT")}}, true,
			StatusFail, []string{`stdout is not "Hello from ENTRYPOINT"`, `stdout "Hello from"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, tt.check.Run(context.Background(), &fake{run: entrypointImage(tt.shell)}), tt.status, tt.frags...)
		})
	}
}

func TestRunPassesSpec(t *testing.T) {
	f := &fake{run: func(RunSpec) (Output, error) { return Output{TimedOut: true, Stdout: "tick"}, nil }}
	o := (&Run{Args: []string{"a b"}, Env: map[string]string{"B": "2", "A": "1"}}).Run(context.Background(), f)
	want(t, o, StatusFail, "did not exit by itself", `IMAGE "a b"`)
	if !slices.Equal(f.lastRun.Env, []string{"A=1", "B=2"}) {
		t.Errorf("env = %v", f.lastRun.Env)
	}
	want(t, (&Run{}).Run(context.Background(), bare{}), StatusError)
}

func TestRunVolume(t *testing.T) {
	spec := Run{
		Volume:  &RunVolumeSpec{Path: "/data", Files: map[string]string{"input.csv": "item,qty\na,1\n"}},
		Outputs: map[string]FileExpect{"output.csv": {Matches: `^item,total\na,1\.00\n$`}},
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		out    Output
		status Status
		frags  []string
	}{
		{"writes into the volume", Output{Files: map[string]string{"output.csv": "item,total\na,1.00\n"}}, StatusPass,
			[]string{"leaves output.csv in the volume at /data", `output.csv holds "item,total\na,1.00"`}},
		{"writes elsewhere", Output{Files: map[string]string{}}, StatusFail,
			[]string{"the run left no output.csv in the volume mounted at /data", "gone with it"}},
		{"wrong content", Output{Files: map[string]string{"output.csv": "item,total\nb,6.00\n"}}, StatusFail,
			[]string{"output.csv does not match"}},
		{"crashes", Output{ExitCode: 1, Stderr: strings.Repeat("x", 400) + "\nKeyError: 'Item'\n"}, StatusFail,
			[]string{"exit code is 1, not 0", "KeyError: 'Item'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{run: func(RunSpec) (Output, error) { return tt.out, nil }}
			c := spec
			want(t, c.Run(context.Background(), f), tt.status, tt.frags...)
			v := f.lastRun.Volume
			if v == nil || v.Path != "/data" || v.Files["input.csv"] == "" || len(v.Collect) != 1 || v.Collect[0] != "output.csv" {
				t.Errorf("volume asked for = %+v", v)
			}
		})
	}
	for _, bad := range []Run{
		{Outputs: map[string]FileExpect{"out.csv": {}}},
		{Volume: &RunVolumeSpec{Path: "data"}},
		{Volume: &RunVolumeSpec{Path: "/data", Files: map[string]string{"../x": "y"}}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
