package checks

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// sources is a target whose submission holds the given files; it reports
// the build of fake and remembers which path was read.
type sources struct {
	fake
	src     map[string]string
	readErr error
	read    string
}

func (s *sources) ReadSource(p string, limit int64) ([]byte, error) {
	s.read = p
	if s.readErr != nil {
		return nil, s.readErr
	}
	text, ok := s.src[p]
	if !ok {
		return nil, ErrNotExist
	}
	b := []byte(text)
	if int64(len(b)) > limit {
		b = b[:limit]
	}
	return b, nil
}

// dockerfile runs a dockerfile check over text as the submission's Dockerfile.
func dockerfile(t *testing.T, e DockerfileExpect, text string) Outcome {
	t.Helper()
	c := &Dockerfile{Expect: e}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c.Run(context.Background(), &sources{src: map[string]string{"Dockerfile": text}})
}

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDockerfileRules(t *testing.T) {
	all := DockerfileExpect{MinStages: ptr(2), CopyFrom: ptr(true), TaggedBase: ptr(true), NonRoot: ptr(true), ExecForm: ptr(true),
		CopyNotAdd: ptr(true), AptCacheCleaned: ptr(true), MaxConsecutiveRuns: ptr(1), Base: []string{"nginx:1.25-alpine"}}
	good := `# build the site
ARG NODE=node:18-alpine
FROM ${NODE} AS Builder
WORKDIR /app
COPY package.json ./
RUN apt-get update \
    # a comment inside the continuation
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN npm run build
CMD npm start

FROM nginx:1.25-alpine
ADD https://example.com/extra.tar.gz /tmp/
ADD vendor.tar.gz /opt/
COPY --from=builder /app/build /usr/share/nginx/html
USER nginx
CMD ["nginx", "-g", "daemon off;"]
`
	tests := []struct {
		name   string
		expect DockerfileExpect
		text   string
		status Status
		frags  []string
	}{
		{"all rules hold", all, good, StatusPass, []string{"2 stages (FROM at lines 3, 14)", "COPY --from=builder at line 17 copies from the stage at line 3",
			"FROM ${NODE} (node:18-alpine) (line 3)", "USER nginx at line 18", `CMD ["nginx", "-g", "daemon off;"] at line 19`,
			"ADD at lines 15, 16", "one RUN with apt-get update or install, 1 of them removing", "no two RUN instructions in a row",
			"the final stage is FROM nginx:1.25-alpine (line 14)"}},

		// min_stages (8.1)
		{"one stage", DockerfileExpect{MinStages: ptr(2)}, "FROM node:18-alpine\nCMD [\"node\"]\n", StatusFail,
			[]string{"only one stage (FROM at line 1); a multi-stage build has a builder stage and a final stage that copies from it with COPY --from (8.1)"}},
		{"too few stages", DockerfileExpect{MinStages: ptr(3)}, "FROM a:1 AS x\nRUN x\nFROM b:1\n", StatusFail,
			[]string{"2 stages (FROM at lines 1, 3), fewer than the 3"}},
		{"one stage is enough", DockerfileExpect{MinStages: ptr(1)}, "FROM a:1\n", StatusPass, []string{"one stage (FROM at line 1)"}},

		// copy_from (8.1)
		{"copy from index", DockerfileExpect{CopyFrom: ptr(true)}, "FROM golang:1.22\nRUN go build -o /app\nFROM alpine:3.19\nCOPY --from=0 /app /app\n",
			StatusPass, []string{"COPY --from=0 at line 4 copies from the stage at line 1"}},
		{"copy from an image", DockerfileExpect{CopyFrom: ptr(true)}, "FROM node:18 AS build\nRUN x\nFROM alpine:3.19\nCOPY --from=nginx:alpine /etc/nginx /etc/nginx\n",
			StatusFail, []string{"Dockerfile:4: COPY --from=nginx:alpine copies from the image nginx:alpine, not from an earlier stage", "COPY --from=builder"}},
		{"copy from itself", DockerfileExpect{CopyFrom: ptr(true)}, "FROM node:18 AS build\nFROM alpine:3.19\nCOPY --from=1 /a /a\n",
			StatusFail, []string{"Dockerfile:3: COPY --from=1 names stage 1, which is not an earlier stage"}},
		{"copy from a later stage", DockerfileExpect{CopyFrom: ptr(true)}, "FROM alpine:3.19 AS first\nCOPY --from=late /a /a\nFROM node:18 AS late\n",
			StatusFail, []string{"Dockerfile:2: COPY --from=late names the stage at line 3, which does not come before this one"}},
		{"no copy from", DockerfileExpect{CopyFrom: ptr(true)}, "FROM node:18 AS build\nFROM alpine:3.19\nCOPY . .\n",
			StatusFail, []string{"no COPY --from in the Dockerfile"}},
		{"copy from in one stage", DockerfileExpect{CopyFrom: ptr(true)}, "FROM node:18\nCOPY . .\n",
			StatusFail, []string{"no COPY --from: with one stage there is no earlier stage to copy from"}},
		{"copy from an ARG", DockerfileExpect{CopyFrom: ptr(true)}, "FROM node:18 AS build\nFROM alpine:3.19\nARG FROM=build\nCOPY --from=${FROM} /a /a\n",
			StatusPass, []string{"COPY --from=build at line 4"}},

		// tagged_base (4.4)
		{"latest", DockerfileExpect{TaggedBase: ptr(true)}, "# app\n\nFROM node:latest\n", StatusFail,
			[]string{"Dockerfile:3: FROM node:latest uses the latest tag, which changes whenever the image is updated; pin a version such as node:18-alpine (4.4)"}},
		{"no tag", DockerfileExpect{TaggedBase: ptr(true)}, "FROM python\n", StatusFail,
			[]string{"Dockerfile:1: FROM python has no tag, so it means python:latest", "python:3.12-slim"}},
		{"digest", DockerfileExpect{TaggedBase: ptr(true)}, "FROM alpine@" + digest + "\n", StatusPass, []string{"FROM alpine@sha256:"}},
		{"registry port, no tag", DockerfileExpect{TaggedBase: ptr(true)}, "FROM localhost:5000/app\n", StatusFail,
			[]string{"Dockerfile:1: FROM localhost:5000/app has no tag", "localhost:5000/app:<version>"}},
		{"registry port and tag", DockerfileExpect{TaggedBase: ptr(true)}, "FROM localhost:5000/app:1.0\n", StatusPass, nil},
		{"scratch and stages", DockerfileExpect{TaggedBase: ptr(true)},
			"FROM golang:1.22 AS build\nFROM Build AS test\nFROM scratch\nCOPY --from=build /x /x\n", StatusPass, []string{"base images: FROM golang:1.22 (line 1)"}},
		{"every untagged base", DockerfileExpect{TaggedBase: ptr(true)}, "FROM node AS build\nFROM nginx:latest\n", StatusFail,
			[]string{"Dockerfile:1: FROM node has no tag", "Dockerfile:2: FROM nginx:latest uses the latest tag"}},
		{"ARG default", DockerfileExpect{TaggedBase: ptr(true)}, "ARG VER=3.12-slim\nFROM python:${VER}\n", StatusPass, []string{"FROM python:${VER} (python:3.12-slim)"}},
		{"ARG default latest", DockerfileExpect{TaggedBase: ptr(true)}, "ARG BASE=node\nARG TAG=latest\nFROM $BASE:$TAG\n", StatusFail,
			[]string{"Dockerfile:3: FROM $BASE:$TAG (node:latest) uses the latest tag"}},
		{"ARG without default", DockerfileExpect{TaggedBase: ptr(true)}, "ARG BASE\nFROM ${BASE}\n", StatusFail,
			[]string{"Dockerfile:2: FROM ${BASE} depends on BASE, which has no default value"}},
		{"ARG after FROM does not reach FROM", DockerfileExpect{TaggedBase: ptr(true)}, "FROM alpine:3.19\nARG V=3\nFROM python:${V}\n", StatusFail,
			[]string{"Dockerfile:3: FROM python:${V} depends on V"}},
		{"not a reference", DockerfileExpect{TaggedBase: ptr(true)}, "FROM Node:18\n", StatusFail, []string{"Dockerfile:1: FROM Node:18: \"Node:18\" is not a valid image reference"}},

		// non_root (4.4)
		{"no USER", DockerfileExpect{NonRoot: ptr(true)}, "FROM node:18\nCMD [\"node\"]\n", StatusFail,
			[]string{"the final stage (FROM at line 1) has no USER instruction, so the container runs as root"}},
		{"USER root last", DockerfileExpect{NonRoot: ptr(true)}, "FROM node:18\nUSER node\nRUN x\nUSER root\n", StatusFail,
			[]string{"Dockerfile:4: USER root is the last USER of the final stage, so the container runs as root"}},
		{"USER 0:0", DockerfileExpect{NonRoot: ptr(true)}, "FROM node:18\nUSER 0:0\n", StatusFail, []string{"Dockerfile:2: USER 0:0"}},
		{"USER only in the builder", DockerfileExpect{NonRoot: ptr(true)}, "FROM node:18 AS build\nUSER node\nFROM nginx:1.25\n", StatusFail,
			[]string{"the final stage (FROM at line 3) has no USER"}},
		{"USER from the stage built on", DockerfileExpect{NonRoot: ptr(true)}, "FROM node:18 AS base\nUSER node\nFROM base\nCMD [\"node\"]\n", StatusPass,
			[]string{"USER node at line 2 (in the stage at line 1, which the final stage builds on)"}},
		{"USER from an ARG", DockerfileExpect{NonRoot: ptr(true)}, "FROM node:18\nARG UID=1000\nUSER ${UID}\n", StatusPass, []string{"USER ${UID} (1000) at line 3"}},
		{"USER from an ENV that is root", DockerfileExpect{NonRoot: ptr(true)}, "FROM node:18\nENV RUNAS=root OTHER=x\nUSER $RUNAS\n", StatusFail,
			[]string{"Dockerfile:3: USER $RUNAS (root) is the last USER"}},

		// exec_form (4.1, 4.3)
		{"shell CMD", DockerfileExpect{ExecForm: ptr(true)}, "FROM node:18\nWORKDIR /app\nCMD node app.js\n", StatusFail,
			[]string{`Dockerfile:3: CMD node app.js is in shell form, so /bin/sh runs as PID 1 and the program gets no stop signal; write it as a JSON array: CMD ["node", "app.js"] (4.3)`}},
		{"CMD not valid JSON", DockerfileExpect{ExecForm: ptr(true)}, "FROM node:18\nCMD [\"node\" \"app.js\"]\n", StatusFail,
			[]string{`Dockerfile:2: CMD ["node" "app.js"] is not a valid JSON array`}},
		{"shell ENTRYPOINT", DockerfileExpect{ExecForm: ptr(true)}, "FROM alpine:3.19\nENTRYPOINT ping -c 3 $HOST\nCMD [\"localhost\"]\n", StatusFail,
			[]string{"Dockerfile:2: ENTRYPOINT ping -c 3 $HOST is in shell form", `ENTRYPOINT ["program", "arg"]`, `CMD ["localhost"] at line 3`}},
		{"exec form, shell only in the builder", DockerfileExpect{ExecForm: ptr(true)},
			"FROM node:18 AS b\nCMD npm start\nFROM nginx:1.25\nENTRYPOINT [\"nginx\"]\nCMD [\"-g\", \"daemon off;\"]\n", StatusPass, nil},
		{"the last CMD counts", DockerfileExpect{ExecForm: ptr(true)}, "FROM node:18\nCMD node a.js\nCMD [\"node\", \"a.js\"]\n", StatusPass, nil},
		{"no CMD", DockerfileExpect{ExecForm: ptr(true)}, "FROM node:18\n", StatusPass, []string{"no CMD or ENTRYPOINT in the final stage"}},

		// copy_not_add (4.2, 4.4)
		{"ADD of a local file", DockerfileExpect{CopyNotAdd: ptr(true)}, "FROM node:18\nADD --chown=node app.js /app/\n", StatusFail,
			[]string{"Dockerfile:2: ADD --chown=node app.js /app/ copies local files; use COPY --chown=node app.js /app/ instead"}},
		{"ADD in JSON form", DockerfileExpect{CopyNotAdd: ptr(true)}, "FROM node:18\nADD [\"src\", \"/app\"]\n", StatusFail, []string{"Dockerfile:2: ADD"}},
		{"ADD of a URL and an archive", DockerfileExpect{CopyNotAdd: ptr(true)},
			"FROM node:18\nADD https://example.com/a.txt /a\nADD rootfs.tar.xz /\nADD git@github.com:a/b.git /src\n", StatusPass, []string{"ADD at lines 2, 3, 4"}},

		// apt_cache_cleaned (4.4)
		{"apt not cleaned", DockerfileExpect{AptCacheCleaned: ptr(true)}, "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n", StatusFail,
			[]string{"Dockerfile:2: RUN apt-get update && apt-get install -y curl does not remove /var/lib/apt/lists in the same RUN", "rm -rf /var/lib/apt/lists/*"}},
		{"apt over lines", DockerfileExpect{AptCacheCleaned: ptr(true)}, "FROM debian:12\nRUN apt-get update \\\n  && DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 install -y curl \\\n  && apt-get clean\n",
			StatusFail, []string{"Dockerfile:2-4: RUN apt-get update"}},
		{"apt cleaned", DockerfileExpect{AptCacheCleaned: ptr(true)}, "FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf \"/var/lib/apt/lists\"\n",
			StatusPass, []string{"one RUN with apt-get update or install, 1 of them removing"}},
		{"rm before install", DockerfileExpect{AptCacheCleaned: ptr(true)}, "FROM debian:12\nRUN rm -rf /var/lib/apt/lists/* && apt-get update && apt-get install -y curl\n",
			StatusFail, []string{"Dockerfile:2: RUN"}},
		{"apt install alone", DockerfileExpect{AptCacheCleaned: ptr(true)}, "FROM debian:12\nRUN apt-get update\nRUN apt install -y curl; rm -rf /var/lib/apt/lists/*\n",
			StatusFail, []string{"Dockerfile:2: RUN apt-get update does not remove"}},
		{"apt in exec form", DockerfileExpect{AptCacheCleaned: ptr(true)}, "FROM debian:12\nRUN [\"apt-get\", \"install\", \"-y\", \"curl\"]\n",
			StatusFail, []string{`Dockerfile:2: RUN ["apt-get", "install", "-y", "curl"] does not remove`}},
		{"apt in sh -c", DockerfileExpect{AptCacheCleaned: ptr(true)},
			"FROM debian:12\nRUN [\"/bin/sh\", \"-c\", \"apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\"]\n", StatusPass, nil},
		{"apt in a heredoc", DockerfileExpect{AptCacheCleaned: ptr(true)},
			"FROM debian:12\nRUN <<EOF\n# install\napt-get update\napt-get install -y curl\nrm -rf /var/lib/apt/lists/*\nEOF\nRUN <<EOF\napt-get install -y git\nEOF\n",
			StatusFail, []string{"Dockerfile:8-10: RUN <<EOF does not remove"}},
		{"apt in a quoted word only", DockerfileExpect{AptCacheCleaned: ptr(true)}, "FROM debian:12\nRUN echo 'apt-get install x'\n", StatusPass, []string{"no RUN uses apt-get"}},

		// max_consecutive_runs (4.4)
		{"three RUNs in a row", DockerfileExpect{MaxConsecutiveRuns: ptr(1)}, "FROM debian:12\nWORKDIR /a\nRUN a\n# b next\nRUN b\nRUN c\nCOPY . .\nRUN d\n", StatusFail,
			[]string{"Dockerfile:3-6: three RUN instructions in a row; merge them with && into one layer (4.4)", "at most 3 RUN instructions in a row (lines 3-6)"}},
		{"two RUNs allowed", DockerfileExpect{MaxConsecutiveRuns: ptr(2)}, "FROM debian:12\nRUN a\nRUN b\nCOPY . .\nRUN c\nRUN d\nRUN e\n", StatusFail,
			[]string{"Dockerfile:5-7: three RUN instructions in a row; at most two are allowed"}},
		{"RUNs across stages", DockerfileExpect{MaxConsecutiveRuns: ptr(1)}, "FROM debian:12 AS a\nRUN a\nFROM debian:12\nRUN b\n", StatusPass, nil},

		// base (4.4, 8.1)
		{"wrong final base", DockerfileExpect{Base: []string{"python:3.9-slim"}}, "FROM python:3.12 AS build\nFROM python:3.12\n", StatusFail,
			[]string{"Dockerfile:2: the final stage is based on python:3.12; this assignment wants python:3.9-slim"}},
		{"final base through a stage", DockerfileExpect{Base: []string{"python:3.9-slim", "python:3.9-alpine"}},
			"FROM docker.io/library/python:3.9-slim AS base\nFROM base\n", StatusPass, []string{"through the stage at line 2"}},

		// every failing rule is listed
		{"several rules fail", DockerfileExpect{TaggedBase: ptr(true), NonRoot: ptr(true), ExecForm: ptr(true)}, "FROM node\nCMD node app.js\n", StatusFail,
			[]string{"Dockerfile:1: FROM node has no tag", "has no USER instruction", "Dockerfile:2: CMD node app.js is in shell form", "     1 | FROM node"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, dockerfile(t, tt.expect, tt.text), tt.status, tt.frags...)
		})
	}
}

func TestDockerfileBroken(t *testing.T) {
	e := DockerfileExpect{NonRoot: ptr(true)}
	tests := []struct {
		name, text string
		frags      []string
	}{
		{"unknown instruction", "FROM node:18\n\nEXPOSE: 3000\n", []string{"Dockerfile:3: unknown instruction: EXPOSE: (did you mean EXPOSE?)", "     3 | EXPOSE: 3000"}},
		{"parser error", "FROM node:18\nENV A\n", []string{"Dockerfile:2: ENV must have two arguments"}},
		{"bad JSON item", "FROM node:18\nCMD [\"a\", 1]\n", []string{"Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only"}},
		{"unterminated heredoc", "FROM node:18\nRUN <<EOF\necho\n", []string{"Dockerfile:2: unterminated heredoc"}},
		{"empty", "# nothing\n\n", []string{"the Dockerfile has no instructions"}},
		{"no FROM", "ARG A=1\n", []string{"the Dockerfile has no FROM instruction"}},
		{"RUN before FROM", "ARG A=1\nRUN echo\nFROM node:18\n", []string{"Dockerfile:2: RUN comes before the first FROM"}},
		{"FROM with two words", "FROM node 18\n", []string{"Dockerfile:1: FROM requires either one or three arguments"}},
		{"bad stage name", "FROM node:18 AS 1st\n", []string{"Dockerfile:1: invalid name for build stage"}},
		{"binary", "\x00\x01\x02ELF\n", []string{"Dockerfile:1: unknown instruction"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := dockerfile(t, e, tt.text)
			want(t, o, StatusFail, append(tt.frags, "Dockerfile does not parse")...)
		})
	}
}

func TestDockerfileSource(t *testing.T) {
	e := DockerfileExpect{MinStages: ptr(1)}
	run := func(c *Dockerfile, s *sources) Outcome { return c.Run(context.Background(), s) }

	s := &sources{src: map[string]string{}}
	want(t, run(&Dockerfile{Expect: e}, s), StatusFail, "Dockerfile is not in the submission",
		"the submission has no Dockerfile; the file must be named exactly Dockerfile (capital D, no extension)")

	s = &sources{fake: fake{build: BuildInfo{Dockerfile: "app/Dockerfile"}}, src: map[string]string{"app/Dockerfile": "FROM a:1\n"}}
	want(t, run(&Dockerfile{Expect: e}, s), StatusPass, "app/Dockerfile: at least one stage (FROM instructions)")
	if s.read != "app/Dockerfile" {
		t.Errorf("read %q, want the build's Dockerfile", s.read)
	}

	s = &sources{fake: fake{build: BuildInfo{Dockerfile: "Dockerfile"}}, src: map[string]string{"web/Dockerfile": "FROM a:1\nFROM b:latest\n"}}
	want(t, run(&Dockerfile{Path: "web/Dockerfile", Expect: DockerfileExpect{TaggedBase: ptr(true)}}, s), StatusFail,
		"web/Dockerfile:2: FROM b:latest uses the latest tag")

	s = &sources{src: map[string]string{"Dockerfile": "FROM a:1\n" + strings.Repeat("# padding\n", dockerfileLimit/10)}}
	want(t, run(&Dockerfile{Expect: e}, s), StatusFail, "Dockerfile is larger than 1 MiB")

	s = &sources{readErr: errors.New("Dockerfile leads outside the submission")}
	want(t, run(&Dockerfile{Expect: e}, s), StatusFail, "reading Dockerfile: Dockerfile leads outside the submission")

	want(t, run(&Dockerfile{Expect: e}, &sources{src: map[string]string{"Dockerfile": "FROM a:1\r\nRUN x\r\n"}}), StatusPass)
	want(t, (&Dockerfile{Expect: e}).Run(context.Background(), bare{}), StatusError, "cannot read the submission's files")
	if (&Dockerfile{}).Requires() != NeedsNothing {
		t.Error("dockerfile must not need the image")
	}
}

func TestDockerfileValidate(t *testing.T) {
	tests := []struct {
		name  string
		c     Dockerfile
		field string
	}{
		{"nothing", Dockerfile{}, "expect"},
		{"min_stages 0", Dockerfile{Expect: DockerfileExpect{MinStages: ptr(0)}}, "expect.min_stages"},
		{"max_consecutive_runs 0", Dockerfile{Expect: DockerfileExpect{MaxConsecutiveRuns: ptr(0)}}, "expect.max_consecutive_runs"},
		{"false", Dockerfile{Expect: DockerfileExpect{MinStages: ptr(2), CopyFrom: ptr(false)}}, "expect.copy_from"},
		{"base", Dockerfile{Expect: DockerfileExpect{Base: []string{"Python 3"}}}, "expect.base"},
		{"path outside", Dockerfile{Path: "../Dockerfile", Expect: DockerfileExpect{NonRoot: ptr(true)}}, "path"},
		{"path absolute", Dockerfile{Path: "/Dockerfile", Expect: DockerfileExpect{NonRoot: ptr(true)}}, "path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("Validate() = %v, want an error on %s", err, tt.field)
			}
		})
	}
	ok := Dockerfile{Path: "web/Dockerfile", Expect: DockerfileExpect{MinStages: ptr(2), Base: []string{"python:3.9-slim", "alpine@" + digest}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("a valid check was refused: %v", err)
	}
}
