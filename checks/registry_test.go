package checks

import (
	"context"
	"errors"
	"testing"
)

func TestParsePushed(t *testing.T) {
	tests := []struct {
		in   string
		want pushedRef
		bad  bool
	}{
		{in: "localhost:5000/my-app:1.0", want: pushedRef{"localhost:5000", "my-app", "1.0"}},
		{in: "localhost:5000/my-app", want: pushedRef{"localhost:5000", "my-app", "latest"}},
		{in: "registry.example.com/team/my-app:v2", want: pushedRef{"registry.example.com", "team/my-app", "v2"}},
		{in: "localhost/my-app:1", want: pushedRef{"localhost", "my-app", "1"}},
		{in: "my-app:1.0", bad: true},
		{in: "alice/my-app:1.0", bad: true},
		{in: "localhost:5000/my-app@sha256:39d4", bad: true},
		{in: "localhost:5000/My-App:1.0", bad: true},
		{in: "localhost:5000/", bad: true},
	}
	for _, tt := range tests {
		got, err := parsePushed(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: parsed as %+v", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	var fe *FieldError
	if err := (&RegistryCheck{Image: "my-app:1.0"}).Validate(); !errors.As(err, &fe) || fe.Field != "image" {
		t.Errorf("an image without a registry: %v", err)
	}
	if err := (&RegistryCheck{Image: "localhost:5000/my-app:1.0", Expect: OutputExpect{StdoutMatches: "("}}).Validate(); !errors.As(err, &fe) {
		t.Errorf("a bad pattern: %v", err)
	}
}

func TestRegistryCheck(t *testing.T) {
	hello := func(repo, tag string, spec RunSpec) (Output, error) {
		if repo != "my-app" || tag != "1.0" {
			return Output{}, errors.New("pulled the wrong image")
		}
		if spec.Args != nil {
			return Output{Stdout: "args: " + spec.Args[0] + "\n"}, nil
		}
		return Output{Stdout: "Hello from my-app 1.0\n"}, nil
	}
	manifest := Manifest{Digest: "sha256:39d484da710b9d63294a22dc63392ab691f49111974cc52b4e7b0012ae852d00", Size: 1071000, Layers: 2}
	tests := []struct {
		name   string
		check  RegistryCheck
		target registryTarget
		status Status
		frags  []string
	}{
		{"pass", RegistryCheck{Image: "localhost:5000/my-app:1.0", Expect: OutputExpect{StdoutContains: "Hello from my-app 1.0"}},
			registryTarget{tags: map[string][]string{"my-app": {"1.0"}}, manifest: manifest, pulled: hello},
			StatusPass, []string{"localhost:5000 holds my-app:1.0 (sha256:39d484da710b, 2 layers, 1.071MB)", "pulled back and run: exit code 0", "Hello from my-app 1.0",
				"`docker run localhost:5000/my-app:1.0` gives exit code 0"}},
		{"args", RegistryCheck{Image: "localhost:5000/my-app:1.0", Args: []string{"a b"}, Expect: OutputExpect{StdoutContains: "args: a b"}},
			registryTarget{tags: map[string][]string{"my-app": {"1.0"}}, manifest: manifest, pulled: hello},
			StatusPass, []string{`docker run localhost:5000/my-app:1.0 "a b"`}},
		{"nothing pushed", RegistryCheck{Image: "localhost:5000/my-app:1.0"},
			registryTarget{tags: map[string][]string{}},
			StatusFail, []string{"nothing was pushed to localhost:5000", "the registry localhost:5000 is empty", "tag the image localhost:5000/my-app:1.0"}},
		{"wrong tag", RegistryCheck{Image: "localhost:5000/my-app:1.0"},
			registryTarget{tags: map[string][]string{"my-app": {"latest"}}},
			StatusFail, []string{"localhost:5000 holds my-app:latest, not my-app:1.0", "my-app was pushed with the tag latest, not 1.0"}},
		{"wrong name", RegistryCheck{Image: "localhost:5000/my-app:1.0"},
			registryTarget{tags: map[string][]string{"myapp": {"1.0"}, "alice/my-app": {"1.0", "latest"}}},
			StatusFail, []string{"localhost:5000 holds alice/my-app:1.0, alice/my-app:latest, myapp:1.0, not my-app:1.0", "the registry has no my-app:1.0"}},
		{"wrong output", RegistryCheck{Image: "localhost:5000/my-app:1.0", Expect: OutputExpect{StdoutContains: "Hello from my-app 2.0"}},
			registryTarget{tags: map[string][]string{"my-app": {"1.0"}}, manifest: manifest, pulled: hello},
			StatusFail, []string{"the image pulled from the registry ran, but its stdout does not contain \"Hello from my-app 2.0\""}},
		{"does not start", RegistryCheck{Image: "localhost:5000/my-app:1.0"},
			registryTarget{tags: map[string][]string{"my-app": {"1.0"}}, manifest: manifest,
				pulled: func(string, string, RunSpec) (Output, error) {
					return Output{}, &StartError{Err: errors.New(`exec: "app": executable file not found in $PATH`)}
				}},
			StatusFail, []string{"localhost:5000 holds my-app:1.0", "the container did not start"}},
		{"runs forever", RegistryCheck{Image: "localhost:5000/my-app:1.0"},
			registryTarget{tags: map[string][]string{"my-app": {"1.0"}}, manifest: manifest,
				pulled: func(string, string, RunSpec) (Output, error) { return Output{TimedOut: true, Stdout: "serving"}, nil }},
			StatusFail, []string{"still running at the time limit", "did not exit by itself"}},
		{"registry broken", RegistryCheck{Image: "localhost:5000/my-app:1.0"},
			registryTarget{tagsErr: errors.New("listing the registry: connection refused")},
			StatusError, []string{"connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, tt.check.Run(context.Background(), &tt.target), tt.status, tt.frags...)
		})
	}
	want(t, (&RegistryCheck{Image: "localhost:5000/my-app:1.0"}).Run(context.Background(), bare{}), StatusError)
}

// TestDockerRunLine: the registry check shows its docker run line as the
// run check does.
func TestDockerRunLine(t *testing.T) {
	for _, c := range []Run{
		{},
		{Args: []string{"a b", "", `say "hi"`, "plain"}},
		{Entrypoint: []string{"sh", "-c"}, Args: []string{"echo hi"}},
	} {
		if got, want := dockerRunLine(c.Entrypoint, "IMAGE", c.Args), c.command(); got != want {
			t.Errorf("dockerRunLine %q, Run.command %q", got, want)
		}
	}
	r := RegistryCheck{Image: "localhost:5000/my-app:1.0", Args: []string{"a b"}}
	ref, _ := parsePushed(r.Image)
	if got := r.command(ref); got != `docker run localhost:5000/my-app:1.0 "a b"` {
		t.Errorf("registry check's command %q", got)
	}
}
