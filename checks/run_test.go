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

// TestRunToken: ${token} is a value grade makes up for each run, given to
// the image in its arguments or volume and expected back; an image that
// prints or writes what the assignment showed instead of what it was given
// fails.
func TestRunToken(t *testing.T) {
	echoArgs := func(s RunSpec) (Output, error) { // ENTRYPOINT ["echo", "Hello from"]
		return Output{Stdout: "Hello from " + strings.Join(s.Args, " ") + "\n"}, nil
	}
	canned := func(RunSpec) (Output, error) { return Output{Stdout: "Hello from ENTRYPOINT\n"}, nil }
	copyInput := func(s RunSpec) (Output, error) { // writes the first item of input.csv
		item := strings.Split(strings.Split(s.Volume.Files["input.csv"], "\n")[1], ",")[0]
		return Output{Files: map[string]string{"output.csv": "item,total\n" + item + ",1.00\n"}}, nil
	}
	cannedCSV := func(RunSpec) (Output, error) {
		return Output{Files: map[string]string{"output.csv": "item,total\napple,1.00\n"}}, nil
	}
	argCheck := Run{Args: []string{"${token}"}, Expect: OutputExpect{StdoutEquals: ptr("Hello from ${token}")}}
	csvCheck := Run{
		Volume:  &RunVolumeSpec{Path: "/data", Files: map[string]string{"input.csv": "item,qty\n${token},1\n"}},
		Outputs: map[string]FileExpect{"output.csv": {Matches: `^item,total\n${token},1\.00\n$`}},
	}
	tests := []struct {
		name   string
		check  Run
		run    func(RunSpec) (Output, error)
		status Status
		frags  []string
	}{
		{"argument echoed", argCheck, echoArgs, StatusPass, []string{"docker run IMAGE grade-"}},
		{"canned sentence", argCheck, canned, StatusFail, []string{`stdout is not "Hello from grade-`, `stdout "Hello from ENTRYPOINT"`}},
		{"input read", csvCheck, copyInput, StatusPass, []string{"output.csv holds \"item,total\\ngrade-"}},
		{"canned output", csvCheck, cannedCSV, StatusFail, []string{"output.csv does not match /^item,total\\ngrade-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check.Validate(); err != nil {
				t.Fatal(err)
			}
			f := &fake{run: tt.run}
			c := tt.check
			want(t, c.Run(context.Background(), f), tt.status, tt.frags...)
			given := strings.Join(f.lastRun.Args, " ")
			if f.lastRun.Volume != nil {
				given += f.lastRun.Volume.Files["input.csv"]
			}
			if strings.Contains(given, "${token}") || !strings.Contains(given, "grade-") {
				t.Errorf("the run was given %q: ${token} not replaced", given)
			}
			if strings.Join(c.Args, " ")+csvInput(c) != strings.Join(tt.check.Args, " ")+csvInput(tt.check) || !strings.Contains(strings.Join(c.Args, " ")+csvInput(c), "${token}") {
				t.Errorf("the check itself was changed: %+v", c)
			}
		})
	}
	for _, bad := range []Run{
		{Args: []string{"${name}"}},
		{Expect: OutputExpect{StdoutEquals: ptr("Hello from ${token}")}}, // no ${token} given to the image
		{Volume: &RunVolumeSpec{Path: "/data"}, Outputs: map[string]FileExpect{"o": {Contains: "${token}"}}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func csvInput(c Run) string {
	if c.Volume == nil {
		return ""
	}
	return c.Volume.Files["input.csv"]
}
