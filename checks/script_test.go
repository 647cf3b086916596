package checks

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// registryTarget is a target with the registry step's capabilities: a
// script runner, the submission's files and a registry.
type registryTarget struct {
	files    map[string]bool
	run      ScriptRun
	runErr   error
	lastSpec ScriptSpec
	tags     map[string][]string
	tagsErr  error
	manifest Manifest
	pulled   func(repo, tag string, spec RunSpec) (Output, error)
}

func (*registryTarget) Job() string { return "alice/ch08-registry-push" }

func (r *registryTarget) ReadSource(p string, _ int64) ([]byte, error) {
	if !r.files[p] {
		return nil, ErrNotExist
	}
	return nil, nil
}

func (r *registryTarget) RunScript(_ context.Context, s ScriptSpec) (ScriptRun, error) {
	r.lastSpec = s
	return r.run, r.runErr
}

func (r *registryTarget) RegistryTags(context.Context) (map[string][]string, error) {
	return r.tags, r.tagsErr
}

func (r *registryTarget) RegistryManifest(context.Context, string, string) (Manifest, error) {
	return r.manifest, nil
}

func (r *registryTarget) RunFromRegistry(_ context.Context, repo, tag string, spec RunSpec) (Output, error) {
	return r.pulled(repo, tag, spec)
}

func pushScript() Script {
	return Script{File: "push.sh", ImageName: "my-app:1.0", Registry: "localhost:5000"}
}

func TestScriptValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Script)
		field string // "" when valid
	}{
		{"valid", func(*Script) {}, ""},
		{"nested file", func(s *Script) { s.File = "scripts/push.sh" }, ""},
		{"registry with a dot", func(s *Script) { s.Registry = "registry.example.com" }, ""},
		{"file outside", func(s *Script) { s.File = "../push.sh" }, "file"},
		{"absolute file", func(s *Script) { s.File = "/push.sh" }, "file"},
		{"no file", func(s *Script) { s.File = "" }, "file"},
		{"upper-case name", func(s *Script) { s.ImageName = "My-App:1.0" }, "image_name"},
		{"name with a registry", func(s *Script) { s.ImageName = "localhost:5000/my-app:1.0" }, "image_name"},
		{"registry with a path", func(s *Script) { s.Registry = "localhost:5000/team" }, "registry"},
		{"registry that is a name", func(s *Script) { s.Registry = "registry" }, "registry"},
		{"bad pattern", func(s *Script) { s.Expect.OutputMatches = "(" }, "expect.output_matches"},
		{"commands: neither", func(s *Script) { s.ImageName, s.Registry = "", "" }, ""},
		{"image name alone", func(s *Script) { s.Registry = "" }, "registry"},
		{"registry alone", func(s *Script) { s.ImageName = "" }, "image_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := pushScript()
			tt.edit(&s)
			err := s.Validate()
			var fe *FieldError
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("valid spec refused: %v", err)
			case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
				t.Errorf("error %v, want one for %s", err, tt.field)
			}
		})
	}
}

func TestScript(t *testing.T) {
	hub := Refusal{Command: "docker push my-app:1.0", Why: "it pushes to Docker Hub (the name has no registry address in front); in this exercise push to localhost:5000"}
	ps := Refusal{Command: "docker ps", Why: "here the docker CLI may only tag, push, inspect, list and remove the image my-app:1.0"}
	tests := []struct {
		name   string
		edit   func(*Script)
		target registryTarget
		status Status
		frags  []string
		absent []string
	}{
		{"pass", nil, registryTarget{run: ScriptRun{Output: Output{Stdout: "The push refers to repository [localhost:5000/my-app]\n1.0: digest: sha256:39d4 size: 736\n"}}},
			StatusPass, []string{"`sh push.sh` exits with code 0", "my-app:1.0", "localhost:5000", "script output:", "1.0: digest"}, nil},
		{"pushed to Docker Hub", nil, registryTarget{run: ScriptRun{Output: Output{ExitCode: 1, Stdout: "Error response from daemon: grade: …\n"}, Refused: []Refusal{hub}}},
			StatusFail, []string{"exited with code 1, not 0", "the script ran `docker push my-app:1.0`, which grade refused: it pushes to Docker Hub", "Error response from daemon"},
			[]string{"refused by grade:"}},
		{"two refusals", nil, registryTarget{run: ScriptRun{Output: Output{ExitCode: 1}, Refused: []Refusal{ps, hub}}},
			StatusFail, []string{"`docker ps`, which grade refused", "and 1 more refused call", "refused by grade:", "`docker push my-app:1.0`: it pushes", "printed nothing"}, nil},
		{"refused, then exits 0", nil, registryTarget{run: ScriptRun{Output: Output{Stdout: "ok\n"}, Refused: []Refusal{ps}}},
			StatusFail, []string{"exit code 0", "the script ran `docker ps`, which grade refused: here the docker CLI may only"}, nil},
		{"a typo", nil, registryTarget{run: ScriptRun{Output: Output{ExitCode: 1, Stdout: "docker: 'pussh' is not a docker command.\nSee 'docker --help'\n"}}},
			StatusFail, []string{"`docker pussh` is not a docker command (a typo?)"}, nil},
		{"push before tag", nil, registryTarget{run: ScriptRun{Output: Output{ExitCode: 1,
			Stdout: "An image does not exist locally with the tag: localhost:5000/my-app\n"}}},
			StatusFail, []string{"pushed localhost:5000/my-app, but no image has that name", "docker tag my-app:1.0 localhost:5000/"}, nil},
		{"wrong image", nil, registryTarget{run: ScriptRun{Output: Output{ExitCode: 1,
			Stdout: "Error response from daemon: No such image: myapp:1.0 (grade: in this exercise …)\n"}}},
			StatusFail, []string{"there is no image myapp:1.0; the image built from your Dockerfile is my-app:1.0"}, nil},
		{"interactive login", nil, registryTarget{run: ScriptRun{Output: Output{ExitCode: 1,
			Stdout: "Error: Cannot perform an interactive login from a non TTY device\n"}}},
			StatusFail, []string{"--password-stdin"}, nil},
		{"a shell error", nil, registryTarget{run: ScriptRun{Output: Output{ExitCode: 127, Stdout: "/work/push.sh: 3: dockr: not found\n"}}},
			StatusFail, []string{`the shell found no command "dockr"`}, nil},
		{"hangs", nil, registryTarget{run: ScriptRun{Output: Output{TimedOut: true, Stdout: "Username: "}}},
			StatusFail, []string{"still running at the check's time limit", "did not finish", "Username:"}, nil},
		{"output expected", func(s *Script) { s.Expect.OutputMatches = `digest: sha256:[0-9a-f]+` }, registryTarget{run: ScriptRun{Output: Output{Stdout: "pushed\n"}}},
			StatusFail, []string{"does not match /digest: sha256:[0-9a-f]+/"}, nil},
		{"pushed", func(s *Script) { s.Expect.Pushed = true }, registryTarget{run: ScriptRun{Output: Output{Stdout: "The push refers to repository [localhost:5000/my-app]\n"}},
			tags: map[string][]string{"my-app": {"1.0"}}},
			StatusPass, []string{"exits with code 0 and pushes the image to localhost:5000"}, nil},
		{"pushed another tag", func(s *Script) { s.Expect.Pushed = true }, registryTarget{run: ScriptRun{}, tags: map[string][]string{"my-app": {"latest"}}},
			StatusPass, nil, nil},
		{"only prints a push", func(s *Script) { s.Expect.Pushed = true }, registryTarget{run: ScriptRun{Output: Output{Stdout: "The push refers to repository [localhost:5000/my-app]\npushed\n"}},
			tags: map[string][]string{}},
			StatusFail, []string{"exit code 0; the registry localhost:5000 holds nothing", "the script exited 0, but nothing was pushed to localhost:5000",
				"printing what docker push prints is not pushing", "docker tag my-app:1.0 localhost:5000/my-app:1.0, then docker push localhost:5000/my-app:1.0"}, nil},
		{"pushed, registry unreadable", func(s *Script) { s.Expect.Pushed = true }, registryTarget{tagsErr: errors.New("listing the registry: connection refused")},
			StatusError, []string{"connection refused"}, nil},
		{"other exit code expected", func(s *Script) { s.Expect.ExitCode = ptr(1) }, registryTarget{run: ScriptRun{Output: Output{ExitCode: 1}}},
			StatusPass, []string{"exits with code 1"}, nil},
		{"no script", nil, registryTarget{files: map[string]bool{}},
			StatusFail, []string{"the submission has no push.sh", "write push.sh"}, nil},
		{"grade's failure", nil, registryTarget{runErr: errors.New("the docker CLI image grade/docker-cli:bookworm is not on the engine")},
			StatusError, []string{"grade/docker-cli:bookworm"}, nil},
		{"submission too big to copy", nil, registryTarget{runErr: &LimitError{Err: errors.New("the script was not run: the submission is larger than 1MiB")}},
			StatusFail, []string{"the script was not run", "larger than 1MiB"}, nil},
		{"a hard link in the submission", nil, registryTarget{runErr: &RefusedError{Err: errors.New("hl.txt is a hard link (it has 2 names); grade takes only plain files of the submission: copy the file instead")}},
			StatusFail, []string{"the script was not run", "hl.txt is a hard link"}, nil},
		{"a long refused command", nil, registryTarget{run: ScriptRun{Output: Output{ExitCode: 1},
			Refused: []Refusal{{Command: "POST /" + strings.Repeat("x", 5000), Why: "not allowed"}, ps}}},
			StatusFail, []string{"the script ran `POST /xxx", "more characters)`, which grade refused: not allowed"}, []string{strings.Repeat("x", 401)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := pushScript()
			if tt.edit != nil {
				tt.edit(&s)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			target := tt.target
			if target.files == nil {
				target.files = map[string]bool{"push.sh": true}
			}
			o := s.Run(context.Background(), &target)
			want(t, o, tt.status, tt.frags...)
			all := o.Expected + "\n" + o.Actual + "\n" + o.Message + "\n" + o.Detail
			for _, f := range tt.absent {
				if strings.Contains(all, f) {
					t.Errorf("outcome shows %q:\n%s", f, all)
				}
			}
			if tt.target.files == nil && target.lastSpec != (ScriptSpec{File: "push.sh", ImageName: "my-app:1.0", Registry: "localhost:5000"}) {
				t.Errorf("ran %+v", target.lastSpec)
			}
		})
	}
	want(t, (&Script{}).Run(context.Background(), bare{}), StatusError)
}

func TestScriptOutputTail(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString("line " + strings.Repeat("x", i%7) + "\n")
	}
	b.WriteString("the end\n")
	s := pushScript()
	o := s.Run(context.Background(), &registryTarget{files: map[string]bool{"push.sh": true}, run: ScriptRun{Output: Output{Stdout: b.String()}}})
	want(t, o, StatusPass, "the end", "earlier lines")
	if n := strings.Count(o.Detail, "\n"); n > maxScriptLines+2 {
		t.Errorf("detail has %d lines", n)
	}
}

// TestScriptCommands: a script of a commands stack has no image to push;
// its hints are about docker run, volumes and networks.
func TestScriptCommands(t *testing.T) {
	conflict := "docker: Error response from daemon: Conflict. The container name \"/my-web-server\" is already in use by container \"4f2a\". " +
		"You have to remove (or rename) that container to be able to reuse that name.\n"
	run := Refusal{Command: "docker run --privileged nginx", Why: "privileged containers are not allowed"}
	tests := []struct {
		name   string
		target registryTarget
		status Status
		frags  []string
		absent []string
	}{
		{"pass", registryTarget{run: ScriptRun{Output: Output{Stdout: "4f2a9c\n"}}}, StatusPass, []string{"`sh run.sh` exits with code 0"},
			[]string{"registry", "Dockerfile"}},
		{"attached", registryTarget{run: ScriptRun{Output: Output{TimedOut: true, Stdout: "/docker-entrypoint.sh: Configuration complete\n"}}}, StatusFail,
			[]string{"the script did not finish: a docker run without -d stays attached to its container (3.2), and docker logs -f never ends"},
			[]string{"docker login"}},
		{"two containers of one name", registryTarget{run: ScriptRun{Output: Output{ExitCode: 125, Stderr: conflict}}}, StatusFail,
			[]string{"the script runs two containers named my-web-server: remove the first (docker rm -f my-web-server) or name them apart"}, nil},
		{"an image that is not here", registryTarget{run: ScriptRun{Output: Output{ExitCode: 1,
			Stderr: "Error response from daemon: No such image: ngnix:latest\n"}}}, StatusFail,
			[]string{"there is no image ngnix:latest on this machine, and nothing can be pulled here: use one the exercise names"},
			[]string{"built from your Dockerfile"}},
		{"an image to pull", registryTarget{run: ScriptRun{Output: Output{ExitCode: 125,
			Stderr: "Unable to find image 'ngnix:latest' locally\ndocker: Error response from daemon: pull access denied\n"}}}, StatusFail,
			[]string{"there is no image ngnix:latest on this machine, and nothing can be pulled here"}, nil},
		{"network first", registryTarget{run: ScriptRun{Output: Output{ExitCode: 125,
			Stderr: "docker: Error response from daemon: network my-app-net not found.\n"}}}, StatusFail,
			[]string{"there is no network my-app-net when the script uses it: docker network create my-app-net first"}, nil},
		{"options after the image", registryTarget{run: ScriptRun{Output: Output{ExitCode: 125,
			Stderr: "docker: invalid reference format.\n"}}}, StatusFail,
			[]string{"every option (-d, -p, --name, …) goes before the image name"}, nil},
		{"an interactive exec", registryTarget{run: ScriptRun{Output: Output{ExitCode: 1, Stderr: "the input device is not a TTY\n"}}}, StatusFail,
			[]string{"need a terminal, and a script has none: leave out -it"}, nil},
		{"a typo", registryTarget{run: ScriptRun{Output: Output{ExitCode: 1, Stdout: "docker: 'rnu' is not a docker command.\n"}}}, StatusFail,
			[]string{"`docker rnu` is not a docker command (a typo?)"}, []string{"docker tag, docker push"}},
		{"refused, then exits 0", registryTarget{run: ScriptRun{Output: Output{Stdout: "ok\n"}, Refused: []Refusal{run}}}, StatusFail,
			[]string{"the script ran `docker run --privileged nginx`, which grade refused: privileged containers are not allowed"}, nil},
		{"refused and failed", registryTarget{run: ScriptRun{Output: Output{ExitCode: 125}, Refused: []Refusal{run}}}, StatusFail,
			[]string{"exited with code 125, not 0: the script ran `docker run --privileged nginx`, which grade refused"}, nil},
		{"no script", registryTarget{files: map[string]bool{}}, StatusFail,
			[]string{"write run.sh: the script with the docker commands the exercise asks for"}, []string{"push it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Script{File: "run.sh"}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if s.Requires() != NeedsNothing {
				t.Errorf("a commands script requires %v", s.Requires())
			}
			target := tt.target
			if target.files == nil {
				target.files = map[string]bool{"run.sh": true}
			}
			o := s.Run(context.Background(), &target)
			want(t, o, tt.status, tt.frags...)
			all := o.Expected + "\n" + o.Actual + "\n" + o.Message
			for _, f := range tt.absent {
				if strings.Contains(all, f) {
					t.Errorf("outcome shows %q:\n%s", f, all)
				}
			}
			if tt.target.files == nil && target.lastSpec != (ScriptSpec{File: "run.sh"}) {
				t.Errorf("ran %+v", target.lastSpec)
			}
		})
	}
	if s := pushScript(); s.Requires() != NeedsImage {
		t.Errorf("a pushing script requires %v", s.Requires())
	}
}
