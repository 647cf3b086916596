package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// imageFake is a target whose image has a history and files to walk.
type imageFake struct {
	fake
	history    []Layer
	historyErr error
	files      []File
	walkErr    error
	walked     int
}

func (f *imageFake) History(context.Context) ([]Layer, error) { return f.history, f.historyErr }

func (f *imageFake) WalkImage(_ context.Context, limit int64, fn func(File) error) error {
	for _, file := range f.files {
		file.Size = int64(len(file.Content))
		if file.Size > limit {
			file.Content, file.Truncated = file.Content[:limit], true
		}
		f.walked++
		if err := fn(file); err != nil {
			return err
		}
	}
	return f.walkErr
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
			{CreatedBy: "/bin/sh -c #(nop) ADD file:9a4f77dfaba7fd2aa78186e4ef0e7486ad55101cefc1fabbc1b385601bb38920 in / ", Size: 7_000_000},
			{CreatedBy: nodeBase, Empty: true},
			{CreatedBy: "/bin/sh -c #(nop) WORKDIR /app", Empty: true},
			{CreatedBy: "/bin/sh -c #(nop) COPY dir:4a5b in . ", Size: 2000},
			{CreatedBy: "/bin/sh -c npm ci --omit=dev", Size: 4_000_000},
			{CreatedBy: `/bin/sh -c #(nop)  CMD ["node" "app.js"]`, Empty: true},
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
		{"clean image", Secrets{}, nil, StatusPass, []string{"no secret found in 6 ENV variables, 6 history entries and 9 files"}, nil},
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
			f.history = append(f.history, Layer{CreatedBy: "/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2", Empty: true})
		}, StatusFail, []string{"4 secrets found", "ENV AWS_SECRET_ACCESS_KEY holds an AWS secret access key (Tb1X…)", "ENV DB_PASSWORD holds a password (hu…)",
			"ENV GITHUB_TOKEN holds a GitHub token (ghp_…)", "ENV DATABASE_URL holds a password in a URL (Sup…)"},
			[]string{"hunter2", "Sup3rS3cret", "history:", "SESSION_SECRET", "API_KEY"}},
		{"build argument in history", Secrets{}, func(f *imageFake) {
			f.history = append(f.history,
				Layer{CreatedBy: "/bin/sh -c #(nop)  ARG NPM_TOKEN=s3cr3t-npm-value", Empty: true},
				Layer{CreatedBy: "|1 NPM_TOKEN=s3cr3t-npm-value /bin/sh -c npm ci", Size: 100})
		}, StatusFail, []string{"1 secret found: history: ARG NPM_TOKEN=s3cr… holds a token (s3cr…)", "build arguments (ARG) are recorded"},
			[]string{"s3cr3t-npm-value"}},
		{"ARG without a default", Secrets{}, func(f *imageFake) {
			f.history = append(f.history,
				Layer{CreatedBy: "/bin/sh -c #(nop)  ARG NPM_TOKEN", Empty: true},
				Layer{CreatedBy: "|1 NPM_TOKEN=$NPM_TOKEN /bin/sh -c npm ci", Size: 100})
		}, StatusPass, nil, nil},
		{"bearer token in a RUN", Secrets{}, func(f *imageFake) {
			f.history = append(f.history, Layer{CreatedBy: `/bin/sh -c curl -fsS -H "Authorization: Bearer 9f8e7d6c5b4a39281706" https://api.example.com/setup`, Size: 10})
		}, StatusFail, []string{`history: RUN curl -fsS -H "Authorization: Bearer 9f8e…" https://api.example.com/setup holds a bearer token`},
			[]string{"9f8e7d6c5b4a39281706"}},
		{"bearer from a variable", Secrets{}, func(f *imageFake) {
			f.history = append(f.history, Layer{CreatedBy: `/bin/sh -c curl -H "Authorization: Bearer $TOKEN" https://x`, Size: 10})
		}, StatusPass, nil, nil},
		{"password on a command line", Secrets{}, func(f *imageFake) {
			f.history = append(f.history, Layer{CreatedBy: `/bin/sh -c mysql -uroot --password=Zx81spectrum < /init.sql`, Size: 10})
		}, StatusFail, []string{"history: RUN mysql -uroot --password=Zx81… < /init.sql holds a password (Zx81…)"}, []string{"Zx81spectrum"}},
		{"many findings are capped", Secrets{}, func(f *imageFake) {
			for i := range 14 {
				f.files = append(f.files, textFile(fmt.Sprintf("/app/k%02d/.env", i), "A=1"))
			}
		}, StatusFail, []string{"14 secrets found", "/app/k09/.env", "and 4 more", "every secret found:\n", "/app/k13/.env"}, nil},
		{"walk stopped at grade's cap", Secrets{}, func(f *imageFake) {
			f.walkErr = fmt.Errorf("after 9 files: %w", ErrWalkLimit)
		}, StatusPass, []string{"grade read the first 9 files only"}, nil},
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
