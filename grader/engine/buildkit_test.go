package engine

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// TestStepLine: a BuildKit step's vertex name leads to its Dockerfile line,
// counted as BuildKit counts (per stage: the FROM of an image, then ADD,
// COPY, RUN and WORKDIR).
func TestStepLine(t *testing.T) {
	multi := "FROM busybox AS build\nRUN echo a > /a\n\nFROM scratch AS s0\nCOPY x /x\n" +
		"FROM busybox\nENV A=1\nCOPY --from=build /a /a\nRUN echo one \\\n  two\nWORKDIR /w\nRUN exit 3\n"
	single := "# a comment\nFROM busybox:latest\nARG X=1\nWORKDIR /app\nCOPY . .\nRUN false\n"
	fromStage := "FROM busybox AS base\nRUN true\nFROM base\nRUN exit 5\n"
	tests := []struct {
		df, vertex string
		line       int
	}{
		{single, "[1/4] FROM docker.io/library/busybox:latest", 2},
		{single, "[2/4] WORKDIR /app", 4},
		{single, "[4/4] RUN false", 6},
		{multi, "[build 2/2] RUN echo a > /a", 2},
		{multi, "[s0 1/1] COPY x /x", 5},
		{multi, "[stage-2 2/5] COPY --from=build /a /a", 8},
		{multi, "[stage-2 3/5] RUN echo one   two", 9},
		{multi, "[stage-2 5/5] RUN exit 3", 12},
		{fromStage, "[stage-1 1/1] RUN exit 5", 4}, // FROM a stage is no step
		{multi, "[2/4] RUN x", 0},                  // no stage named in a multi-stage file
		{single, "[internal] load build definition from Dockerfile", 0},
		{single, "[9/9] RUN gone", 0},
		{multi, "[nosuch 1/1] RUN x", 0},
		{"FROM busybox\nRUN <<EOF\necho hi\nEOF\nRUN false\n", "[3/3] RUN false", 5},
	}
	for _, tt := range tests {
		if got := stepLine([]byte(tt.df), tt.vertex); got != tt.line {
			t.Errorf("%q: line %d, want %d", tt.vertex, got, tt.line)
		}
	}
}

// TestKitError: BuildKit's wrapping of an error goes, the engine's words
// stay.
func TestKitError(t *testing.T) {
	for in, want := range map[string]string{
		"failed to solve with frontend dockerfile.v0: failed to solve with frontend gateway.v0: rpc error: code = Unknown desc = dockerfile parse error on line 11: unknown instruction: EXPOSE: (did you mean EXPOSE?)": "dockerfile parse error on line 11: unknown instruction: EXPOSE: (did you mean EXPOSE?)",
		"failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 3: unknown instruction: ECHO":                                                                         "failed to create LLB definition: dockerfile parse error line 3: unknown instruction: ECHO",
		"failed to solve: process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3":                                                                                                                     "process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3",
		"executor failed running [/bin/sh -c npm install\n]: exit code: 127":                                                                                                                                             "executor failed running [/bin/sh -c npm install ]: exit code: 127",
		"executor failed running [/bin/sh -c exit 3]: exit code: 3 ":                                                                                                                                                     "executor failed running [/bin/sh -c exit 3]: exit code: 3",
	} {
		if got := kitError(in); got != want {
			t.Errorf("kitError(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

// TestChooseBuilder: GRADE_BUILDER picks the builder; BuildKit only where
// the engine has it.
func TestChooseBuilder(t *testing.T) {
	v2 := client.PingResult{APIVersion: "1.41"}
	tests := []struct {
		want   string
		ping   client.PingResult
		os     string
		got    string
		errMsg string
	}{
		{"", v2, "linux", BuilderBuildKit, ""},
		{"", v2, "windows", BuilderClassic, ""},
		{"classic", v2, "linux", BuilderClassic, ""},
		{"auto", v2, "linux", BuilderBuildKit, ""},
		{"buildkit", client.PingResult{APIVersion: "1.44", BuilderVersion: "2"}, "linux", BuilderBuildKit, ""},
		{"auto", client.PingResult{APIVersion: "1.38"}, "linux", BuilderClassic, ""},
		{"auto", v2, "windows", BuilderClassic, ""},
		{"buildkit", v2, "windows", "", "has no BuildKit"},
		{"fast", v2, "linux", "", "give auto, buildkit or classic"},
	}
	for _, tt := range tests {
		got, err := chooseBuilder(tt.want, tt.ping, tt.os)
		if tt.errMsg != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errMsg) {
				t.Errorf("%s on %+v %s: %q, %v; want an error saying %q", tt.want, tt.ping, tt.os, got, err, tt.errMsg)
			}
			continue
		}
		if err != nil || got != tt.got {
			t.Errorf("%s on %+v %s: %q, %v; want %q", tt.want, tt.ping, tt.os, got, err, tt.got)
		}
	}
}

// TestBuildKit builds on the real engine with BuildKit: labels without a
// step of grade's, the plain log, the failing step's line, a parse error's,
// a rebuild's cached steps from the trace, files for today's Dockerfile
// syntax through the frontend `make images` makes, and nothing left after
// the run (objects, and the cache records its builds made).
func TestBuildKit(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the Docker engine")
	}
	t.Setenv("GRADE_BUILDER", BuilderBuildKit)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	eng, err := New(ctx)
	if err != nil {
		t.Fatalf("integration tests need the Docker engine (with BuildKit): %v", err)
	}
	defer func() { _ = eng.Close() }()
	if eng.frontend(ctx) == "" {
		t.Fatalf("the engine has no %s: make images builds it", FrontendImage)
	}
	had := eng.cacheRecords(ctx)
	build := func(t *testing.T, name string, files map[string]string) (*ImageJob, BuildSpec) {
		t.Helper()
		dir := t.TempDir()
		writeFiles(t, dir, files)
		job := eng.NewImageJob("buildkit/"+name, JobOptions{})
		t.Cleanup(func() {
			if err := job.Close(); err != nil {
				t.Error(err)
			}
		})
		return job, BuildSpec{Dir: dir, Dockerfile: "Dockerfile", Shown: "Dockerfile", Timeout: 2 * time.Minute}
	}
	t.Run("labels and log", func(t *testing.T) {
		job, spec := build(t, "ok", map[string]string{
			"Dockerfile": "FROM busybox:latest\nCOPY hello.txt /hello.txt\nRUN echo from-run && cat /hello.txt\nLABEL student=yes\n",
			"hello.txt":  "hello file\n",
		})
		info, err := job.Build(ctx, spec)
		if err != nil || !info.OK {
			t.Fatalf("build: %+v, %v", info, err)
		}
		ins, err := eng.cli.ImageInspect(ctx, job.tag)
		if err != nil {
			t.Fatal(err)
		}
		l := ins.Config.Labels
		if l[LabelJob] != "buildkit/ok" || l[LabelRun] != eng.runID || l["student"] != "yes" {
			t.Errorf("labels %v", l)
		}
		for _, want := range []string{"[2/3] COPY hello.txt /hello.txt", "from-run", "hello file", "grade: built with BuildKit"} {
			if !strings.Contains(info.Log, want) {
				t.Errorf("the log lacks %q:\n%s", want, info.Log)
			}
		}
		if strings.Contains(info.Log, "LABEL grade.") || strings.Contains(info.Log, "\x1b[") || strings.Count(info.Log, FrontendImage) != 1 {
			t.Errorf("the log shows grade's steps or terminal codes:\n%s", info.Log)
		}
	})
	t.Run("failing step", func(t *testing.T) {
		job, spec := build(t, "fail", map[string]string{
			"Dockerfile": "FROM busybox:latest AS build\nRUN echo building > /out\nFROM busybox:latest\nCOPY --from=build /out /out\n" +
				"RUN echo about-to-fail; \\\n    exit 3\nCMD [\"true\"]\n",
		})
		info, err := job.Build(ctx, spec)
		if err != nil || info.OK {
			t.Fatalf("build: %+v, %v", info, err)
		}
		if info.Line != 5 || !strings.Contains(info.Excerpt, ">    5 | RUN echo about-to-fail") || !strings.Contains(info.Log, "about-to-fail") {
			t.Errorf("line %d, excerpt:\n%s\nlog:\n%s\nerror %s", info.Line, info.Excerpt, info.Log, info.Error)
		}
	})
	t.Run("parse error", func(t *testing.T) {
		job, spec := build(t, "parse", map[string]string{"Dockerfile": "FROM busybox:latest\n\nECHOO hi\n"})
		info, err := job.Build(ctx, spec)
		if err != nil || info.OK || info.Line != 3 {
			t.Fatalf("build: %+v, %v", info, err)
		}
	})
	t.Run("rebuild", func(t *testing.T) {
		job, spec := build(t, "rebuild", map[string]string{
			"Dockerfile": "FROM busybox:latest\nWORKDIR /app\nCOPY deps.txt .\nRUN cat deps.txt > /deps\nCOPY app.sh .\nRUN sh app.sh\n",
			"deps.txt":   "a\n", "app.sh": "echo app\n",
		})
		if info, err := job.Build(ctx, spec); err != nil || !info.OK {
			t.Fatalf("build: %+v, %v", info, err)
		}
		info, err := job.Rebuild(ctx, map[string][]byte{"app.sh": []byte("# changed\n")})
		if err != nil || !info.OK {
			t.Fatalf("rebuild: %+v, %v", info, err)
		}
		var got []string
		for _, s := range info.Steps {
			got = append(got, s.Instruction+map[bool]string{true: " (cached)", false: ""}[s.Cached])
		}
		want := []string{"WORKDIR /app (cached)", "COPY deps.txt . (cached)", "RUN cat deps.txt > /deps (cached)", "COPY app.sh .", "RUN sh app.sh"}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("steps\n got %q\nwant %q", got, want)
		}
	})
	t.Run("today's syntax", func(t *testing.T) {
		job, spec := build(t, "syntax", map[string]string{
			"Dockerfile": "# syntax=docker/dockerfile:1.4\nARG BASE=busybox:latest\nFROM --platform=$BUILDPLATFORM ${BASE}\nCOPY --chmod=755 run.sh /run.sh\n" +
				"COPY --link a.txt /a.txt\nRUN --mount=type=cache,target=/cache echo cached > /cache/x\n" +
				"RUN --mount=type=tmpfs,target=/t touch /t/x\nRUN --mount=type=secret,id=token cat /run/secrets/token || true\n" +
				"RUN <<EOF\necho heredoc > /h\nEOF\nCMD [\"/run.sh\"]\n",
			"a.txt":  "a\n",
			"run.sh": "#!/bin/sh\ncat /h\n",
		})
		info, err := job.Build(ctx, spec)
		if err != nil || !info.OK {
			t.Fatalf("build: %+v, %v", info, err)
		}
		out, err := job.RunImage(ctx, checks.RunSpec{Args: []string{"/run.sh"}})
		if err != nil || strings.TrimSpace(out.Stdout) != "heredoc" {
			t.Errorf("the image runs: %+v, %v", out, err)
		}
	})
	t.Run("required secret", func(t *testing.T) {
		job, spec := build(t, "secret", map[string]string{"Dockerfile": "FROM busybox:latest\nRUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc\n"})
		info, err := job.Build(ctx, spec)
		if err != nil || info.OK || info.Line != 2 || !strings.Contains(info.Error, "id=npmrc needs a secret, and grade builds with none") {
			t.Errorf("%+v, %v", info, err)
		}
	})
	t.Run("time limit", func(t *testing.T) {
		job, spec := build(t, "slow", map[string]string{"Dockerfile": "FROM busybox:latest\nRUN echo quick\nRUN sleep 60\n"})
		spec.Timeout = 5 * time.Second
		began := time.Now()
		info, err := job.Build(ctx, spec)
		if err != nil || info.OK || !info.TimedOut || info.Running != "RUN sleep 60" || info.Line != 3 ||
			!strings.Contains(info.Error, "did not finish within 5s and was stopped while it ran `RUN sleep 60`") ||
			!strings.Contains(info.Error, "no other build") {
			t.Errorf("%+v, %v", info, err)
		}
		if d := time.Since(began); d > 30*time.Second {
			t.Errorf("the build was stopped after %s", d)
		}
	})
	t.Run("step limits", func(t *testing.T) {
		if eng.cgroups == nil {
			t.Skip("grade makes no cgroups here (it needs root beside a local engine that uses cgroupfs)")
		}
		if eng.steps == nil {
			t.Fatal("BuildKit's steps are not limited on a local engine with grade's cgroups")
		}
		// A fork bomb's worth of processes and a memory hog in RUN steps:
		// stopped at the job's limits (256 processes, 512 MiB), not the host's.
		job, spec := build(t, "limits", map[string]string{
			"Dockerfile": "FROM busybox:latest\nRUN dd if=/dev/zero of=/dev/null bs=900M count=1; echo after-dd\n" +
				"RUN i=0; while [ $i -lt 400 ]; do sleep 5 & i=$((i+1)); done; echo all-started; wait\n",
		})
		info, err := job.Build(ctx, spec)
		if err != nil || info.OK {
			t.Fatalf("build: %+v, %v", info, err)
		}
		if !strings.Contains(info.Log, "Killed") || !strings.Contains(info.Log, "can't fork") || regexp.MustCompile(`(?m)^#\d+ [0-9.]+ all-started$`).MatchString(info.Log) || info.Line != 3 {
			t.Errorf("line %d, log:\n%s", info.Line, info.Log)
		}
	})
	eng.mu.Lock()
	made := slices.Clone(eng.bkCache)
	eng.mu.Unlock()
	if len(made) == 0 {
		t.Error("the builds made no cache records that grade noted")
	}
	_, _ = eng.CleanRun()
	assertNothingLabelled(ctx, t, eng)
	for id := range eng.cacheRecords(ctx) {
		if !had[id] {
			t.Errorf("cache record %s is left", id)
		}
	}
}

// TestKitLog: grade's own steps and terminal codes leave the log.
func TestKitLog(t *testing.T) {
	in := "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n" +
		"#3 resolve image config for docker.io/" + FrontendImage + "\n#3 DONE 0.0s\n\n" +
		"#4 docker-image://docker.io/" + FrontendImage + "\n#4 CACHED\n\n" +
		"#8 [2/3] RUN echo \x1b[31mred\x1b[0m\n#8 0.2 red\n#8 DONE 0.2s\n"
	want := "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#8 [2/3] RUN echo red\n#8 0.2 red\n#8 DONE 0.2s\n"
	if got := kitLog(in); got != want {
		t.Errorf("kitLog:\n%s\nwant:\n%s", got, want)
	}
}
