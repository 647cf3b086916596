package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// imageFake is a target whose image has a history and layers of files to
// walk; files may repeat a path (one per layer), and deleted lists the
// paths not in the final image.
type imageFake struct {
	fake
	history    []Layer
	historyErr error
	files      []File
	deleted    []string
	walkErr    error
	walked     int
	// read lists the paths whose content the check asked for.
	read []string
}

func (f *imageFake) History(context.Context) ([]Layer, error) { return f.history, f.historyErr }

func (f *imageFake) WalkImage(_ context.Context, read func(File) int64, fn func(File) error) error {
	for _, file := range f.files {
		file.Size = int64(len(file.Content))
		content := file.Content
		file.Content = nil
		n := min(read(file), file.Size)
		if n > 0 {
			file.Content = content[:n]
			f.read = append(f.read, file.Path)
		}
		file.Truncated = file.Size > n
		f.walked++
		if err := fn(file); err != nil {
			return err
		}
	}
	return f.walkErr
}

// ReadFile says whether a path is in the final image: walked and not deleted.
func (f *imageFake) ReadFile(_ context.Context, p string, _ int64) (File, error) {
	if slices.Contains(f.deleted, p) || !slices.ContainsFunc(f.files, func(file File) bool { return file.Path == p }) {
		return File{}, ErrNotExist
	}
	return File{Path: p}, nil
}

func textFile(p, content string) File { return File{Path: p, Content: []byte(content)} }

const (
	testKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"
	ghToken = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ1234567890"
	// base is what a node base image's history looks like.
	nodeBase = "/bin/sh -c #(nop)  ENV NODE_VERSION=18.20.4"
)

func baseImage() *imageFake {
	return &imageFake{
		fake: fake{image: ImageConfig{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_VERSION=18.20.4",
			"YARN_VERSION=1.22.19", "NODE_ENV=production", "TOKENIZERS_PARALLELISM=false", "DB_PASSWORD_FILE=/run/secrets/db"}}},
		history: []Layer{
			{CreatedBy: "/bin/sh -c #(nop) ADD file:9a4f77dfaba7fd2aa78186e4ef0e7486ad55101cefc1fabbc1b385601bb38920 in / "},
			{CreatedBy: nodeBase},
			{CreatedBy: "/bin/sh -c #(nop) WORKDIR /app"},
			{CreatedBy: "/bin/sh -c #(nop) COPY dir:4a5b in . "},
			{CreatedBy: "/bin/sh -c npm ci --omit=dev"},
			{CreatedBy: `/bin/sh -c #(nop)  CMD ["node" "app.js"]`},
		},
		files: []File{
			textFile("/app/app.js", "const token = process.env.API_TOKEN;\napp.listen(3000)\n"),
			textFile("/app/.env.example", "API_TOKEN=changeme\n"),
			textFile("/app/package.json", `{"name": "app", "dependencies": {"express": "^4"}}`),
			textFile("/etc/ssl/private/ssl-cert-snakeoil.key", testKey),
			textFile("/usr/share/doc/openssh/examples/key.txt", testKey),
			textFile("/usr/local/lib/node_modules/npm/test/fixtures/.env", "NPM_TOKEN="+ghToken),
			textFile("/app/node_modules/ssh2/test/fixtures/id_rsa", testKey),
			{Path: "/usr/local/bin/node", Content: append([]byte("\x7fELF\x00\x00"), []byte(testKey)...)},
			textFile("/app/.env.empty", ""),
		},
	}
}

func TestSecrets(t *testing.T) {
	tests := []struct {
		name   string
		check  Secrets
		change func(f *imageFake)
		status Status
		frags  []string
		absent []string
	}{
		{"clean image", Secrets{}, nil, StatusPass, []string{"no secret found in 6 ENV variables, 6 history entries and 9 files of its layers"}, nil},
		{"planted .env copied", Secrets{Plant: map[string]string{".env": "API_TOKEN=s3cr3t-planted-by-grade\n"}}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/.env", "API_TOKEN=s3cr3t-planted-by-grade\n"))
		}, StatusFail, []string{"1 secret found", "/app/.env is in the image: grade put .env in the build context", "list it in .dockerignore (4.4)",
			"keep secret files out of the build context with .dockerignore"}, []string{"s3cr3t-planted"}},
		{"planted key copied elsewhere", Secrets{Plant: map[string]string{"keys/id_rsa": testKey}}, func(f *imageFake) {
			f.files = append(f.files, textFile("/srv/keys/id_rsa", testKey))
		}, StatusFail, []string{"/srv/keys/id_rsa is in the image: grade put keys/id_rsa in the build context"}, nil},
		{"planted but ignored by .dockerignore", Secrets{Plant: map[string]string{".env": "API_TOKEN=s3cr3t-planted-by-grade\n"}}, nil,
			StatusPass, nil, nil},
		{"a .env file of the student's own", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/.env", "PORT=3000\n"))
		}, StatusFail, []string{"/app/.env (a .env file)"}, nil},
		{".env.production", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/.env.production", "X=1\n"))
		}, StatusFail, []string{"/app/.env.production (a .env file)"}, nil},
		{"ssh key by name in a system path", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/root/.ssh/id_ed25519", "anything"), textFile("/usr/share/keys/id_rsa", "x"))
		}, StatusFail, []string{"2 secrets", "/root/.ssh/id_ed25519 (an SSH private key file)", "/usr/share/keys/id_rsa (an SSH private key file)"}, nil},
		{"private key by content", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/certs/server.key", testKey))
		}, StatusFail, []string{"/app/certs/server.key holds a private key"}, []string{"(-----"}},
		{"pem with a private key in a system path", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/etc/ssl/private/app.pem", testKey), textFile("/etc/ssl/certs/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
		}, StatusFail, []string{"1 secret found: /etc/ssl/private/app.pem holds a private key"}, nil},
		{"ignored path", Secrets{Ignore: []string{"/app/certs/*.key"}}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/certs/server.key", testKey))
		}, StatusPass, nil, nil},
		{"tokens in code", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/config.js", "module.exports = {\n  github: '"+ghToken+"',\n  gitlab: \"glpat-xxxxxxxxxxxxxxxxxxxx\",\n  aws: 'AKIAZ7VRSQ5TJRKWLMNO'\n}\n"))
		}, StatusFail, []string{"/app/config.js holds", "an AWS access key id (AKIA…)", "a GitHub token (ghp_…)", "a GitLab token (glpa…)"}, []string{ghToken}},
		{"aws credentials file", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/root/.aws/credentials", "[default]\naws_access_key_id = AKIAZ7VRSQ5TJRKWLMNO\naws_secret_access_key = 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\n"))
		}, StatusFail, []string{"/root/.aws/credentials holds an AWS access key id (AKIA…) and an AWS secret access key (Tb1X…)"}, nil},
		{"aws documentation example keys", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/README.md", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"))
		}, StatusPass, nil, nil},
		{"npmrc token", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/.npmrc", "//registry.npmjs.org/:_authToken=npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ1234567890\n"))
		}, StatusFail, []string{"/app/.npmrc holds an npm token"}, nil},
		{"big files are not read", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/data.txt", ghToken+"\n"+strings.Repeat("x", secretFileLimit)))
		}, StatusPass, nil, nil},
		{"ENV secrets", Secrets{}, func(f *imageFake) {
			f.image.Env = append(f.image.Env, "AWS_SECRET_ACCESS_KEY=Tb1Xq8vKQ2pF5nRz7YhW3mLc9dGs0aJeUoIiNtBy", "DB_PASSWORD=hunter2",
				"GITHUB_TOKEN="+ghToken, "API_KEY=", "SESSION_SECRET=change-me", "DATABASE_URL=postgres://app:Sup3rS3cret@db:5432/app")
			f.history = append(f.history, Layer{CreatedBy: "/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2"})
		}, StatusFail, []string{"4 secrets found", "ENV AWS_SECRET_ACCESS_KEY holds an AWS secret access key (Tb1X…)", "ENV DB_PASSWORD holds a password (hu…)",
			"ENV GITHUB_TOKEN holds a GitHub token (ghp_…)", "ENV DATABASE_URL holds a password in a URL (Sup…)"},
			[]string{"hunter2", "Sup3rS3cret", "history:", "SESSION_SECRET", "API_KEY"}},
		{"build argument in history", Secrets{}, func(f *imageFake) {
			f.history = append(f.history,
				Layer{CreatedBy: "/bin/sh -c #(nop)  ARG NPM_TOKEN=s3cr3t-npm-value"},
				Layer{CreatedBy: "|1 NPM_TOKEN=s3cr3t-npm-value /bin/sh -c npm ci"})
		}, StatusFail, []string{"1 secret found: history: ARG NPM_TOKEN=s3cr… holds a token (s3cr…)", "build arguments (ARG) are recorded"},
			[]string{"s3cr3t-npm-value"}},
		{"ARG without a default", Secrets{}, func(f *imageFake) {
			f.history = append(f.history,
				Layer{CreatedBy: "/bin/sh -c #(nop)  ARG NPM_TOKEN"},
				Layer{CreatedBy: "|1 NPM_TOKEN=$NPM_TOKEN /bin/sh -c npm ci"})
		}, StatusPass, nil, nil},
		{"bearer token in a RUN", Secrets{}, func(f *imageFake) {
			f.history = append(f.history, Layer{CreatedBy: `/bin/sh -c curl -fsS -H "Authorization: Bearer 9f8e7d6c5b4a39281706" https://api.example.com/setup`})
		}, StatusFail, []string{`history: RUN curl -fsS -H "Authorization: Bearer 9f8e…" https://api.example.com/setup holds a bearer token`},
			[]string{"9f8e7d6c5b4a39281706"}},
		{"bearer from a variable", Secrets{}, func(f *imageFake) {
			f.history = append(f.history, Layer{CreatedBy: `/bin/sh -c curl -H "Authorization: Bearer $TOKEN" https://x`})
		}, StatusPass, nil, nil},
		{"password on a command line", Secrets{}, func(f *imageFake) {
			f.history = append(f.history, Layer{CreatedBy: `/bin/sh -c mysql -uroot --password=Zx81spectrum < /init.sql`})
		}, StatusFail, []string{"history: RUN mysql -uroot --password=Zx81… < /init.sql holds a password (Zx81…)"}, []string{"Zx81spectrum"}},
		{"many findings are capped", Secrets{}, func(f *imageFake) {
			for i := range 14 {
				f.files = append(f.files, textFile(fmt.Sprintf("/app/k%02d/.env", i), "A=1"))
			}
		}, StatusFail, []string{"14 secrets found", "/app/k09/.env", "and 4 more", "every secret found:\n", "/app/k13/.env"}, nil},
		{"walk stopped at grade's cap", Secrets{}, func(f *imageFake) {
			f.walkErr = fmt.Errorf("%w: it stopped after 200000 files", ErrWalkLimit)
		}, StatusFail, []string{"the image holds too many files or too much data for grade to look through (the image has more files than grade reads: it stopped after 200000 files)",
			"in the 9 files grade went through it found no secret", "an image this full is a problem in itself"}, []string{"anyone who can pull"}},
		{"walk stopped at grade's cap after a finding", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/0/9", ""), textFile("/app/.env", "A=1\n"))
			f.walkErr = fmt.Errorf("%w: it stopped after 200000 files", ErrWalkLimit)
		}, StatusFail, []string{"in the 11 files grade went through it found 1 secret: /app/.env (a .env file)", "anyone who can pull",
			"an image this full is a problem in itself"}, nil},
		{"planted files deleted by a later step", Secrets{Plant: map[string]string{".env": "API_TOKEN=s3cr3t-planted-by-grade\n", "keys/id_rsa": "planted key\n"}},
			func(f *imageFake) {
				f.files = append(f.files, textFile("/app/.env", "API_TOKEN=s3cr3t-planted-by-grade\n"), textFile("/app/keys/id_rsa", "planted key\n"))
				f.deleted = []string{"/app/.env", "/app/keys/id_rsa"}
			}, StatusFail, []string{"2 secrets found", "/app/.env is in a layer of the image, although a later step deletes it: it is still there " +
				"for anyone who pulls the image; grade put .env in the build context", "/app/keys/id_rsa is in a layer of the image, although a later step deletes it"},
			[]string{"s3cr3t-planted"}},
		{"a secret file deleted by a later step", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/.env", "A=1\n"), textFile("/app/config.js", "x = '"+ghToken+"'\n"), textFile("/app/.env.local", "B=2\n"))
			f.deleted = []string{"/app/.env", "/app/config.js"}
		}, StatusFail, []string{"3 secrets found", "/app/.env (a .env file) is in a layer of the image, although a later step deletes it",
			"/app/config.js, which holds a GitHub token (ghp_…), is in a layer of the image, although a later step deletes it",
			"; /app/.env.local (a .env file)\n"}, []string{"/app/.env.local (a .env file) is in a layer"}},
		{"a path in several layers is reported once", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/app/.env", "A=1\n"), textFile("/app/.env", "A=2\n"))
		}, StatusFail, []string{"1 secret found: /app/.env (a .env file)"}, nil},
		{"a token in nginx's web root", Secrets{}, func(f *imageFake) {
			f.files = append(f.files, textFile("/usr/share/nginx/html/index.html", "<script>const t = '"+ghToken+"'</script>"))
		}, StatusFail, []string{"/usr/share/nginx/html/index.html holds a GitHub token"}, nil},
		{"a token copied into a system path", Secrets{}, func(f *imageFake) {
			f.history = append(f.history, Layer{CreatedBy: "COPY --chown=app:app conf/ /usr/local/share/myapp/ # buildkit"})
			f.files = append(f.files, textFile("/usr/local/share/myapp/app.conf", "token = "+ghToken+"\n"),
				textFile("/usr/local/share/other/app.conf", "token = "+ghToken+"\n"))
		}, StatusFail, []string{"1 secret found: /usr/local/share/myapp/app.conf holds a GitHub token"}, nil},
		{"walk failed", Secrets{}, func(f *imageFake) { f.walkErr = errors.New("export: boom") }, StatusError, []string{"boom"}, nil},
		{"history failed", Secrets{}, func(f *imageFake) { f.historyErr = errors.New("history: boom") }, StatusError, []string{"boom"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check.Validate(); err != nil {
				t.Fatal(err)
			}
			f := baseImage()
			if tt.change != nil {
				tt.change(f)
			}
			o := tt.check.Run(context.Background(), f)
			want(t, o, tt.status, tt.frags...)
			all := o.Expected + o.Actual + o.Message + o.Detail
			for _, a := range tt.absent {
				if strings.Contains(all, a) {
					t.Errorf("outcome shows %q:\n%s", a, all)
				}
			}
		})
	}
}

func TestSecretsCapabilities(t *testing.T) {
	want(t, (&Secrets{}).Run(context.Background(), bare{}), StatusError, "cannot")
	want(t, (&Secrets{}).Run(context.Background(), &fake{}), StatusError, "cannot read image history")
}

func TestSecretsValidate(t *testing.T) {
	good := Secrets{Plant: map[string]string{".env": "A=1", "keys/id_rsa": testKey}, Ignore: []string{"/etc/nginx/*.key"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := good.Plants(); len(got) != 2 || got[".env"] != "A=1" {
		t.Errorf("Plants() = %v", got)
	}
	var _ Planter = &good
	if (&Secrets{}).Plants() != nil {
		t.Error("a check that plants nothing returned plants")
	}
	many := map[string]string{}
	for i := range 11 {
		many[fmt.Sprintf("f%d", i)] = "x"
	}
	for _, bad := range []Secrets{
		{Plant: map[string]string{"/etc/passwd": "x"}},
		{Plant: map[string]string{"../outside": "x"}},
		{Plant: map[string]string{"a/../../b": "x"}},
		{Plant: map[string]string{"./a": "x"}},
		{Plant: map[string]string{"": "x"}},
		{Plant: map[string]string{".env": ""}},
		{Plant: map[string]string{".dockerignore": "x"}},
		{Plant: many},
		{Ignore: []string{"relative/*.key"}},
		{Ignore: []string{"/a/[x"}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}

func TestHistoryInstruction(t *testing.T) {
	for in, want := range map[string]string{
		"/bin/sh -c #(nop)  ENV A=1":                    "ENV A=1",
		"/bin/sh -c apt-get update":                     "RUN apt-get update",
		"|2 A=1 B=two words /bin/sh -c make":            "RUN make [A=1 B=two words]",
		"RUN /bin/sh -c echo hi # buildkit":             "RUN /bin/sh -c echo hi # buildkit",
		`/bin/sh -c #(nop)  CMD ["node" "app.js"]`:      `CMD ["node" "app.js"]`,
		"/bin/sh -c #(nop) COPY file:abc in /app/x.js ": "COPY file:abc in /app/x.js",
	} {
		instr, args := historyInstruction(in)
		got := instr
		if args != "" {
			got += " [" + args + "]"
		}
		if got != want {
			t.Errorf("historyInstruction(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"s3cr3t-planted-by-grade": "s3cr…", "hunter2": "hu…", "ab": "…", `"quoted-secret"`: "quot…"} {
		if got := mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSecretsReads checks that the check decides from path and size what
// to read, so that grade's byte budget goes to files that may hold secrets.
func TestSecretsReads(t *testing.T) {
	f := baseImage()
	f.history = append(f.history, Layer{CreatedBy: "/bin/sh -c #(nop) COPY file:ab12 in /usr/share/nginx/html/index.html "})
	f.files = append(f.files,
		textFile("/app/data.bin", strings.Repeat("x", secretFileLimit+1)),
		textFile("/usr/bin/perl", "\x7fELF\x02\x01"),
		textFile("/usr/share/nginx/html/index.html", "<h1>hi</h1>"),
		textFile("/usr/lib/ssl/server.pem", "-----BEGIN CERTIFICATE-----"),
		textFile("/usr/share/zoneinfo/UTC", "TZif"), // the size of the plant
	)
	o := (&Secrets{Plant: map[string]string{".env": "A=1\n"}}).Run(context.Background(), f)
	want(t, o, StatusPass)
	for _, p := range []string{"/app/app.js", "/app/package.json", "/usr/share/nginx/html/index.html", "/usr/lib/ssl/server.pem",
		"/usr/local/bin/node", "/usr/share/zoneinfo/UTC"} {
		if !slices.Contains(f.read, p) {
			t.Errorf("%s was not read", p)
		}
	}
	for _, p := range []string{"/app/data.bin", "/usr/bin/perl", "/usr/share/doc/openssh/examples/key.txt", "/etc/ssl/private/ssl-cert-snakeoil.key",
		"/usr/local/lib/node_modules/npm/test/fixtures/.env", "/app/node_modules/ssh2/test/fixtures/id_rsa"} {
		if slices.Contains(f.read, p) {
			t.Errorf("%s was read", p)
		}
	}
}

func TestContentRoots(t *testing.T) {
	got := contentRoots("/srv/site", []Layer{
		{CreatedBy: "/bin/sh -c #(nop) ADD file:9a4f in / "},
		{CreatedBy: "/bin/sh -c #(nop) COPY file:0b1f in /docker-entrypoint.sh "},
		{CreatedBy: "/bin/sh -c #(nop) WORKDIR /usr/local/share/app"},
		{CreatedBy: "/bin/sh -c #(nop) COPY dir:4a5b in . "},
		{CreatedBy: "/bin/sh -c #(nop) COPY multi:77aa in conf/ "},
		{CreatedBy: "WORKDIR /usr/lib/web # buildkit"},
		{CreatedBy: "COPY --chown=1000:1000 --from=build /out/ ./static # buildkit"},
		{CreatedBy: `COPY ["a b.txt", "/usr/share/with space/"] # buildkit`},
		{CreatedBy: "ADD https://example.com/x.tgz /opt/x/ # buildkit"},
		{CreatedBy: "COPY <<EOF /usr/share/heredoc\nhello\nEOF # buildkit"},
		{CreatedBy: "COPY . $APP_HOME # buildkit"},
		{CreatedBy: "RUN /bin/sh -c cp a /usr/share/b # buildkit"},
		{CreatedBy: "COPY . / # buildkit"},
	})
	wantRoots := []string{"/usr/share/nginx/html", "/usr/share/caddy", "/docker-entrypoint.sh", "/usr/local/share/app",
		"/usr/local/share/app/conf", "/usr/lib/web", "/usr/lib/web/static", "/usr/share/with space", "/opt/x", "/srv/site"}
	if !slices.Equal(got, wantRoots) {
		t.Errorf("contentRoots =\n%q\nwant\n%q", got, wantRoots)
	}
	s := &secretScan{c: &Secrets{}, roots: got}
	for p, skip := range map[string]bool{"/usr/share/doc/x": true, "/usr/share/nginx/html/a/b.js": false, "/usr/share/nginx/htmlx": true,
		"/usr/lib/web/static/app.js": false, "/usr/lib/other": true, "/app/x": false, "/usr/bin/perl": true} {
		if s.skipContent(p) != skip {
			t.Errorf("skipContent(%s) = %v", p, !skip)
		}
	}
}

// TestScanTextPasswordNames: a password renamed to a short name (DB_PASS)
// is still found; names that only end like one, and the shell's PWD, are
// not.
func TestScanTextPasswordNames(t *testing.T) {
	tests := []struct {
		line string
		want string // what is found, "" for nothing
	}{
		{"DB_PASSWORD=hunter2", "a password"},
		{"DB_PASS=hunter2-prod-db", "a password"},
		{"ENV MYSQL_PWD=s3cret-db", "a password"},
		{"REDIS_PW=s3cret-db", "a password"},
		{"PASS=hunter2", "a password"},
		{"mysql --pass=hunter2", "a password"},
		{"BYPASS=hunter2", ""},
		{"COMPASS=north", ""},
		{"PWD=/app", ""},
		{"OLDPWD=/", ""},
		{"DB_PASS=changeme", ""},
	}
	for _, tt := range tests {
		got := ""
		if fs := scanText(tt.line); len(fs) > 0 {
			got = fs[0].what
		}
		if got != tt.want {
			t.Errorf("scanText(%q) finds %q, want %q", tt.line, got, tt.want)
		}
	}
}
