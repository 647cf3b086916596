package guard

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeEngine is the engine's API as far as the guard uses it; it records
// every call it gets.
type fakeEngine struct {
	mu       sync.Mutex
	calls    []string // "METHOD PATH?QUERY"
	auth     map[string]any
	tagDelay time.Duration // how long a tag takes
}

const (
	testImage = "grade-run1-alice-ch08:latest"
	testID    = "sha256:4f5b1405ceb0676b99de2f25f0123456789abcdef0123456789abcdef0123"
	testRegAt = "127.0.0.1:5555"
)

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	call := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	p := versionPrefixRe.ReplaceAllString(r.URL.Path, "")
	w.Header().Set("Api-Version", "1.41")
	switch {
	case p == "/_ping":
		_, _ = io.WriteString(w, "OK")
	case p == "/version":
		_, _ = io.WriteString(w, `{"Version":"20.10.24","ApiVersion":"1.41"}`)
	case p == "/images/"+testImage+"/json" || p == "/images/"+testRegAt+"/my-app:1.0/json":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"Id":"`+testID+`","RepoTags":["`+testImage+`","`+testRegAt+`/my-app:1.0"],`+
			`"RepoDigests":["`+testRegAt+`/my-app@sha256:39d4"],"Config":{"Labels":{"grade.managed":"true","grade.job":"alice/ch08","course":"8.3"}}}`)
	case p == "/images/json":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[{"Id":"`+testID+`","RepoTags":["`+testImage+`"],"Labels":{"grade.run":"run1"}}]`)
	case strings.HasSuffix(p, "/tag") && r.Method == http.MethodPost:
		f.mu.Lock()
		d := f.tagDelay
		f.mu.Unlock()
		time.Sleep(d)
		w.WriteHeader(http.StatusCreated)
	case strings.HasSuffix(p, "/push") && r.Method == http.MethodPost:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"The push refers to repository [`+testRegAt+`/my-app]"}`+"\n")
		_, _ = io.WriteString(w, `{"status":"1.0: digest: sha256:39d4 size: 736"}`+"\n")
	case r.Method == http.MethodDelete:
		_, _ = io.WriteString(w, `[{"Untagged":"`+strings.TrimPrefix(p, "/images/")+`"}]`)
	case p == "/auth":
		_ = json.NewDecoder(r.Body).Decode(&f.auth)
		_, _ = io.WriteString(w, `{"Status":"Login Succeeded"}`)
	default:
		http.Error(w, `{"message":"unexpected call"}`, http.StatusTeapot)
	}
}

func (f *fakeEngine) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// guardClient is a client of a guard served on its unix socket, as the
// docker CLI in the script's container is.
type guardClient struct {
	t   *testing.T
	c   *http.Client
	g   *Guard
	eng *fakeEngine
	dir string
}

func newGuardClient(t *testing.T) *guardClient {
	t.Helper()
	eng := &fakeEngine{}
	up := httptest.NewServer(eng)
	t.Cleanup(up.Close)
	g := New(Config{Upstream: http.DefaultTransport, Base: up.URL, Image: testImage, RegistryAt: testRegAt})
	g.SetNames("my-app:1.0", "localhost:5000")
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "guard.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := g.Serve(ln)
	t.Cleanup(func() { _ = srv.Close() })
	sock := filepath.Join(dir, "guard.sock")
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	return &guardClient{t: t, c: c, g: g, eng: eng, dir: dir}
}

// do sends a call and returns its status and body.
func (gc *guardClient) do(method, path, body string, hdr ...string) (int, string) {
	gc.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://docker"+path, rd)
	if err != nil {
		gc.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := gc.c.Do(req)
	if err != nil {
		gc.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGuardAllowed(t *testing.T) {
	tests := []struct {
		name           string
		method, path   string
		body           string
		status         int
		upstream       []string // the calls the engine must get, in order
		bodyHas, hasNo []string
	}{
		{"ping with a version prefix", "HEAD", "/v1.41/_ping", "", 200, []string{"HEAD /v1.41/_ping"}, nil, nil},
		{"ping without", "GET", "/_ping", "", 200, []string{"GET /_ping"}, []string{"OK"}, nil},
		{"version", "GET", "/v1.41/version", "", 200, []string{"GET /v1.41/version"}, []string{"20.10.24"}, nil},
		{"info is answered by the guard", "GET", "/v1.41/info", "", 200, nil,
			[]string{`"IndexServerAddress":"https://index.docker.io/v1/"`, "my-app:1.0", "localhost:5000"}, []string{testImage, testRegAt}},
		{"tag for the registry", "POST", "/v1.41/images/my-app:1.0/tag?repo=localhost%3A5000%2Fmy-app&tag=1.0", "", 201,
			[]string{"POST /v1.41/images/" + testImage + "/tag?repo=127.0.0.1%3A5555%2Fmy-app&tag=1.0"}, nil, nil},
		{"tag by the full Docker Hub name", "POST", "/v1.41/images/docker.io/library/my-app:1.0/tag?repo=localhost%3A5000%2Fteam%2Fmy-app&tag=2", "", 201,
			[]string{"POST /v1.41/images/" + testImage + "/tag?repo=127.0.0.1%3A5555%2Fteam%2Fmy-app&tag=2"}, nil, nil},
		{"push to the registry", "POST", "/v1.41/images/localhost:5000/my-app/push?tag=1.0", "", 200,
			[]string{"POST /v1.41/images/127.0.0.1:5555/my-app/push?tag=1.0"},
			[]string{"The push refers to repository [localhost:5000/my-app]", "1.0: digest"}, []string{testRegAt}},
		{"inspect under the script's names", "GET", "/v1.41/images/my-app:1.0/json", "", 200,
			[]string{"GET /v1.41/images/" + testImage + "/json"},
			[]string{`"my-app:1.0"`, `"localhost:5000/my-app:1.0"`, `"localhost:5000/my-app@sha256:39d4"`, `"course":"8.3"`},
			[]string{testImage, testRegAt, "grade.managed", "grade.job"}},
		{"inspect a registry name", "GET", "/v1.41/images/localhost:5000/my-app:1.0/json", "", 200,
			[]string{"GET /v1.41/images/127.0.0.1:5555/my-app:1.0/json"}, []string{`"localhost:5000/my-app:1.0"`}, []string{testRegAt}},
		{"list: the job's image only", "GET", "/v1.41/images/json?filters=%7B%22label%22%3A%5B%22x%22%5D%7D", "", 200,
			[]string{"GET /v1.41/images/json?filters=%7B%22reference%22%3A%5B%22grade-run1-alice-ch08%3Alatest%22%5D%7D"},
			[]string{`"my-app:1.0"`}, []string{testImage, "grade.run"}},
		{"login to the registry", "POST", "/v1.41/auth", `{"username":"alice","password":"pw","serveraddress":"localhost:5000"}`, 200,
			[]string{"POST /v1.41/auth"}, []string{"Login Succeeded"}, nil},
		{"untag a registry name", "DELETE", "/v1.41/images/localhost:5000/my-app:1.0?force=1", "", 200,
			[]string{"DELETE /v1.41/images/127.0.0.1:5555/my-app:1.0?noprune=1"}, []string{`"Untagged":"localhost:5000/my-app:1.0"`}, []string{testRegAt}},
	}
	gc := newGuardClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gc.t = t
			status, body := gc.do(tt.method, tt.path, tt.body, "X-Registry-Auth", "e30=")
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			got := gc.eng.took()
			if strings.Join(got, "\n") != strings.Join(tt.upstream, "\n") {
				t.Errorf("the engine got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.upstream, "\n  "))
			}
			for _, s := range tt.bodyHas {
				if !strings.Contains(body, s) {
					t.Errorf("the answer lacks %q: %s", s, body)
				}
			}
			for _, s := range tt.hasNo {
				if strings.Contains(body, s) {
					t.Errorf("the answer shows %q: %s", s, body)
				}
			}
		})
	}
	if got := gc.eng.auth["serveraddress"]; got != testRegAt {
		t.Errorf("login passed on for %v, want the job's registry %s", got, testRegAt)
	}
	if got := gc.g.TakeRefused(); len(got) != 0 {
		t.Errorf("allowed calls were recorded as refused: %+v", got)
	}
}

func TestGuardRefused(t *testing.T) {
	tests := []struct {
		name         string
		method, path string
		body         string
		status       int
		command      string   // the refusal recorded; "" for an ordinary not-found
		msgHas       []string // in the message the CLI prints
	}{
		{"push to Docker Hub", "POST", "/v1.41/images/my-app/push?tag=1.0", "", 403, "docker push my-app:1.0",
			[]string{"grade: `docker push my-app:1.0` is not allowed", "Docker Hub", "docker tag my-app:1.0 localhost:5000/my-app:1.0", "docker push localhost:5000/my-app:1.0"}},
		{"push to a Docker Hub user", "POST", "/v1.41/images/alice/my-app/push?tag=1.0", "", 403, "docker push alice/my-app:1.0",
			[]string{"Docker Hub", "localhost:5000/alice/my-app:1.0"}},
		{"push to docker.io spelt out", "POST", "/v1.41/images/docker.io/alice/my-app/push?tag=1.0", "", 403, "docker push alice/my-app:1.0",
			[]string{"Docker Hub"}},
		{"push to another registry", "POST", "/v1.41/images/ghcr.io/alice/my-app/push?tag=1.0", "", 403, "docker push ghcr.io/alice/my-app:1.0",
			[]string{"pushes to ghcr.io", "push to localhost:5000"}},
		{"push to the job's registry by its real address", "POST", "/v1.41/images/127.0.0.1:5555/my-app/push?tag=1.0", "", 403,
			"docker push 127.0.0.1:5555/my-app:1.0", []string{"push to localhost:5000"}},
		{"push a name never tagged", "POST", "/v1.41/images/localhost:5000/other/push?tag=1.0", "", 404, "",
			[]string{"An image does not exist locally with the tag: localhost:5000/other"}},
		{"tag an unknown image", "POST", "/v1.41/images/busybox:latest/tag?repo=localhost%3A5000%2Fx&tag=1", "", 404, "",
			[]string{"No such image: busybox:latest", "my-app:1.0"}},
		{"run", "POST", "/v1.41/containers/create", `{"Image":"busybox","HostConfig":{"Privileged":true,"Binds":["/:/host"]}}`, 403,
			"docker run busybox", []string{"grade: `docker run busybox` is not allowed in this exercise", "tag, push, inspect"}},
		{"ps", "GET", "/v1.41/containers/json?all=1", "", 403, "docker ps", nil},
		{"exec", "GET", "/v1.41/containers/web/json", "", 403, "docker exec/inspect web", nil},
		{"exec start", "POST", "/v1.41/exec/abc/start", "", 403, "docker exec", nil},
		{"build", "POST", "/v1.41/build?t=x", "", 403, "docker build", nil},
		{"pull", "POST", "/v1.41/images/create?fromImage=busybox&tag=latest", "", 403, "docker pull busybox:latest", nil},
		{"history", "GET", "/v1.41/images/my-app:1.0/history", "", 403, "docker history my-app:1.0", nil},
		{"save", "GET", "/v1.41/images/get?names=my-app", "", 403, "docker save", nil},
		{"volumes", "POST", "/v1.41/volumes/create", `{}`, 403, "docker volume …", nil},
		{"networks", "GET", "/v1.41/networks", "", 403, "docker network …", nil},
		{"events", "GET", "/v1.41/events", "", 403, "docker events", nil},
		{"swarm", "POST", "/v1.41/swarm/init", "", 403, "docker swarm …", nil},
		{"buildkit session", "POST", "/session", "", 403, "docker build (BuildKit)", nil},
		{"login to Docker Hub", "POST", "/v1.41/auth", `{"username":"a","password":"b","serveraddress":"https://index.docker.io/v1/"}`, 403, "docker login",
			[]string{"logs in to Docker Hub", "docker login localhost:5000"}},
		{"login elsewhere", "POST", "/v1.41/auth", `{"username":"a","password":"b","serveraddress":"ghcr.io"}`, 403, "docker login ghcr.io",
			[]string{"logs in to ghcr.io"}},
		{"remove the job's image", "DELETE", "/v1.41/images/" + testID + "?force=1", "", 403, "docker rmi " + testID,
			[]string{"grade still needs"}},
		{"remove an unknown image", "DELETE", "/v1.41/images/node:18-alpine", "", 404, "", []string{"No such image: node:18-alpine"}},
	}
	gc := newGuardClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gc.t = t
			status, body := gc.do(tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			var msg struct{ Message string }
			if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.Message == "" {
				t.Errorf("the answer is not the engine's error JSON: %s", body)
			}
			for _, s := range tt.msgHas {
				if !strings.Contains(msg.Message, s) {
					t.Errorf("the message lacks %q: %s", s, msg.Message)
				}
			}
			for _, c := range gc.eng.took() {
				if !strings.HasSuffix(c, "/images/"+testImage+"/json") { // the id look-up
					t.Errorf("the engine got %s", c)
				}
			}
			refused := gc.g.TakeRefused()
			if tt.command == "" {
				if len(refused) != 0 {
					t.Errorf("recorded as refused: %+v", refused)
				}
				return
			}
			if len(refused) != 1 || refused[0].Command != tt.command {
				t.Fatalf("refusals %+v, want one for %q", refused, tt.command)
			}
			if !strings.Contains(msg.Message, refused[0].Why) {
				t.Errorf("the message %q does not say why %q", msg.Message, refused[0].Why)
			}
		})
	}
}

// TestGuardNames follows the names a script gives the image: names outside
// the registry stay with the guard, the engine sees only the job's own.
func TestGuardNames(t *testing.T) {
	gc := newGuardClient(t)
	steps := []struct {
		method, path string
		status       int
		upstream     string // the one call the engine must get, or ""
		bodyHas      string
	}{
		// An alias outside the registry: kept by the guard only.
		{"POST", "/v1.41/images/my-app:1.0/tag?repo=alice%2Fmy-app&tag=2", 201, "", ""},
		{"POST", "/v1.41/images/my-app:1.0/tag?repo=busybox&tag=latest", 201, "", ""},
		{"GET", "/v1.41/images/alice/my-app:2/json", 200, "GET /v1.41/images/" + testImage + "/json", `"alice/my-app:2"`},
		{"GET", "/v1.41/images/busybox/json", 200, "GET /v1.41/images/" + testImage + "/json", `"busybox:latest"`},
		// From an alias into the registry: the engine tags the job's image.
		{"POST", "/v1.41/images/alice/my-app:2/tag?repo=localhost%3A5000%2Fmy-app&tag=1.0", 201,
			"POST /v1.41/images/" + testImage + "/tag?repo=127.0.0.1%3A5555%2Fmy-app&tag=1.0", ""},
		// Untagging names the guard keeps needs no engine.
		{"DELETE", "/v1.41/images/my-app:1.0", 200, "", `"Untagged":"my-app:1.0"`},
		{"GET", "/v1.41/images/my-app:1.0/json", 404, "", "No such image: my-app:1.0"},
		{"DELETE", "/v1.41/images/busybox", 200, "", `"Untagged":"busybox:latest"`},
		// By id, short or long.
		{"GET", "/v1.41/images/4f5b1405ceb0/json", 200, "GET /v1.41/images/" + testImage + "/json", `"alice/my-app:2"`},
		// docker push NAME with no tag (--all-tags): the guard's tags of it.
		{"POST", "/v1.41/images/localhost:5000/my-app/push", 200, "POST /v1.41/images/127.0.0.1:5555/my-app/push", "localhost:5000/my-app"},
	}
	for i, s := range steps {
		status, body := gc.do(s.method, s.path, "")
		if status != s.status {
			t.Errorf("step %d %s %s: status %d, want %d: %s", i, s.method, s.path, status, s.status, body)
		}
		// Besides the one call wanted, only look-ups of the job's image id.
		calls := gc.eng.took()
		if s.upstream != "" {
			if len(calls) == 0 || calls[len(calls)-1] != s.upstream {
				t.Errorf("step %d %s %s: the engine got %v, want %s last", i, s.method, s.path, calls, s.upstream)
			} else {
				calls = calls[:len(calls)-1]
			}
		}
		for _, c := range calls {
			if c != "GET /v1.41/images/"+testImage+"/json" && c != "GET /images/"+testImage+"/json" {
				t.Errorf("step %d %s %s: the engine got %s", i, s.method, s.path, c)
			}
		}
		if !strings.Contains(body, s.bodyHas) {
			t.Errorf("step %d %s %s: the answer lacks %q: %s", i, s.method, s.path, s.bodyHas, body)
		}
	}
	if got := gc.g.EngineTags(); len(got) != 1 || got[0] != testRegAt+"/my-app:1.0" {
		t.Errorf("engine tags %v, want only the registry's", got)
	}
}

func TestGuardRefusalsCapped(t *testing.T) {
	gc := newGuardClient(t)
	for range maxRefusals + 5 {
		gc.do("GET", "/v1.41/containers/json", "")
	}
	got := gc.g.TakeRefused()
	if len(got) != maxRefusals+1 || !strings.Contains(got[maxRefusals].Command, "5 more") {
		t.Errorf("%d refusals kept, last %+v", len(got), got[len(got)-1])
	}
	if got := gc.g.TakeRefused(); len(got) != 0 {
		t.Errorf("refusals not cleared: %+v", got)
	}
}

func TestGuardTagsCapped(t *testing.T) {
	gc := newGuardClient(t)
	for i := range maxTags {
		if st, body := gc.do("POST", "/v1.41/images/my-app:1.0/tag?repo=localhost%3A5000%2Fmy-app&tag=v"+strconv.Itoa(i), ""); st != 201 {
			t.Fatalf("tag %d: %d %s", i, st, body)
		}
	}
	if st, body := gc.do("POST", "/v1.41/images/my-app:1.0/tag?repo=localhost%3A5000%2Fmy-app&tag=one-more", ""); st != 403 || !strings.Contains(body, "as many as this exercise allows") {
		t.Errorf("tag past the cap: %d %s", st, body)
	}
	if st, _ := gc.do("POST", "/v1.41/images/my-app:1.0/tag?repo=localhost%3A5000%2Fmy-app&tag=v0", ""); st != 201 {
		t.Errorf("retagging an existing name was refused: %d", st)
	}
	if n := len(gc.g.EngineTags()); n != maxTags {
		t.Errorf("%d engine tags", n)
	}
}

// TestGuardTagsCappedInParallel: parallel docker tag calls cannot pass the
// cap together.
func TestGuardTagsCappedInParallel(t *testing.T) {
	gc := newGuardClient(t)
	gc.eng.mu.Lock()
	gc.eng.tagDelay = 20 * time.Millisecond
	gc.eng.mu.Unlock()
	var wg sync.WaitGroup
	var mu sync.Mutex
	made := 0
	for i := range 2 * maxTags {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, "http://docker/v1.41/images/my-app:1.0/tag?repo=localhost%3A5000%2Fmy-app&tag=p"+strconv.Itoa(i), nil)
			resp, err := gc.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusCreated {
				mu.Lock()
				made++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n := len(gc.g.EngineTags()); made != maxTags || n != maxTags {
		t.Errorf("%d tags made (%d held), want %d", made, n, maxTags)
	}
	gc.g.mu.Lock()
	left := len(gc.g.pending)
	gc.g.mu.Unlock()
	if left != 0 {
		t.Errorf("%d reservations left", left)
	}
}

// TestGuardLongCommand: a refused call's command is cut short.
func TestGuardLongCommand(t *testing.T) {
	gc := newGuardClient(t)
	gc.do("GET", "/v1.41/"+strings.Repeat("x", 5000), "")
	got := gc.g.TakeRefused()
	if len(got) != 1 || len([]rune(got[0].Command)) > maxCommand+1 {
		t.Errorf("refused %+v", got)
	}
}
