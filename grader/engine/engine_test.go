package engine

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/moby/moby/api/types/image"

	"github.com/gradeproject/grade/checks"
)

func TestParseProcNet(t *testing.T) {
	in := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0
   9: 0B00007F:8437 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0BB8 0100007F:A000 01 00000000:00000000 00:00000000 00000000  1000        0 3 1 0000000000000000 100 0 0 10 0
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1388 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5 1 0000000000000000 100 0 0 10 0
`
	got := parseProcNet(in)
	want := []checks.Listener{
		{Proto: "tcp", Addr: "127.0.0.1", Port: 3000},
		{Proto: "tcp", Addr: "0.0.0.0", Port: 8080},
		{Proto: "tcp6", Addr: "::", Port: 3000},
		{Proto: "tcp6", Addr: "::1", Port: 5000},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

const classicLog = `Step 1/6 : FROM node:18-alpine
 ---> 1234567890ab
Step 2/6 : WORKDIR /app
 ---> Using cache
 ---> 2234567890ab
Step 3/6 : COPY app.js .
 ---> 3234567890ab
Step 4/6 : CMD ["node", "app.js"]
 ---> Running in abcdefabcdef
Removing intermediate container abcdefabcdef
 ---> 4234567890ab
Step 5/6 : LABEL grade.job=alice/ch04
 ---> Running in bbcdefabcdef
Removing intermediate container bbcdefabcdef
 ---> 5234567890ab
Step 6/6 : LABEL grade.managed=true
 ---> Running in cbcdefabcdef
Removing intermediate container cbcdefabcdef
 ---> 6234567890ab
Successfully built 6234567890ab
Successfully tagged grade-x-alice:latest
`

func TestScrubLog(t *testing.T) {
	got := scrubLog(classicLog, 2)
	for _, bad := range []string{"grade.", "Successfully tagged", "Step 5", "/6 :", "Removing intermediate container bbc"} {
		if strings.Contains(got, bad) {
			t.Errorf("scrubbed log still has %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{"Step 1/4 : FROM", "Step 4/4 : CMD", " ---> 4234567890ab"} {
		if !strings.Contains(got, want) {
			t.Errorf("scrubbed log lacks %q:\n%s", want, got)
		}
	}
}

func TestScrubLogFailedBeforeLabels(t *testing.T) {
	in := "Step 1/3 : FROM node:18-alpine\n ---> 1234567890ab\nStep 2/3 : RUN npm ci\n ---> Running in abcdefabcdef\n" +
		"\x1b[91m/bin/sh: 1: npm: not found\n\x1b[0mRemoving intermediate container abcdefabcdef\n"
	got := scrubLog(in, 1)
	for _, want := range []string{"Step 1/2 : FROM", "Step 2/2 : RUN npm ci", "/bin/sh: 1: npm: not found\nRemoving"} {
		if !strings.Contains(got, want) {
			t.Errorf("scrubbed log lacks %q:\n%q", want, got)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("terminal escapes left: %q", got)
	}
}

func TestCreatedImages(t *testing.T) {
	got := createdImages(classicLog)
	want := []string{"3234567890ab", "4234567890ab", "5234567890ab", "6234567890ab"}
	if !slices.Equal(got, want) {
		t.Errorf("created = %v, want %v (cached and base images are not ours)", got, want)
	}
}

func TestBlameLine(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	content := "# comment\nFROM node:18-alpine\n\nWORKDIR /app\nRUN npm ci \\\n  --omit=dev\nCMD [\"node\"]\n"
	if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		err, log string
		want     int
	}{
		{"dockerfile parse error line 11: unknown instruction: EXPOSE:", "", 11},
		{"The command '/bin/sh -c npm ci --omit=dev' returned a non-zero code: 1", "Step 1/4 : FROM node\nStep 2/4 : WORKDIR /app\nStep 3/4 : RUN npm ci --omit=dev\n", 5},
		{"pull access denied", "", 0},
	}
	for _, tt := range tests {
		if got := blameLine(tt.err, tt.log, df); got != tt.want {
			t.Errorf("blameLine(%q) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestScanContext(t *testing.T) {
	write := func(t *testing.T, dir, name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names := func(es []entry) []string {
		var n []string
		for _, e := range es {
			n = append(n, e.rel)
		}
		return n
	}
	t.Run("dockerignore", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "Dockerfile", "FROM busybox\n")
		write(t, dir, "app.js", "x")
		write(t, dir, ".env", "SECRET=1")
		write(t, dir, "node_modules/a/index.js", "x")
		write(t, dir, ".dockerignore", "node_modules\n.env\nDockerfile\n")
		es, err := scanContext(dir, "Dockerfile", 1<<20, overlay{})
		if err != nil {
			t.Fatal(err)
		}
		got := names(es)
		if !slices.Equal(got, []string{".dockerignore", "Dockerfile", "app.js"}) {
			t.Errorf("context = %v", got)
		}
	})
	t.Run("planted files obey dockerignore", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "Dockerfile", "FROM busybox\n")
		write(t, dir, "app.py", "print(1)\n")
		write(t, dir, "keys/id_rsa", "") // a decoy must not keep the planted key out
		write(t, dir, ".dockerignore", ".env\n")
		ov := overlay{
			plant:    map[string][]byte{".env": []byte("TOKEN=x"), "keys/id_rsa": []byte("k")},
			appendTo: map[string][]byte{"app.py": []byte("# changed\n")},
		}
		es, err := scanContext(dir, "Dockerfile", 1<<20, ov)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(es); !slices.Equal(got, []string{".dockerignore", "Dockerfile", "app.py", "keys", "keys/id_rsa"}) {
			t.Errorf("context = %v, want .env left out by .dockerignore and keys/id_rsa planted", got)
		}
		var buf bytes.Buffer
		if err := writeContext(&buf, es, "Dockerfile", ""); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		tr := tar.NewReader(&buf)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(tr)
			files[h.Name] = string(b)
		}
		if files["app.py"] != "print(1)\n# changed\n" || files["keys/id_rsa"] != "k" {
			t.Errorf("app.py = %q, keys/id_rsa = %q: want the change appended and the planted key in place of the decoy", files["app.py"], files["keys/id_rsa"])
		}
		_, err = scanContext(dir, "Dockerfile", 1<<20, overlay{appendTo: map[string][]byte{"missing.py": nil}})
		var ce *ContextError
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "missing.py is not a file of the build context") {
			t.Errorf("changing a missing file: %v", err)
		}
	})
	t.Run("link inside is kept", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "Dockerfile", "FROM busybox\n")
		if err := os.Symlink("Dockerfile", filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		if _, err := scanContext(dir, "Dockerfile", 1<<20, overlay{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a hard link left out by .dockerignore is not refused", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "Dockerfile", "FROM busybox\n")
		write(t, dir, "node_modules/.pnpm/a/index.js", "x")
		write(t, dir, ".dockerignore", "node_modules\n")
		if err := os.Link(filepath.Join(dir, "node_modules/.pnpm/a/index.js"), filepath.Join(dir, "node_modules/index.js")); err != nil {
			t.Fatal(err)
		}
		es, err := scanContext(dir, "Dockerfile", 1<<20, overlay{})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(es); !slices.Equal(got, []string{".dockerignore", "Dockerfile"}) {
			t.Errorf("context = %v", got)
		}
	})
	t.Run("a context named through a link is the folder it leads to", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "src/Dockerfile", "FROM busybox\n")
		write(t, dir, "src/app.py", "print(1)\n")
		if err := os.Symlink("src", filepath.Join(dir, "app")); err != nil {
			t.Fatal(err)
		}
		es, err := scanContext(filepath.Join(dir, "app"), "Dockerfile", 1<<20, overlay{})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(es); !slices.Equal(got, []string{"Dockerfile", "app.py"}) {
			t.Errorf("context = %v", got)
		}
	})
	refused := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"link out", func(t *testing.T, dir string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
				t.Fatal(err)
			}
		}, "passwd is a link to /etc/passwd, outside the submission"},
		{"relative link out", func(t *testing.T, dir string) {
			if err := os.Symlink("../../secret", filepath.Join(dir, "s")); err != nil {
				t.Fatal(err)
			}
		}, "outside the submission"},
		{"chain of links out", func(t *testing.T, dir string) {
			// each link points "inside" as written; followed, they leave
			if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../..", filepath.Join(dir, "a", "b", "up")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("a/b/up/..", filepath.Join(dir, "far")); err != nil {
				t.Fatal(err)
			}
		}, "outside the submission"},
		{"hard link", func(t *testing.T, dir string) {
			// another name of a file outside the submission
			host := filepath.Join(t.TempDir(), "hostname")
			if err := os.WriteFile(host, []byte("grade-host\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(host, filepath.Join(dir, "hl.txt")); err != nil {
				t.Fatal(err)
			}
		}, "hl.txt is a hard link (it has 2 names); grade takes only plain files of the submission: copy the file instead"},
		{"hard link inside", func(t *testing.T, dir string) {
			if err := os.Link(filepath.Join(dir, "Dockerfile"), filepath.Join(dir, "Dockerfile.copy")); err != nil {
				t.Fatal(err)
			}
		}, "Dockerfile is a hard link (it has 2 names)"},
		{"fifo", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "pipe is a named pipe"},
		{"too big", func(t *testing.T, dir string) {
			write(t, dir, "big.bin", strings.Repeat("x", 2048))
		}, "larger than 1KiB"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "Dockerfile", "FROM busybox\n")
			tt.setup(t, dir)
			_, err := scanContext(dir, "Dockerfile", 1024, overlay{})
			var ce *ContextError
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg, tt.want) {
				t.Fatalf("error = %v, want a ContextError with %q", err, tt.want)
			}
		})
	}
}

func TestLocalSocket(t *testing.T) {
	for in, want := range map[string]bool{
		"unix:///var/run/docker.sock": true, "npipe:////./pipe/docker_engine": true,
		"tcp://docker:2376": false, "tcp://10.213.0.2:2375": false, "ssh://me@host": false,
	} {
		if got := localSocket(in); got != want {
			t.Errorf("localSocket(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCapped(t *testing.T) {
	c := newCapped(5)
	_, _ = c.Write([]byte("abc"))
	_, _ = c.Write([]byte("defgh"))
	if got := c.String(); got != "abcde\n… (3 more bytes not read)" {
		t.Errorf("capped = %q", got)
	}
}

func TestCacheSteps(t *testing.T) {
	// Histories come newest first.
	first := []image.HistoryResponseItem{
		{ID: "sha256:c3", CreatedBy: "/bin/sh -c pip install -r requirements.txt"},
		{ID: "sha256:c2", CreatedBy: "/bin/sh -c #(nop) COPY dir:3f2a9b in . "},
		{ID: "<missing>", CreatedBy: "/bin/sh -c #(nop) ADD file:0a1b in / "},
	}
	again := []image.HistoryResponseItem{
		{ID: "sha256:d3", CreatedBy: "/bin/sh -c pip install -r requirements.txt"},
		{ID: "sha256:d2", CreatedBy: "/bin/sh -c #(nop) COPY dir:77aa01 in . "},
		{ID: "<missing>", CreatedBy: "/bin/sh -c #(nop) ADD file:0a1b in / "},
	}
	got := cacheSteps(first, again)
	want := []checks.BuildStep{{Instruction: "ADD … /", Cached: true}, {Instruction: "COPY … ."},
		{Instruction: "RUN pip install -r requirements.txt"}}
	if !slices.Equal(got, want) {
		t.Errorf("steps = %+v, want %+v", got, want)
	}
	again[0].ID, again[1].ID = "sha256:c3", "sha256:c2"
	if got := cacheSteps(first, again); !got[1].Cached || !got[2].Cached {
		t.Errorf("the same layers must count as cached: %+v", got)
	}
}

// TestFindHelper: grade's own executable is the helper when it is a static
// Linux one for the engine's architecture; else the build's embedded one
// for it; else the error says how to get one.
func TestFindHelper(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	here := runtime.GOARCH
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[here]
	embedded := fstest.MapFS{"helperbin/grade-linux-" + other: {Data: []byte("\x7fELF another arch")}}
	if staticLinux(self, here) != nil {
		t.Skip("the test binary is not a static Linux one (make test builds it with CGO_ENABLED=0)")
	}
	src, err := findHelper(here, embedded)
	if err != nil || src.name != self {
		t.Errorf("engine of this arch: %+v, %v; want the test binary itself", src, err)
	}
	src, err = findHelper(other, embedded)
	if err != nil || !strings.Contains(src.name, "embedded grade-linux-"+other) || src.size != int64(len("\x7fELF another arch")) {
		t.Errorf("engine of another arch: %+v, %v; want the embedded one", src, err)
	}
	if _, err := findHelper(other, nil); err == nil || !strings.Contains(err.Error(), "make build-embed") {
		t.Errorf("nothing embedded: %v", err)
	}
	if _, err := findHelper("s390x", embedded); err == nil || !strings.Contains(err.Error(), "the engine is s390x") {
		t.Errorf("an architecture nothing is built for: %v", err)
	}
}

func TestEngineFault(t *testing.T) {
	for _, tc := range []struct {
		cause string
		want  bool
	}{
		{"failed to export image: failed to set parent sha256:e149aa: unknown parent image ID sha256:e149aa", true},
		{"failed to register layer: layer does not exist", true},
		{"No such image: sha256:0123456789ab", true},
		{"Dockerfile:3: COPY failed: file not found in build context or excluded by .dockerignore: stat app.js: file does not exist", false},
		{"dockerfile parse error on line 2: unknown instruction: FORM", false},
		{"pull access denied for nosuchimage, repository does not exist", false},
		// A student's RUN that prints an engine's words is still a failed RUN.
		{`process "/bin/sh -c echo failed to export image; exit 1" did not complete successfully: exit code: 1`, false},
		{"The command '/bin/sh -c echo unknown parent image; false' returned a non-zero code: 1", false},
	} {
		if got := engineFault(tc.cause); got != tc.want {
			t.Errorf("engineFault(%q) = %v, want %v", tc.cause, got, tc.want)
		}
	}
}
