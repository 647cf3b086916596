package guard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// The unit tests of commands mode (commands.go): the guard in front of a
// fake engine that makes what it is asked to, answers with the engine's
// names and records every call it gets, with its body.

const (
	cmdPrefix  = "grade-run1-alice-ch05-" // the engine's names of the job's objects start so
	cmdJob     = "alice/ch05"
	foreignID  = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0" // another job's container
	scriptID   = "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c" // the job's, made by grade
	randomName = "quirky_turing"                                                    // the engine's name of a container made without one
	cmdExecID  = "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0"
)

// cmdLimits are the job's limits in these tests.
var cmdLimits = checks.Limits{Memory: 256 << 20, PIDs: 100, CPUs: 0.5, Context: 1 << 20, Output: 1 << 16}

// engineCall is one call the fake engine got.
type engineCall struct {
	method, path string // path without the version prefix
	query        url.Values
	body         []byte
}

func (c engineCall) String() string {
	s := c.method + " " + c.path
	if q := c.query.Encode(); q != "" {
		s += "?" + q
	}
	return s
}

type fakeObject struct {
	id, name, image string
	labels          map[string]any
	hostConfig      json.RawMessage
	internal        bool
	driver          string
	options         map[string]string
}

// cmdEngine is the engine's API as far as commands mode uses it.
type cmdEngine struct {
	mu         sync.Mutex
	calls      []engineCall
	n          int
	containers map[string]*fakeObject // by id
	volumes    map[string]*fakeObject // by name
	networks   map[string]*fakeObject // by name
}

func newCmdEngine() *cmdEngine {
	bob := map[string]any{labelManaged: "true", labelRun: "run1", labelJob: "bob/ch05"}
	alice := map[string]any{labelManaged: "true", labelRun: "run1", labelJob: cmdJob}
	return &cmdEngine{
		containers: map[string]*fakeObject{
			foreignID: {id: foreignID, name: "grade-run1-bob-ch05-web", image: "nginx", labels: bob},
			scriptID:  {id: scriptID, name: cmdPrefix + "script", image: "grade/docker-cli:bookworm", labels: alice},
		},
		volumes:  map[string]*fakeObject{"grade-run1-bob-ch05-data": {name: "grade-run1-bob-ch05-data", labels: bob}},
		networks: map[string]*fakeObject{"grade-run1-bob-ch05-net": {id: "n0b", name: "grade-run1-bob-ch05-net", labels: bob}},
	}
}

func fakeID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (f *cmdEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p := versionPrefixRe.ReplaceAllString(r.URL.Path, "")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, engineCall{method: r.Method, path: p, query: r.URL.Query(), body: body})
	segs := strings.Split(strings.Trim(p, "/"), "/")
	arg := func(i int) string {
		if i < len(segs) {
			return segs[i]
		}
		return ""
	}
	w.Header().Set("Api-Version", "1.41")
	get, post, del := r.Method == http.MethodGet, r.Method == http.MethodPost, r.Method == http.MethodDelete
	switch {
	case p == "/_ping":
		_, _ = io.WriteString(w, "OK")
	case p == "/containers/create" && post:
		f.n++
		id := fakeID("container" + strconv.Itoa(f.n))
		name := r.URL.Query().Get("name")
		if name == "" {
			name = randomName
			for _, c := range f.containers {
				if c.name == randomName {
					name += strconv.Itoa(f.n)
				}
			}
		}
		var cr struct {
			Image      any
			Labels     map[string]any
			HostConfig json.RawMessage
		}
		_ = json.Unmarshal(body, &cr)
		image, _ := cr.Image.(string)
		f.containers[id] = &fakeObject{id: id, name: name, image: image, labels: cr.Labels, hostConfig: cr.HostConfig}
		writeJSON(w, http.StatusCreated, map[string]any{"Id": id, "Warnings": []string{}})
	case p == "/containers/json" && get:
		ids := make([]string, 0, len(f.containers))
		for id := range f.containers {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		list := []map[string]any{}
		for _, id := range ids {
			c := f.containers[id]
			list = append(list, map[string]any{"Id": c.id, "Names": []string{"/" + c.name}, "Image": c.image, "Labels": c.labels, "State": "running"})
		}
		writeJSON(w, http.StatusOK, list)
	case arg(0) == "containers" && len(segs) == 3 && arg(2) == "json" && get:
		c := f.containers[arg(1)]
		if c == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such container: " + arg(1)})
			return
		}
		hc := c.hostConfig
		if len(hc) == 0 || hc[0] != '{' {
			hc = json.RawMessage(`{}`)
		}
		writeJSON(w, http.StatusOK, map[string]any{"Id": c.id, "Name": "/" + c.name, "Image": c.image,
			"Config": map[string]any{"Image": c.image, "Labels": c.labels}, "HostConfig": hc})
	case arg(0) == "containers" && len(segs) == 2 && del:
		delete(f.containers, arg(1))
		w.WriteHeader(http.StatusNoContent)
	case arg(0) == "containers" && len(segs) == 3 && arg(2) == "exec" && post:
		writeJSON(w, http.StatusCreated, map[string]string{"Id": cmdExecID})
	case arg(0) == "containers" && len(segs) == 3 && arg(2) == "rename" && post:
		if c := f.containers[arg(1)]; c != nil {
			c.name = r.URL.Query().Get("name")
		}
		w.WriteHeader(http.StatusNoContent)
	case arg(0) == "containers" && len(segs) == 3 && post:
		w.WriteHeader(http.StatusNoContent)
	case arg(0) == "containers" && len(segs) == 3 && arg(2) == "logs" && get:
		_, _ = io.WriteString(w, "hello\n")
	case arg(0) == "exec" && len(segs) == 3:
		writeJSON(w, http.StatusOK, map[string]any{"ID": arg(1), "Running": false, "ExitCode": 0})
	case p == "/volumes/create" && post:
		var v struct {
			Name, Driver string
			Labels       map[string]any
		}
		_ = json.Unmarshal(body, &v)
		f.volumes[v.Name] = &fakeObject{name: v.Name, labels: v.Labels, driver: v.Driver}
		writeJSON(w, http.StatusCreated, volumeJSON(f.volumes[v.Name]))
	case p == "/volumes" && get:
		list := []any{}
		for _, name := range sortedKeys(f.volumes) {
			if v := f.volumes[name]; matchLabels(r, v.labels) {
				list = append(list, volumeJSON(v))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"Volumes": list, "Warnings": nil})
	case arg(0) == "volumes" && len(segs) == 2 && get:
		v := f.volumes[arg(1)]
		if v == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "get " + arg(1) + ": no such volume"})
			return
		}
		writeJSON(w, http.StatusOK, volumeJSON(v))
	case arg(0) == "volumes" && len(segs) == 2 && del:
		delete(f.volumes, arg(1))
		w.WriteHeader(http.StatusNoContent)
	case p == "/networks/create" && post:
		var n struct {
			Name, Driver string
			Internal     bool
			Labels       map[string]any
			Options      map[string]string
		}
		_ = json.Unmarshal(body, &n)
		f.networks[n.Name] = &fakeObject{id: fakeID("network " + n.Name), name: n.Name, labels: n.Labels, driver: n.Driver, internal: n.Internal, options: n.Options}
		writeJSON(w, http.StatusCreated, map[string]string{"Id": f.networks[n.Name].id, "Warning": ""})
	case p == "/networks" && get:
		list := []any{}
		for _, name := range sortedKeys(f.networks) {
			if n := f.networks[name]; matchLabels(r, n.labels) {
				list = append(list, networkJSON(n))
			}
		}
		writeJSON(w, http.StatusOK, list)
	case arg(0) == "networks" && len(segs) == 2 && get:
		n := f.networks[arg(1)]
		if n == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "network " + arg(1) + " not found"})
			return
		}
		writeJSON(w, http.StatusOK, networkJSON(n))
	case arg(0) == "networks" && len(segs) == 2 && del:
		delete(f.networks, arg(1))
		w.WriteHeader(http.StatusNoContent)
	case arg(0) == "networks" && len(segs) == 3 && post:
		w.WriteHeader(http.StatusOK)
	case arg(0) == "images" && len(segs) >= 3 && segs[len(segs)-1] == "json" && get:
		name := strings.Join(segs[1:len(segs)-1], "/")
		writeJSON(w, http.StatusOK, map[string]any{"Id": "sha256:" + fakeID(name), "RepoTags": []string{name}})
	case p == "/images/json" && get:
		writeJSON(w, http.StatusOK, []any{map[string]any{"Id": "sha256:" + fakeID("nginx"), "RepoTags": []string{"nginx:latest"}}})
	default:
		writeJSON(w, http.StatusTeapot, map[string]string{"message": "unexpected call"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func volumeJSON(v *fakeObject) map[string]any {
	return map[string]any{"Name": v.name, "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/" + v.name + "/_data",
		"Labels": v.labels, "Scope": "local", "Options": nil}
}

func networkJSON(n *fakeObject) map[string]any {
	return map[string]any{"Name": n.name, "Id": n.id, "Driver": "bridge", "Scope": "local", "Internal": n.internal, "Labels": n.labels}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// matchLabels applies a list call's label filters, as the engine does.
func matchLabels(r *http.Request, labels map[string]any) bool {
	for _, l := range filterLabels(r.URL.Query()) {
		k, v, _ := strings.Cut(l, "=")
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// filterLabels reads the label filters of a list call.
func filterLabels(q url.Values) []string {
	var f map[string]any
	_ = json.Unmarshal([]byte(q.Get("filters")), &f)
	var out []string
	switch l := f["label"].(type) {
	case map[string]any:
		for k := range l {
			out = append(out, k)
		}
	case []any:
		for _, v := range l {
			out = append(out, fmt.Sprint(v))
		}
	}
	sort.Strings(out)
	return out
}

// took returns the calls the engine got since the last call of took.
func (f *cmdEngine) took() []engineCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// cmdGuard is a job's guard in commands mode in front of a cmdEngine.
type cmdGuard struct {
	t    *testing.T
	eng  *cmdEngine
	g    *Guard
	c    *Commands
	work string // the workspace, links resolved
	cl   *http.Client
	url  string

	sb *fakeSandbox
}

// The labels the fake sandbox gives everything, as grade's engine does.
const (
	labelManaged = "grade.managed"
	labelRun     = "grade.run"
	labelJob     = "grade.job"
	labelOwner   = "grade.owner"
)

// fakeSandbox is the job's side of the guard, as grade's engine gives it:
// the folders' volumes it makes are made on the fake engine, and what
// would fill them is recorded.
type fakeSandbox struct {
	cli *client.Client

	mu      sync.Mutex
	folders map[string]string   // volume → folder
	filled  map[string][]string // what went into each folder's volume: ws/… names
}

func (s *fakeSandbox) Name() string { return cmdJob }
func (s *fakeSandbox) Labels() map[string]string {
	return map[string]string{labelManaged: "true", labelRun: "run1", labelJob: cmdJob, labelOwner: "testhost/1"}
}
func (s *fakeSandbox) Limits() checks.Limits { return cmdLimits }
func (s *fakeSandbox) HostConfig() *container.HostConfig {
	pids := cmdLimits.PIDs
	return &container.HostConfig{
		Resources:   container.Resources{Memory: int64(cmdLimits.Memory), MemorySwap: int64(cmdLimits.Memory), NanoCPUs: cmdLimits.NanoCPUs(), PidsLimit: &pids},
		SecurityOpt: []string{"no-new-privileges"},
		CapDrop:     jobCapDrop,
		LogConfig:   container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m", "max-file": "1"}},
	}
}
func (s *fakeSandbox) NetworkOptions() client.NetworkCreateOptions {
	return client.NetworkCreateOptions{Driver: "bridge", Internal: true, Labels: s.Labels(), Options: map[string]string{inhibitIPv4: "true"}}
}
func (s *fakeSandbox) VolumeOptions(name string) client.VolumeCreateOptions {
	return client.VolumeCreateOptions{Name: name, Driver: "local", Labels: s.Labels()}
}
func (s *fakeSandbox) FolderVolumeName(rel string) string {
	sum := sha256.Sum256([]byte(rel))
	return "grade-ws-run1-alice-ch05-" + hex.EncodeToString(sum[:6])
}
func (s *fakeSandbox) FolderVolume(ctx context.Context, dir, rel string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := s.FolderVolumeName(rel)
	if _, done := s.folders[name]; done {
		return name, nil
	}
	labels := s.Labels()
	labels["grade.folder"] = rel
	if _, err := s.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: "local", Labels: labels}); err != nil {
		return "", err
	}
	s.folders[name] = rel
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(dir, p)
		n := path.Join("ws", filepath.ToSlash(r))
		if d.IsDir() {
			n += "/"
		}
		s.filled[name] = append(s.filled[name], n)
		return nil
	})
	return name, err
}
func (s *fakeSandbox) BoundFolder(volume string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel, ok := s.folders[volume]
	return rel, ok
}
func (s *fakeSandbox) EditFolders(context.Context, string, []byte) error { return nil }

// jobCapDrop is what grade's engine drops of every container's capabilities.
var jobCapDrop = []string{"NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SYS_CHROOT"}

// inhibitIPv4 is the bridge option grade's engine sets on a job's networks.
const inhibitIPv4 = "com.docker.network.bridge.inhibit_ipv4"

var _ Sandbox = (*fakeSandbox)(nil)

func newCmdGuard(t *testing.T) *cmdGuard {
	t.Helper()
	eng := newCmdEngine()
	up := httptest.NewServer(eng)
	t.Cleanup(up.Close)
	addr := up.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	cli, err := client.New(client.WithHost("tcp://"+addr), client.WithAPIVersion("1.41"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "site", "index.html"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(work)
	if err != nil {
		t.Fatal(err)
	}
	g := New(Config{Upstream: tr, Base: "http://docker"})
	sb := &fakeSandbox{cli: cli, folders: map[string]string{}, filled: map[string][]string{}}
	c := NewCommands(g, CommandsConfig{Engine: cli, Sandbox: sb, Prefix: cmdPrefix, Work: work, Images: []string{"nginx:latest", "busybox"}})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	h := &cmdGuard{t: t, eng: eng, g: g, c: c, sb: sb, work: real, cl: srv.Client(), url: srv.URL}
	return h
}

// do sends a call as the docker CLI does; status 0 when the guard did not
// answer (it panicked).
func (h *cmdGuard) do(method, path, body string) (int, string) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.cl.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// must sends a call that must answer status, and forgets what the engine
// got for it.
func (h *cmdGuard) must(method, path, body string, status int) string {
	h.t.Helper()
	st, b := h.do(method, path, body)
	if st != status {
		h.t.Fatalf("%s %s: %d, want %d: %s", method, path, st, status, b)
	}
	h.eng.took()
	return b
}

// id is the engine's id of a container the script made.
func (h *cmdGuard) id(name string) string {
	h.t.Helper()
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	k := h.c.containers[name]
	if k == nil {
		h.t.Fatalf("the guard knows no container %s", name)
	}
	return k.ID
}

// setUp makes what the job's script made before a case: the network
// my-net, the volume data and the container web on my-net.
func (h *cmdGuard) setUp() {
	h.t.Helper()
	h.must("POST", "/v1.41/networks/create", cliNetwork("my-net", "", ""), http.StatusCreated)
	h.must("POST", "/v1.41/volumes/create", `{"Driver":"local","DriverOpts":{},"Labels":{},"Name":"data"}`, http.StatusCreated)
	h.must("POST", "/v1.41/containers/create?name=web", runBody(h.t, "nginx", `{"NetworkMode":"my-net"}`, ""), http.StatusCreated)
	if got := h.g.TakeRefused(); len(got) != 0 {
		h.t.Fatalf("setting up was refused: %+v", got)
	}
}

// cliRunJSON is the body of docker run busybox as the docker CLI 20.10
// sends it (API 1.41).
const cliRunJSON = `{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,` +
	`"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":[],"Cmd":null,"Image":"busybox","Volumes":{},"WorkingDir":"",` +
	`"Entrypoint":null,"OnBuild":null,"Labels":{},` +
	`"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default",` +
	`"PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"",` +
	`"VolumesFrom":null,"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],` +
	`"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"",` +
	`"Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"",` +
	`"ShmSize":0,"ConsoleSize":[0,0],"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"",` +
	`"BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":null,"BlkioDeviceWriteBps":null,` +
	`"BlkioDeviceReadIOps":null,"BlkioDeviceWriteIOps":null,"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,` +
	`"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,` +
	`"KernelMemory":0,"KernelMemoryTCP":0,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,` +
	`"OomKillDisable":false,"PidsLimit":0,"Ulimits":null,"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,` +
	`"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{}}}`

// runBody is the CLI's body of docker run with image, hostConfig's keys
// (a JSON object) set in its HostConfig and top's at its top.
func runBody(t *testing.T, image, hostConfig, top string) string {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(cliRunJSON), &body); err != nil {
		t.Fatal(err)
	}
	body["Image"] = image
	mergeJSON(t, body["HostConfig"].(map[string]any), hostConfig)
	mergeJSON(t, body, top)
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mergeJSON(t *testing.T, into map[string]any, js string) {
	t.Helper()
	if js == "" {
		return
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	for k, v := range m {
		into[k] = v
	}
}

// cliNetwork is the body of docker network create as the CLI 20.10 sends it.
func cliNetwork(name, driver, extra string) string {
	if driver == "" {
		driver = "bridge"
	}
	b := `{"Name":"` + name + `","CheckDuplicate":true,"Driver":"` + driver + `","Scope":"","EnableIPv6":false,` +
		`"IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,` +
		`"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{}}`
	if extra == "" {
		return b
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(b), &m)
	_ = json.Unmarshal([]byte(extra), &m)
	out, _ := json.Marshal(m)
	return string(out)
}

// apiMessage reads the engine's error JSON.
func apiMessage(t *testing.T, body string) string {
	t.Helper()
	var m struct{ Message string }
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.Message == "" {
		t.Errorf("the answer is not the engine's error JSON: %q", body)
	}
	return m.Message
}

// creates picks the container creates out of calls.
func creates(calls []engineCall) []engineCall {
	var out []engineCall
	for _, c := range calls {
		if c.method == http.MethodPost && c.path == "/containers/create" {
			out = append(out, c)
		}
	}
	return out
}

// engineReads decodes a create body as the engine does (Go's encoding/json,
// keys matched ignoring case).
func engineReads(body []byte) (container.CreateRequest, error) {
	var cr container.CreateRequest
	err := json.Unmarshal(body, &cr)
	if err == nil && cr.Config == nil {
		cr.Config = &container.Config{}
	}
	return cr, err
}

// assertSandboxed checks what the engine reads of a create grade let
// through: the job's labels, limits and sandbox, nothing of the host.
func (h *cmdGuard) assertSandboxed(t *testing.T, cr container.CreateRequest) {
	t.Helper()
	if !h.c.allowedImage(cr.Image) {
		t.Errorf("the engine runs the image %q", cr.Image)
	}
	for k, v := range cr.Labels {
		if strings.HasPrefix(k, "grade.") && k != labelOwner && (k != labelManaged || v != "true") && (k != labelRun || v != "run1") && (k != labelJob || v != cmdJob) {
			t.Errorf("the container has the label %s=%s", k, v)
		}
		if strings.HasPrefix(strings.ToLower(k), "com.docker.compose.") {
			t.Errorf("the container has the compose engine's label %s=%s", k, v)
		}
	}
	if cr.Labels[labelManaged] != "true" || cr.Labels[labelRun] != "run1" || cr.Labels[labelJob] != cmdJob {
		t.Errorf("the container lacks the job's labels: %v", cr.Labels)
	}
	hc := cr.HostConfig
	if hc == nil {
		t.Fatal("the engine got no HostConfig")
	}
	if hc.Memory <= 0 || hc.Memory > int64(cmdLimits.Memory) || hc.MemorySwap != hc.Memory {
		t.Errorf("memory %d, swap %d: want at most %d, no swap", hc.Memory, hc.MemorySwap, int64(cmdLimits.Memory))
	}
	if hc.NanoCPUs <= 0 || hc.NanoCPUs > cmdLimits.NanoCPUs() || hc.CPUQuota != 0 || hc.CPUPeriod != 0 {
		t.Errorf("cpus %d (quota %d/%d), want at most %d", hc.NanoCPUs, hc.CPUQuota, hc.CPUPeriod, cmdLimits.NanoCPUs())
	}
	if hc.PidsLimit == nil || *hc.PidsLimit <= 0 || *hc.PidsLimit > cmdLimits.PIDs {
		t.Errorf("pids limit %v, want at most %d", hc.PidsLimit, cmdLimits.PIDs)
	}
	drop := map[string]bool{}
	for _, c := range hc.CapDrop {
		drop[c] = true
	}
	for _, c := range jobCapDrop {
		if !drop[c] {
			t.Errorf("CapDrop %v lacks %s", hc.CapDrop, c)
		}
	}
	if !reflect.DeepEqual(hc.SecurityOpt, []string{"no-new-privileges"}) {
		t.Errorf("SecurityOpt %v", hc.SecurityOpt)
	}
	if hc.LogConfig.Type != "json-file" || hc.LogConfig.Config["max-size"] != "1m" || hc.LogConfig.Config["max-file"] != "1" {
		t.Errorf("LogConfig %+v", hc.LogConfig)
	}
	if hc.Privileged || len(hc.CapAdd) > 0 || len(hc.Devices) > 0 || len(hc.DeviceRequests) > 0 || len(hc.Sysctls) > 0 ||
		hc.CgroupParent != "" || (hc.OomKillDisable != nil && *hc.OomKillDisable) || (hc.Runtime != "" && hc.Runtime != "runc") {
		t.Errorf("the container is given powers over the host: %+v", hc)
	}
	for _, mode := range []string{string(hc.NetworkMode), string(hc.PidMode), string(hc.IpcMode), string(hc.UTSMode), string(hc.UsernsMode), string(hc.CgroupnsMode)} {
		if mode == "host" {
			t.Errorf("the container shares a namespace of the host: %+v", hc)
		}
	}
	if nm := string(hc.NetworkMode); nm != "none" && !strings.HasPrefix(nm, cmdPrefix) && !strings.HasPrefix(nm, "container:") {
		t.Errorf("the container is on the network %q", nm)
	}
	if cr.NetworkingConfig != nil {
		for net := range cr.NetworkingConfig.EndpointsConfig {
			if !strings.HasPrefix(net, cmdPrefix) {
				t.Errorf("the container is on the network %q", net)
			}
		}
	}
	// No path of any machine is handed to the engine: a folder of the
	// submission is a volume of the workspace's, read-only.
	ws := "grade-ws-run1-alice-ch05-"
	for _, b := range hc.Binds {
		src, _, ok := strings.Cut(b, ":")
		if !ok {
			continue // a target only: an anonymous volume
		}
		if !strings.HasPrefix(src, cmdPrefix) && (!strings.HasPrefix(src, ws) || !strings.HasSuffix(b, ":ro")) {
			t.Errorf("the container mounts %s", b)
		}
	}
	h.assertKernel(t, hc)
	for _, m := range hc.Mounts {
		switch {
		case m.Type == mount.TypeBind:
			t.Errorf("the container mounts %+v", m)
		case m.Type == mount.TypeVolume && strings.HasPrefix(m.Source, ws) && !m.ReadOnly:
			t.Errorf("the container mounts %+v", m)
		case m.Type == mount.TypeVolume && (m.Source != "" && !strings.HasPrefix(m.Source, cmdPrefix) && !strings.HasPrefix(m.Source, ws) || m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil):
			t.Errorf("the container mounts %+v", m)
		case m.Type != mount.TypeBind && m.Type != mount.TypeVolume && m.Type != mount.TypeTmpfs:
			t.Errorf("the container mounts %+v", m)
		}
	}
}

// assertKernel checks what a container the engine makes asks of the host's
// kernel (kernel.go): no negative OOM score, ulimits within the policy,
// /dev/shm and every tmpfs no larger than the memory limit, tmpfs nosuid
// and nodev, no reserved label on an anonymous volume.
func (h *cmdGuard) assertKernel(t *testing.T, hc *container.HostConfig) {
	t.Helper()
	mem := int64(cmdLimits.Memory)
	if hc.OomScoreAdj < 0 {
		t.Errorf("OomScoreAdj %d", hc.OomScoreAdj)
	}
	if hc.ShmSize > mem {
		t.Errorf("ShmSize %d, over the memory limit %d", hc.ShmSize, mem)
	}
	for _, u := range hc.Ulimits {
		switch {
		case u == nil:
		case u.Name == "nofile" && u.Soft >= 0 && u.Hard >= 0 && u.Soft <= MaxNofile && u.Hard <= MaxNofile:
		case u.Name == "nproc" && u.Soft >= 0 && u.Hard >= 0 && u.Soft <= cmdLimits.PIDs && u.Hard <= cmdLimits.PIDs:
		case u.Name == "core" && u.Soft == 0 && u.Hard == 0:
		default:
			t.Errorf("the container has the ulimit %+v", *u)
		}
	}
	for p, opts := range hc.Tmpfs {
		o := strings.Split(opts, ",")
		if !slices.Contains(o, "nosuid") || !slices.Contains(o, "nodev") || slices.Contains(o, "suid") || slices.Contains(o, "dev") {
			t.Errorf("the tmpfs %s is mounted %s", p, opts)
		}
		var size []string
		for _, x := range o {
			if v, ok := strings.CutPrefix(x, "size="); ok {
				size = append(size, v)
			}
		}
		if n, ok := parseTmpfsSize(strings.Join(size, "")); len(size) != 1 || !ok || n > mem {
			t.Errorf("the tmpfs %s is mounted %s: its size is not at most %d", p, opts, mem)
		}
	}
	for _, m := range hc.Mounts {
		if m.Type == mount.TypeTmpfs {
			if to := m.TmpfsOptions; to == nil || to.SizeBytes <= 0 || to.SizeBytes > mem {
				t.Errorf("the tmpfs %s is mounted %+v: its size is not at most %d", m.Target, to, mem)
			} else {
				for _, o := range to.Options {
					if len(o) != 1 || (o[0] != "exec" && o[0] != "noexec" && o[0] != "ro") {
						t.Errorf("the tmpfs %s is mounted with %v", m.Target, o)
					}
				}
			}
		}
		if m.VolumeOptions != nil {
			for k := range m.VolumeOptions.Labels {
				if ReservedLabel(k) {
					t.Errorf("the volume %s is labelled %s", m.Target, k)
				}
			}
		}
	}
}

// TestCommandsGuardRefusedRun: docker run with an option that reaches the
// host is refused naming the option, recorded, and nothing reaches the
// engine.
func TestCommandsGuardRefusedRun(t *testing.T) {
	tests := []struct {
		name   string
		query  string // the create call's query (?name=)
		hc     string // HostConfig keys the CLI sets
		top    string // other keys the CLI sets
		option string // in the message: the option as the student typed it
	}{
		{"privileged", "", `{"Privileged":true}`, "", "`--privileged`"},
		{"cap-add", "", `{"CapAdd":["SYS_ADMIN"]}`, "", "`--cap-add`"},
		{"root folder", "", `{"Binds":["/:/host"]}`, "", "`-v /:/host`"},
		{"docker socket", "?name=dind", `{"Binds":["/var/run/docker.sock:/var/run/docker.sock"]}`, "", "`-v /var/run/docker.sock:/var/run/docker.sock`"},
		{"run folder", "", `{"Binds":["/run:/r"]}`, "", "`-v /run:/r`"},
		{"host folder read-only", "", `{"Binds":["/etc:/x:ro"]}`, "", "`-v /etc:/x`"},
		{"out of the workspace", "", `{"Binds":["/work/../etc:/x"]}`, "", "`-v /work/../etc:/x`"},
		{"host network", "", `{"NetworkMode":"host"}`, "", "`--network host`"},
		{"host network endpoint", "", "", `{"NetworkingConfig":{"EndpointsConfig":{"host":{}}}}`, "`--network host`"},
		{"host pid", "", `{"PidMode":"host"}`, "", "`--pid host`"},
		{"host ipc", "", `{"IpcMode":"host"}`, "", "`--ipc host`"},
		{"host uts", "", `{"UTSMode":"host"}`, "", "`--uts host`"},
		{"host userns", "", `{"UsernsMode":"host"}`, "", "`--userns host`"},
		{"host cgroupns", "", `{"CgroupnsMode":"host"}`, "", "`--cgroupns host`"},
		{"device", "", `{"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]}`, "", "`--device`"},
		{"gpus", "", `{"DeviceRequests":[{"Driver":"","Count":-1,"DeviceIDs":null,"Capabilities":[["gpu"]],"Options":{}}]}`, "", "`--gpus`"},
		{"seccomp unconfined", "", `{"SecurityOpt":["seccomp=unconfined"]}`, "", "`--security-opt seccomp=unconfined`"},
		{"apparmor unconfined", "", `{"SecurityOpt":["no-new-privileges","apparmor=unconfined"]}`, "", "`--security-opt apparmor=unconfined`"},
		{"sysctl", "", `{"Sysctls":{"net.ipv4.ip_forward":"1"}}`, "", "`--sysctl`"},
		{"cgroup parent", "", `{"CgroupParent":"/"}`, "", "`--cgroup-parent`"},
		{"runtime", "", `{"Runtime":"runsc"}`, "", "`--runtime`"},
		{"oom-kill-disable", "", `{"OomKillDisable":true}`, "", "`--oom-kill-disable`"},
		{"volume driver", "", `{"VolumeDriver":"rexray","Binds":["data:/d"]}`, "", "`--volume-driver`"},
		{"mount a host folder", "", `{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/x"}]}`, "", "`--mount type=bind,source=/etc,target=/x`"},
		{"mount the socket", "", `{"Mounts":[{"Type":"bind","Source":"/run/docker.sock","Target":"/s"}]}`, "", "`--mount type=bind,source=/run/docker.sock`"},
		{"volume with a driver config", "", `{"Mounts":[{"Type":"volume","Source":"data","Target":"/d","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"device":"/","o":"bind","type":"none"}}}}]}`, "",
			"`--mount volume-driver=…/volume-opt=…`"},
		{"anonymous volume with a driver config", "", `{"Mounts":[{"Type":"volume","Target":"/d","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"device":"/","o":"bind","type":"none"}}}}]}`, "",
			"`--mount volume-driver=…/volume-opt=…`"},
		{"mount type npipe", "", `{"Mounts":[{"Type":"npipe","Source":"/x","Target":"/x"}]}`, "", "`--mount type=npipe`"},
		{"volumes-from a container not made", "", `{"VolumesFrom":["other"]}`, "", "`--volumes-from other`"},
		{"volumes-from by the engine's name", "", `{"VolumesFrom":["grade-run1-bob-ch05-web"]}`, "", "`--volumes-from grade-run1-bob-ch05-web`"},
		{"volumes-from by another job's id", "", `{"VolumesFrom":["` + foreignID[:12] + `:ro"]}`, "", "`--volumes-from " + foreignID[:12] + "`"},
		{"volumes-from grade's container of the job", "", `{"VolumesFrom":["` + scriptID + `"]}`, "", "`--volumes-from " + scriptID + "`"},
		{"link", "", `{"Links":["other:db"]}`, "", "`--link other`"},
		{"link to the job's own container", "", `{"Links":["web:db"]}`, "", "`--link web` is a legacy option"},
		{"link by another job's id", "", `{"Links":["` + foreignID + `:db"]}`, "", "`--link " + foreignID + "`"},
		{"network of a container not made", "", `{"NetworkMode":"container:other"}`, "", "`--network container:other`"},
		{"network of another job's container", "", `{"NetworkMode":"container:` + foreignID + `"}`, "", "`--network container:" + foreignID + "`"},
		{"pid of a container not made", "", `{"PidMode":"container:grade-run1-bob-ch05-web"}`, "", "`--pid container:grade-run1-bob-ch05-web`"},
		{"ipc of a container not made", "", `{"IpcMode":"container:other"}`, "", "`--ipc container:other`"},
		{"link on a user network", "?name=app", `{"NetworkMode":"my-net","Links":["web:db"]}`,
			`{"NetworkingConfig":{"EndpointsConfig":{"my-net":{"Links":["web:db"]}}}}`, "`--link` on a user-defined network"},
		{"an unknown HostConfig key", "", `{"Foo":true}`, "", "HostConfig.Foo"},
		{"oom-score-adj negative", "", `{"OomScoreAdj":-1000}`, "", "`--oom-score-adj -1000` would make the host's kernel kill other processes"},
		{"oom-score-adj barely negative", "", `{"OomScoreAdj":-1}`, "", "`--oom-score-adj -1`"},
		{"ulimit core unlimited", "", `{"Ulimits":[{"Name":"core","Hard":-1,"Soft":-1}]}`, "", "`--ulimit core=-1` would let the container dump its memory"},
		{"ulimit core soft only", "", `{"Ulimits":[{"Name":"nofile","Hard":1024,"Soft":1024},{"Name":"core","Hard":1048576,"Soft":0}]}`, "", "`--ulimit core=0:1048576`"},
		{"ulimit memlock", "", `{"Ulimits":[{"Name":"memlock","Hard":-1,"Soft":-1}]}`, "", "`--ulimit memlock=-1` would let the container lock memory"},
		{"ulimit rtprio", "", `{"Ulimits":[{"Name":"rtprio","Hard":99,"Soft":99}]}`, "", "`--ulimit rtprio=99` would let the container take the host's CPUs"},
		{"ulimit nice", "", `{"Ulimits":[{"Name":"nice","Hard":40,"Soft":40}]}`, "", "`--ulimit nice=40`"},
		{"ulimit msgqueue", "", `{"Ulimits":[{"Name":"msgqueue","Hard":-1,"Soft":-1}]}`, "", "`--ulimit msgqueue=-1`"},
		{"ulimit stack", "", `{"Ulimits":[{"Name":"stack","Hard":16384,"Soft":8192}]}`, "", "`--ulimit stack=8192:16384` is not allowed in this exercise (only nofile, nproc and core=0 are)"},
		{"tmpfs with a memory policy", "", `{"Tmpfs":{"/x":"size=1m,mpol=bind:0"}}`, "", "`--tmpfs /x:size=1m,mpol=bind:0` sets mpol=bind:0, which grade does not allow on a tmpfs"},
		{"tmpfs as a bind", "", `{"Tmpfs":{"/x":"bind,exec"}}`, "", "`--tmpfs /x:bind,exec` sets bind"},
		{"tmpfs sized in blocks", "", `{"Tmpfs":{"/x":"nr_blocks=99999999"}}`, "", "sets nr_blocks=99999999"},
		{"mount tmpfs with a memory policy", "", `{"Mounts":[{"Type":"tmpfs","Target":"/x","TmpfsOptions":{"Options":[["mpol","bind:0"]]}}]}`, "", "`--mount type=tmpfs,target=/x` sets mpol=bind:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newCmdGuard(t)
			h.setUp()
			status, body := h.do("POST", "/v1.41/containers/create"+tt.query, runBody(t, "busybox", tt.hc, tt.top))
			if status != http.StatusForbidden {
				t.Errorf("status %d, want 403: %s", status, body)
			}
			msg := apiMessage(t, body)
			if !strings.HasPrefix(msg, "grade: `docker run") || !strings.Contains(msg, tt.option) || !strings.Contains(msg, "nothing was started") {
				t.Errorf("the message does not name %s: %s", tt.option, msg)
			}
			if got := h.eng.took(); len(got) != 0 {
				t.Errorf("the engine got %v", got)
			}
			refused := h.g.TakeRefused()
			if len(refused) != 1 || !strings.HasPrefix(refused[0].Command, "docker run") || !strings.HasSuffix(refused[0].Command, " busybox") {
				t.Fatalf("refusals %+v, want one for docker run", refused)
			}
			if !strings.Contains(msg, refused[0].Why) || !strings.Contains(refused[0].Why, tt.option) {
				t.Errorf("the refusal %q does not say why %q", refused[0].Why, msg)
			}
		})
	}
}

// TestCommandsGuardRun: an allowed docker run reaches the engine under the
// job's name, labels, limits and sandbox, its names mapped to the job's.
func TestCommandsGuardRun(t *testing.T) {
	web := func(h *cmdGuard) string { return h.id("web") }
	tests := []struct {
		name  string
		query string // ?name=
		image string
		hc    string // HostConfig keys the CLI sets
		top   string // other keys the CLI sets
		calls []string
		check func(t *testing.T, h *cmdGuard, cr container.CreateRequest)
		ports []checks.PortBinding
	}{
		{name: "plain, named", query: "?name=app", image: "nginx",
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if cr.HostConfig.NetworkMode != cmdPrefix+"bridge" {
					t.Errorf("NetworkMode %q, want the job's bridge", cr.HostConfig.NetworkMode)
				}
				for net, ep := range cr.NetworkingConfig.EndpointsConfig {
					t.Errorf("an endpoint on %s: %+v (no alias on the default network)", net, ep)
				}
				if cr.Image != "nginx" || cr.HostConfig.Memory != int64(cmdLimits.Memory) || *cr.HostConfig.PidsLimit != cmdLimits.PIDs || cr.HostConfig.NanoCPUs != cmdLimits.NanoCPUs() {
					t.Errorf("image %s, limits %d %d %d", cr.Image, cr.HostConfig.Memory, *cr.HostConfig.PidsLimit, cr.HostConfig.NanoCPUs)
				}
			}},
		{name: "the student's labels", query: "?name=app", image: "busybox",
			top:   `{"Labels":{"app":"web","grade.job":"bob/ch05","grade.managed":"false","grade.mine":"x","com.docker.compose.project":"grade-run1-bob-ch07-compose-counter","com.docker.compose.service":"web","com.docker.compose.oneoff":"False","Com.Docker.Compose.Project":"x"}}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				want := map[string]string{"app": "web", labelManaged: "true", labelRun: "run1", labelJob: cmdJob, labelOwner: "testhost/1"}
				if !reflect.DeepEqual(cr.Labels, want) {
					t.Errorf("labels %v, want %v", cr.Labels, want)
				}
			}},
		{name: "an anonymous volume's labels", query: "?name=app", image: "busybox",
			hc:    `{"Mounts":[{"Type":"volume","Target":"/d","VolumeOptions":{"Labels":{"com.docker.compose.project":"grade-run1-bob-ch07","grade.job":"bob/ch05","mine":"y"}}}]}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if ms := cr.HostConfig.Mounts; len(ms) != 1 || ms[0].VolumeOptions == nil || !reflect.DeepEqual(ms[0].VolumeOptions.Labels, map[string]string{"mine": "y"}) {
					t.Errorf("Mounts %+v", ms)
				}
			}},
		{name: "a positive OOM score kept", query: "?name=app", image: "busybox", hc: `{"OomScoreAdj":500}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if cr.HostConfig.OomScoreAdj != 500 {
					t.Errorf("OomScoreAdj %d, want 500", cr.HostConfig.OomScoreAdj)
				}
			}},
		{name: "ulimits clamped", query: "?name=app", image: "busybox",
			hc:    `{"Ulimits":[{"Name":"nofile","Hard":-1,"Soft":4194304},{"Name":"nproc","Hard":100000,"Soft":50},{"Name":"core","Hard":0,"Soft":0},{"Name":"nofile","Hard":2048,"Soft":1024}]}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				want := []*container.Ulimit{{Name: "nofile", Soft: MaxNofile, Hard: MaxNofile}, {Name: "nproc", Soft: 50, Hard: cmdLimits.PIDs}, {Name: "core"}, {Name: "nofile", Soft: 1024, Hard: 2048}}
				if !reflect.DeepEqual(cr.HostConfig.Ulimits, want) {
					t.Errorf("Ulimits %v, want %v", cr.HostConfig.Ulimits, want)
				}
			}},
		{name: "shm size clamped", query: "?name=app", image: "busybox", hc: `{"ShmSize":8589934592}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if cr.HostConfig.ShmSize != int64(cmdLimits.Memory) {
					t.Errorf("ShmSize %d, want %d", cr.HostConfig.ShmSize, int64(cmdLimits.Memory))
				}
			}},
		{name: "a smaller shm size kept", query: "?name=app", image: "busybox", hc: `{"ShmSize":67108864}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if cr.HostConfig.ShmSize != 64<<20 {
					t.Errorf("ShmSize %d, want 64 MiB", cr.HostConfig.ShmSize)
				}
			}},
		{name: "tmpfs nosuid, nodev, sized", query: "?name=app", image: "busybox",
			hc:    `{"Tmpfs":{"/x":"size=100g,exec,suid,dev","/y":"","/z":"size=1m,mode=1777,noexec","/p":"size=50%","/h":"size=0x7fffffffffff"}}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				mem := strconv.FormatInt(int64(cmdLimits.Memory), 10)
				want := map[string]string{"/x": "exec,nosuid,nodev,size=" + mem, "/y": "nosuid,nodev,size=" + mem, "/z": "mode=1777,noexec,nosuid,nodev,size=1m",
					"/p": "nosuid,nodev,size=" + mem, "/h": "nosuid,nodev,size=" + mem}
				if !reflect.DeepEqual(cr.HostConfig.Tmpfs, want) {
					t.Errorf("Tmpfs %v, want %v", cr.HostConfig.Tmpfs, want)
				}
			}},
		{name: "--mount tmpfs sized", query: "?name=app", image: "busybox",
			hc:    `{"Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":107374182400,"Mode":1023,"Options":[["exec"],["suid"],["dev"]]}},{"Type":"tmpfs","Target":"/u"},{"Type":"tmpfs","Target":"/v","TmpfsOptions":{"SizeBytes":1048576}}]}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				ms := cr.HostConfig.Mounts
				mem := int64(cmdLimits.Memory)
				if len(ms) != 3 || ms[0].TmpfsOptions == nil || ms[0].TmpfsOptions.SizeBytes != mem || ms[0].TmpfsOptions.Mode != 1023 ||
					!reflect.DeepEqual(ms[0].TmpfsOptions.Options, [][]string{{"exec"}}) ||
					ms[1].TmpfsOptions == nil || ms[1].TmpfsOptions.SizeBytes != mem || ms[2].TmpfsOptions == nil || ms[2].TmpfsOptions.SizeBytes != 1<<20 {
					t.Errorf("Mounts %+v", ms)
				}
			}},
		{name: "larger limits lowered", image: "busybox", query: "?name=app",
			hc:    `{"Memory":8589934592,"MemorySwap":-1,"NanoCpus":4000000000,"PidsLimit":-1,"CpuQuota":400000,"CpuPeriod":100000,"CapDrop":["cap_chown","ALL"],"SecurityOpt":["no-new-privileges:true"],"LogConfig":{"Type":"syslog","Config":{"syslog-address":"udp://1.2.3.4:514"}}}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				hc := cr.HostConfig
				if hc.Memory != int64(cmdLimits.Memory) || hc.NanoCPUs != cmdLimits.NanoCPUs() || *hc.PidsLimit != cmdLimits.PIDs {
					t.Errorf("limits %d %d %d", hc.Memory, hc.NanoCPUs, *hc.PidsLimit)
				}
				want := []string{"ALL", "AUDIT_WRITE", "CHOWN", "MKNOD", "NET_RAW", "SETFCAP", "SYS_CHROOT"}
				if !reflect.DeepEqual(hc.CapDrop, want) {
					t.Errorf("CapDrop %v, want %v", hc.CapDrop, want)
				}
			}},
		{name: "smaller limits kept", image: "busybox", query: "?name=app",
			hc:    `{"Memory":67108864,"PidsLimit":10,"NanoCpus":250000000}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				hc := cr.HostConfig
				if hc.Memory != 64<<20 || hc.MemorySwap != 64<<20 || *hc.PidsLimit != 10 || hc.NanoCPUs != 25e7 {
					t.Errorf("limits %d %d %d %d", hc.Memory, hc.MemorySwap, *hc.PidsLimit, hc.NanoCPUs)
				}
			}},
		{name: "a network of the student's", query: "?name=app", image: "busybox", hc: `{"NetworkMode":"my-net"}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if cr.HostConfig.NetworkMode != cmdPrefix+"my-net" {
					t.Errorf("NetworkMode %q", cr.HostConfig.NetworkMode)
				}
				ep := cr.NetworkingConfig.EndpointsConfig[cmdPrefix+"my-net"]
				if ep == nil || !reflect.DeepEqual(ep.Aliases, []string{"app"}) || len(cr.NetworkingConfig.EndpointsConfig) != 1 {
					t.Errorf("endpoints %+v, want the name app as an alias on my-net", cr.NetworkingConfig.EndpointsConfig)
				}
			}},
		{name: "a network alias", query: "?name=app", image: "busybox", hc: `{"NetworkMode":"my-net"}`,
			top:   `{"NetworkingConfig":{"EndpointsConfig":{"my-net":{"IPAMConfig":null,"Links":null,"Aliases":["db"],"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null}}}}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				ep := cr.NetworkingConfig.EndpointsConfig[cmdPrefix+"my-net"]
				if ep == nil || !reflect.DeepEqual(ep.Aliases, []string{"db", "app"}) || len(cr.NetworkingConfig.EndpointsConfig) != 1 {
					t.Errorf("endpoints %+v", cr.NetworkingConfig.EndpointsConfig)
				}
			}},
		{name: "a network without NetworkingConfig", query: "?name=app", image: "busybox", hc: `{"NetworkMode":"my-net"}`,
			top:   `{"NetworkingConfig":null}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if cr.NetworkingConfig == nil || cr.NetworkingConfig.EndpointsConfig[cmdPrefix+"my-net"] == nil ||
					!reflect.DeepEqual(cr.NetworkingConfig.EndpointsConfig[cmdPrefix+"my-net"].Aliases, []string{"app"}) {
					t.Errorf("NetworkingConfig %+v, want the name app as an alias on my-net", cr.NetworkingConfig)
				}
			}},
		{name: "a named volume made first", query: "?name=app", image: "busybox", hc: `{"Binds":["cache:/cache","data:/data:ro"]}`,
			calls: []string{"POST /volumes/create", "POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if want := []string{cmdPrefix + "cache:/cache", cmdPrefix + "data:/data:ro"}; !reflect.DeepEqual(cr.HostConfig.Binds, want) {
					t.Errorf("Binds %v, want %v", cr.HostConfig.Binds, want)
				}
				v := h.eng.volumes[cmdPrefix+"cache"]
				if v == nil || v.driver != "local" || v.labels[labelJob] != cmdJob || v.labels[labelRun] != "run1" || v.labels[labelManaged] != "true" {
					t.Errorf("the volume made: %+v", v)
				}
			}},
		{name: "a folder of the submission", query: "?name=app", image: "nginx", hc: `{"Binds":["/work/site:/usr/share/nginx/html","/work:/w:rw"]}`,
			calls: []string{"POST /volumes/create", "POST /volumes/create", "POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				want := []string{h.sb.FolderVolumeName("site") + ":/usr/share/nginx/html:ro", h.sb.FolderVolumeName(".") + ":/w:ro"}
				if !reflect.DeepEqual(cr.HostConfig.Binds, want) {
					t.Errorf("Binds %v, want %v", cr.HostConfig.Binds, want)
				}
				if got := h.sb.filled[h.sb.FolderVolumeName("site")]; !slices.Equal(got, []string{"ws/", "ws/index.html"}) {
					t.Errorf("the folder's volume got %v, want the folder site and its index.html", got)
				}
			}},
		{name: "--mount of the submission and a volume", query: "?name=app", image: "nginx",
			hc:    `{"Mounts":[{"Type":"bind","Source":"/work/site","Target":"/x","BindOptions":{"Propagation":"rshared"}},{"Type":"volume","Source":"logs","Target":"/logs"},{"Type":"tmpfs","Target":"/tmp"}]}`,
			calls: []string{"POST /volumes/create", "POST /volumes/create", "POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				ms := cr.HostConfig.Mounts
				if len(ms) != 3 || ms[0].Type != mount.TypeVolume || ms[0].Source != h.sb.FolderVolumeName("site") || !ms[0].ReadOnly || ms[0].BindOptions != nil ||
					ms[1].Source != cmdPrefix+"logs" || ms[2].Type != mount.TypeTmpfs {
					t.Errorf("Mounts %+v", ms)
				}
			}},
		{name: "published port, local engine", query: "?name=app", image: "nginx",
			hc:    `{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},"PublishAllPorts":true}`,
			top:   `{"ExposedPorts":{"80/tcp":{}}}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if len(cr.HostConfig.PortBindings) != 0 || cr.HostConfig.PublishAllPorts {
					t.Errorf("the engine publishes %v (all: %v)", cr.HostConfig.PortBindings, cr.HostConfig.PublishAllPorts)
				}
			},
			ports: []checks.PortBinding{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{name: "udp and a range", query: "?name=app", image: "busybox",
			hc:    `{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080-8090"}],"53/udp":[{"HostIp":"","HostPort":"5353"}]}}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			ports: []checks.PortBinding{{HostPort: 5353, ContainerPort: 53, Proto: "udp"}, {HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{name: "no name: the engine's", image: "busybox",
			calls: []string{"POST /containers/create", "GET /containers/" + fakeID("container3") + "/json"},
			check: func(t *testing.T, h *cmdGuard, _ container.CreateRequest) {
				if h.id(randomName) != fakeID("container3") {
					t.Errorf("the container is not known by the engine's name")
				}
			}},
		{name: "the job's containers by name and id", query: "?name=app", image: "busybox",
			hc:    `{"VolumesFrom":["web:ro"],"IpcMode":"container:web"}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				hc := cr.HostConfig
				if !reflect.DeepEqual(hc.VolumesFrom, []string{web(h) + ":ro"}) || string(hc.IpcMode) != "container:"+web(h) {
					t.Errorf("VolumesFrom %v, IpcMode %s", hc.VolumesFrom, hc.IpcMode)
				}
			}},
		{name: "the network of the job's container", query: "?name=app", image: "busybox",
			hc:    `{"NetworkMode":"container:web","PidMode":"container:` + fakeID("container1")[:12] + `"}`,
			calls: []string{"POST /containers/create?name=" + cmdPrefix + "app"},
			check: func(t *testing.T, h *cmdGuard, cr container.CreateRequest) {
				if string(cr.HostConfig.NetworkMode) != "container:"+web(h) || string(cr.HostConfig.PidMode) != "container:"+web(h) {
					t.Errorf("NetworkMode %s, PidMode %s", cr.HostConfig.NetworkMode, cr.HostConfig.PidMode)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newCmdGuard(t)
			h.setUp()
			h.must("POST", "/v1.41/containers/create?name=first", runBody(t, "busybox", "", ""), http.StatusCreated) // the job's bridge is made
			status, body := h.do("POST", "/v1.41/containers/create"+tt.query, runBody(t, tt.image, tt.hc, tt.top))
			if status != http.StatusCreated {
				t.Fatalf("status %d, want 201: %s", status, body)
			}
			if refused := h.g.TakeRefused(); len(refused) != 0 {
				t.Errorf("refused %+v", refused)
			}
			calls := h.eng.took()
			var got []string
			for _, c := range calls {
				got = append(got, c.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.calls, "\n") {
				t.Errorf("the engine got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.calls, "\n  "))
			}
			cc := creates(calls)
			if len(cc) != 1 {
				t.Fatalf("%d creates", len(cc))
			}
			if strings.Contains(body, cmdPrefix) {
				t.Errorf("the answer shows an engine name: %s", body)
			}
			cr, err := engineReads(cc[0].body)
			if err != nil {
				t.Fatalf("the engine cannot read %s: %v", cc[0].body, err)
			}
			h.assertSandboxed(t, cr)
			if tt.check != nil {
				tt.check(t, h, cr)
			}
			name := strings.TrimPrefix(tt.query, "?name=")
			if name == "" {
				name = randomName
			}
			h.c.mu.Lock()
			k := h.c.containers[name]
			h.c.mu.Unlock()
			if k == nil {
				t.Fatalf("the guard does not know %s", name)
			}
			if !reflect.DeepEqual(k.Ports, tt.ports) {
				t.Errorf("ports recorded %+v, want %+v", k.Ports, tt.ports)
			}
		})
	}
}

// TestCommandsGuardDefaultNetwork: the job's copy of the default network
// is made once, internal beside a local engine, with the job's labels.
func TestCommandsGuardDefaultNetwork(t *testing.T) {
	h := newCmdGuard(t)
	h.must("POST", "/v1.41/containers/create?name=a", runBody(t, "busybox", "", ""), http.StatusCreated)
	st, _ := h.do("POST", "/v1.41/containers/create?name=b", runBody(t, "busybox", `{"NetworkMode":"bridge"}`, ""))
	calls := h.eng.took()
	if st != http.StatusCreated || len(calls) != 1 || calls[0].String() != "POST /containers/create?name="+cmdPrefix+"b" {
		t.Errorf("the second run: %d, %v", st, calls)
	}
	n := h.eng.networks[cmdPrefix+"bridge"]
	if n == nil || n.driver != "bridge" || !n.internal || n.options[inhibitIPv4] != "true" || n.labels[labelJob] != cmdJob || n.labels[labelRun] != "run1" {
		t.Errorf("the job's bridge: %+v", n)
	}
}

// TestCommandsGuardImages: only the exercise's images run; nothing is pulled.
func TestCommandsGuardImages(t *testing.T) {
	h := newCmdGuard(t)
	tests := []struct {
		name         string
		method, path string
		body         string
		status       int
		refused      string // the refusal recorded, or ""
		has          string // in the answer
		calls        []string
	}{
		{"run an image not in the list", "POST", "/v1.41/containers/create?name=x", runBody(t, "nginxx", "", ""), 404, "", "No such image: nginxx", nil},
		{"run another tag", "POST", "/v1.41/containers/create", runBody(t, "nginx:1.25", "", ""), 404, "", "No such image: nginx:1.25", nil},
		{"run by digest", "POST", "/v1.41/containers/create", runBody(t, "busybox@sha256:"+fakeID("x"), "", ""), 404, "", "No such image", nil},
		{"run another job's image", "POST", "/v1.41/containers/create", runBody(t, "grade-run1-bob-ch05:latest", "", ""), 404, "", "No such image", nil},
		{"pull it", "POST", "/v1.41/images/create?fromImage=nginxx&tag=latest", "", 403, "docker pull nginxx:latest", "nothing can be pulled here, and nginxx:latest is not one of this exercise's images (busybox, nginx:latest)", nil},
		{"pull from elsewhere", "POST", "/v1.41/images/create?fromImage=ghcr.io%2Fx%2Fnginx&tag=latest", "", 403, "docker pull ghcr.io/x/nginx:latest", "nothing can be pulled", nil},
		{"pull an allowed image", "POST", "/v1.41/images/create?fromImage=nginx&tag=latest", "", 200, "", "Image is up to date for nginx:latest", nil},
		{"pull an allowed image by its full name", "POST", "/v1.41/images/create?fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest", "", 200, "", "up to date", nil},
		{"import", "POST", "/v1.41/images/create?fromSrc=-&repo=x", "", 403, "docker import", "builds, pulls and pushes nothing", nil},
		{"inspect an allowed image", "GET", "/v1.41/images/nginx:latest/json", "", 200, "", "nginx:latest", []string{"GET /images/nginx:latest/json"}},
		{"inspect another", "GET", "/v1.41/images/redis/json", "", 404, "", "No such image: redis", nil},
		{"build", "POST", "/v1.41/build?t=x", "", 403, "docker build", "", nil},
		{"remove an image", "DELETE", "/v1.41/images/nginx:latest", "", 403, "DELETE /images/nginx:latest", "", nil},
		{"list images: the exercise's", "GET", "/v1.41/images/json", "", 200, "", "nginx:latest", []string{
			"GET /images/json?filters=%7B%22reference%22%3A%5B%22docker.io%2Flibrary%2Fbusybox%3Alatest%22%2C%22docker.io%2Flibrary%2Fnginx%3Alatest%22%5D%7D"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			status, body := h.do(tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			if !strings.Contains(body, tt.has) {
				t.Errorf("the answer lacks %q: %s", tt.has, body)
			}
			var got []string
			for _, c := range h.eng.took() {
				got = append(got, c.String())
			}
			if tt.name == "list images: the exercise's" && len(got) == 1 {
				// The order of the references is a map's.
				got[0] = strings.Replace(got[0], "%22docker.io%2Flibrary%2Fnginx%3Alatest%22%2C%22docker.io%2Flibrary%2Fbusybox%3Alatest%22",
					"%22docker.io%2Flibrary%2Fbusybox%3Alatest%22%2C%22docker.io%2Flibrary%2Fnginx%3Alatest%22", 1)
			}
			if strings.Join(got, "\n") != strings.Join(tt.calls, "\n") {
				t.Errorf("the engine got %v, want %v", got, tt.calls)
			}
			refused := h.g.TakeRefused()
			switch {
			case tt.refused == "" && len(refused) != 0:
				t.Errorf("refused %+v", refused)
			case tt.refused != "" && (len(refused) != 1 || refused[0].Command != tt.refused):
				t.Errorf("refusals %+v, want one for %q", refused, tt.refused)
			}
		})
	}
}

// TestCommandsGuardNames: answers show the student's names, lists only
// the job's objects, and what the job did not make is not there.
func TestCommandsGuardNames(t *testing.T) {
	h := newCmdGuard(t)
	h.setUp()
	h.must("POST", "/v1.41/containers/create", runBody(t, "busybox", `{"Binds":["data:/data"]}`, ""), http.StatusCreated)
	webID, anonID := h.id("web"), h.id(randomName)
	tests := []struct {
		name         string
		method, path string
		body         string
		status       int
		calls        []string
		has, hasNo   []string
	}{
		{"inspect by name", "GET", "/v1.41/containers/web/json", "", 200, []string{"GET /containers/" + webID + "/json"},
			[]string{`"Name":"/web"`, `"NetworkMode":"my-net"`}, []string{cmdPrefix}},
		{"inspect by a short id", "GET", "/v1.41/containers/" + webID[:12] + "/json", "", 200, []string{"GET /containers/" + webID + "/json"},
			[]string{`"Name":"/web"`}, []string{cmdPrefix}},
		{"inspect the unnamed one", "GET", "/v1.41/containers/" + randomName + "/json", "", 200, []string{"GET /containers/" + anonID + "/json"},
			[]string{`"Binds":["data:/data"]`}, []string{cmdPrefix}},
		{"ps: the job's containers only", "GET", "/v1.41/containers/json?all=1", "", 200, nil,
			[]string{`"Names":["/web"]`, `"Names":["/` + randomName + `"]`}, []string{cmdPrefix, foreignID, scriptID, "bob"}},
		{"volume ls", "GET", "/v1.41/volumes", "", 200, nil, []string{`"Name":"data"`}, []string{cmdPrefix, "bob"}},
		{"volume inspect", "GET", "/v1.41/volumes/data", "", 200, []string{"GET /volumes/" + cmdPrefix + "data"}, []string{`"Name":"data"`}, []string{cmdPrefix}},
		{"network ls", "GET", "/v1.41/networks", "", 200, nil, []string{`"Name":"my-net"`, `"Name":"bridge"`}, []string{cmdPrefix, "bob"}},
		{"network inspect", "GET", "/v1.41/networks/my-net", "", 200, []string{"GET /networks/" + cmdPrefix + "my-net"}, []string{`"Name":"my-net"`}, []string{cmdPrefix}},
		{"logs", "GET", "/v1.41/containers/web/logs?stdout=1", "", 200, []string{"GET /containers/" + webID + "/logs?stdout=1"}, []string{"hello"}, nil},
		{"stop", "POST", "/v1.41/containers/web/stop?t=1", "", 204, []string{"POST /containers/" + webID + "/stop?t=1"}, nil, nil},

		{"inspect a container not made", "GET", "/v1.41/containers/other/json", "", 404, nil, []string{"No such container: other"}, nil},
		{"inspect another job's by its engine name", "GET", "/v1.41/containers/grade-run1-bob-ch05-web/json", "", 404, nil, []string{"No such container"}, nil},
		{"inspect the job's own by its engine name", "GET", "/v1.41/containers/" + cmdPrefix + "web/json", "", 404, nil, []string{"No such container"}, nil},
		{"inspect another job's by id", "GET", "/v1.41/containers/" + foreignID + "/json", "", 404, nil, []string{"No such container"}, nil},
		{"inspect another job's by a short id", "GET", "/v1.41/containers/" + foreignID[:12] + "/json", "", 404, nil, []string{"No such container"}, nil},
		{"inspect grade's container of the job", "GET", "/v1.41/containers/" + scriptID + "/json", "", 404, nil, []string{"No such container"}, nil},
		{"stop another job's", "POST", "/v1.41/containers/" + foreignID + "/stop", "", 404, nil, nil, nil},
		{"remove another job's", "DELETE", "/v1.41/containers/" + foreignID + "?force=1", "", 404, nil, nil, nil},
		{"exec in another job's", "POST", "/v1.41/containers/" + foreignID + "/exec", `{"Cmd":["sh"]}`, 404, nil, nil, nil},
		{"copy from another job's", "GET", "/v1.41/containers/" + foreignID + "/archive?path=/", "", 404, nil, nil, nil},
		{"start an exec not made", "POST", "/v1.41/exec/" + fakeID("exec") + "/start", `{}`, 404, nil, []string{"No such exec instance"}, nil},
		{"another job's volume", "GET", "/v1.41/volumes/grade-run1-bob-ch05-data", "", 404, nil, []string{"no such volume"}, nil},
		{"remove another job's volume", "DELETE", "/v1.41/volumes/grade-run1-bob-ch05-data", "", 404, nil, nil, nil},
		{"the job's volume by its engine name", "DELETE", "/v1.41/volumes/" + cmdPrefix + "data", "", 404, nil, nil, nil},
		{"another job's network", "GET", "/v1.41/networks/grade-run1-bob-ch05-net", "", 404, nil, []string{"not found"}, nil},
		{"remove another job's network", "DELETE", "/v1.41/networks/grade-run1-bob-ch05-net", "", 404, nil, nil, nil},
		{"the host's network", "GET", "/v1.41/networks/host", "", 403, nil, []string{"the network host is the host's"}, nil},
		{"connect another job's container", "POST", "/v1.41/networks/my-net/connect", `{"Container":"` + foreignID + `","EndpointConfig":{}}`, 404, nil, []string{"No such container"}, nil},
		{"connect to another job's network", "POST", "/v1.41/networks/grade-run1-bob-ch05-net/connect", `{"Container":"web"}`, 404, nil, nil, nil},
		{"run a container on another job's network", "POST", "/v1.41/containers/create", runBody(t, "busybox", `{"NetworkMode":"grade-run1-bob-ch05-net"}`, ""), 404, nil, []string{"network grade-run1-bob-ch05-net not found"}, nil},
		{"a volume named by the engine's name", "POST", "/v1.41/containers/create", runBody(t, "busybox", `{"Binds":["grade-run1-bob-ch05-data:/d"]}`, ""), 201,
			[]string{"POST /volumes/create", "POST /containers/create", "GET /containers/" + fakeID("container3") + "/json"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			status, body := h.do(tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			for _, s := range tt.has {
				if !strings.Contains(body, s) {
					t.Errorf("the answer lacks %q: %s", s, body)
				}
			}
			for _, s := range tt.hasNo {
				if strings.Contains(body, s) {
					t.Errorf("the answer shows %q: %s", s, body)
				}
			}
			calls := h.eng.took()
			var got []string
			for _, c := range calls {
				if c.path == "/containers/json" || c.path == "/volumes" || c.path == "/networks" {
					labels := filterLabels(c.query)
					if !reflect.DeepEqual(labels, []string{labelJob + "=" + cmdJob, labelManaged + "=true", labelOwner + "=testhost/1", labelRun + "=run1"}) {
						t.Errorf("%s: the list is filtered by %v, want the job's labels", c.path, labels)
					}
					continue
				}
				got = append(got, c.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.calls, "\n") {
				t.Errorf("the engine got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.calls, "\n  "))
			}
			for _, c := range calls {
				if strings.Contains(c.String(), foreignID) || strings.Contains(c.String(), "bob") && !strings.Contains(c.String(), cmdPrefix) {
					t.Errorf("the engine got %s", c)
				}
			}
			if refused := h.g.TakeRefused(); len(refused) != 0 {
				t.Errorf("refused %+v", refused)
			}
		})
	}
	// The volume of the last case is the job's, not bob's.
	if v := h.eng.volumes[cmdPrefix+"grade-run1-bob-ch05-data"]; v == nil || v.labels[labelJob] != cmdJob {
		t.Errorf("the volume made: %+v", v)
	}
}

// TestCommandsGuardVolumesNetworks: docker volume create and docker network
// create make the job's plain objects, and refuse options reaching the host.
func TestCommandsGuardVolumesNetworks(t *testing.T) {
	tests := []struct {
		name    string
		setUp   bool
		path    string
		body    string
		status  int
		refused string // the refusal's option, or ""
		has     string
		calls   []string
	}{
		{name: "volume", path: "/volumes/create", body: `{"Driver":"local","DriverOpts":{},"Labels":{"grade.job":"bob/ch05"},"Name":"v1"}`, status: 201, has: `"Name":"v1"`,
			calls: []string{"POST /volumes/create", "GET /volumes/" + cmdPrefix + "v1"}},
		{name: "volume without a name", path: "/volumes/create", body: `{"Driver":"local","DriverOpts":{},"Labels":{},"Name":""}`, status: 201, has: `"Name":"vol-`,
			calls: []string{"POST /volumes/create", "GET /volumes/"}},
		{name: "volume again", setUp: true, path: "/volumes/create", body: `{"Name":"data"}`, status: 201, has: `"Name":"data"`,
			calls: []string{"GET /volumes/" + cmdPrefix + "data"}},
		{name: "volume --opt", path: "/volumes/create", body: `{"Driver":"local","DriverOpts":{"device":"/","o":"bind","type":"none"},"Labels":{},"Name":"v1"}`, status: 403, refused: "`--opt`"},
		{name: "volume --driver", path: "/volumes/create", body: `{"Driver":"rexray","DriverOpts":{},"Labels":{},"Name":"v1"}`, status: 403, refused: "`--driver rexray`"},
		{name: "volume with a bad name", path: "/volumes/create", body: `{"Name":"../etc"}`, status: 400, has: "invalid characters"},
		{name: "volume prune", path: "/volumes/prune", status: 403, refused: "docker volume rm NAME"},
		{name: "network", path: "/networks/create", body: cliNetwork("n1", "", `{"Labels":{"grade.job":"bob/ch05"}}`), status: 201, has: `"Id":"` + fakeID("network "+cmdPrefix+"n1"),
			calls: []string{"POST /networks/create", "GET /networks/" + cmdPrefix + "n1"}},
		{name: "network --internal", path: "/networks/create", body: cliNetwork("n1", "", `{"Internal":true,"Attachable":true}`), status: 201,
			calls: []string{"POST /networks/create", "GET /networks/" + cmdPrefix + "n1"}},
		{name: "network --driver", path: "/networks/create", body: cliNetwork("n1", "macvlan", ""), status: 403, refused: "`--driver macvlan`"},
		{name: "network -o", path: "/networks/create", body: cliNetwork("n1", "", `{"Options":{"com.docker.network.bridge.name":"docker0"}}`), status: 403, refused: "`-o`/`--opt`"},
		{name: "network --subnet", path: "/networks/create", body: cliNetwork("n1", "", `{"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.0.0.0/8"}]}}`), status: 403, refused: "`--subnet`"},
		{name: "network --ipam-driver", path: "/networks/create", body: cliNetwork("n1", "", `{"IPAM":{"Driver":"dhcp","Options":{},"Config":[]}}`), status: 403, refused: "`--subnet`/`--gateway`/`--ip-range`"},
		{name: "network --ingress", path: "/networks/create", body: cliNetwork("n1", "", `{"Ingress":true}`), status: 403, refused: "Ingress"},
		{name: "network --scope swarm", path: "/networks/create", body: cliNetwork("n1", "", `{"Scope":"swarm"}`), status: 403, refused: "Scope"},
		{name: "network --config-from", path: "/networks/create", body: cliNetwork("n1", "", `{"ConfigFrom":{"Network":"grade-run1-bob-ch05-net"}}`), status: 403, refused: "ConfigFrom"},
		{name: "network again", setUp: true, path: "/networks/create", body: cliNetwork("my-net", "", ""), status: 409, has: "already exists"},
		{name: "network host", path: "/networks/create", body: cliNetwork("host", "", ""), status: 403, has: "predefined host network"},
		{name: "network bridge", path: "/networks/create", body: cliNetwork("bridge", "", ""), status: 403, has: "predefined bridge network"},
		{name: "network with a bad name", path: "/networks/create", body: cliNetwork("a/b", "", ""), status: 400, has: "invalid network name"},
		{name: "network prune", path: "/networks/prune", status: 403, refused: "docker network rm NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newCmdGuard(t)
			if tt.setUp {
				h.setUp()
			}
			status, body := h.do("POST", "/v1.41"+tt.path, tt.body)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			if !strings.Contains(body, tt.has) || strings.Contains(body, cmdPrefix) {
				t.Errorf("the answer: %s", body)
			}
			calls := h.eng.took()
			var got []string
			for _, c := range calls {
				got = append(got, c.String())
			}
			if len(got) > 0 && strings.HasPrefix(tt.name, "volume without a name") {
				got[len(got)-1] = strings.SplitAfter(got[len(got)-1], "/volumes/")[0]
			}
			if strings.Join(got, "\n") != strings.Join(tt.calls, "\n") {
				t.Errorf("the engine got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.calls, "\n  "))
			}
			refused := h.g.TakeRefused()
			if tt.refused == "" {
				if len(refused) != 0 {
					t.Errorf("refused %+v", refused)
				}
			} else if len(refused) != 1 || !strings.Contains(refused[0].Why, tt.refused) || !strings.Contains(body, refused[0].Why) {
				t.Errorf("refusals %+v, want one naming %s", refused, tt.refused)
			}
			if status/100 != 2 || len(calls) == 0 || calls[0].method != http.MethodPost {
				return
			}
			// What the engine was asked to make: the job's name, labels and
			// a plain driver, whatever the student's body said.
			var made struct {
				Name, Driver string
				Internal     bool
				Labels       map[string]string
				DriverOpts   map[string]string
				Options      map[string]string
			}
			if err := json.Unmarshal(calls[0].body, &made); err != nil {
				t.Fatal(err)
			}
			want := "local"
			if strings.HasPrefix(tt.path, "/networks") {
				want = "bridge"
				if !made.Internal || made.Options[inhibitIPv4] != "true" || len(made.Options) != 1 {
					t.Errorf("internal %v, options %v: want internal, the host given no address on it", made.Internal, made.Options)
				}
				made.Options = nil
			}
			if !strings.HasPrefix(made.Name, cmdPrefix) || made.Driver != want || len(made.DriverOpts) > 0 || len(made.Options) > 0 ||
				made.Labels[labelJob] != cmdJob || made.Labels[labelRun] != "run1" || made.Labels[labelManaged] != "true" {
				t.Errorf("the engine was asked to make %+v", made)
			}
		})
	}
}

// TestCommandsGuardContainerCalls: names are the job's, docker rm takes
// the anonymous volumes along, exec is never privileged.
func TestCommandsGuardContainerCalls(t *testing.T) {
	h := newCmdGuard(t)
	h.setUp()
	webID := h.id("web")
	execBody := `{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["cat","/etc/hostname"]}`
	privExec := strings.Replace(execBody, `"Privileged":false`, `"Privileged":true`, 1)
	steps := []struct {
		name         string
		method, path string
		body         string
		status       int
		calls        []string
		refused      string
		has          string
	}{
		{"a second container of the same name", "POST", "/v1.41/containers/create?name=web", runBody(t, "busybox", "", ""), 409,
			[]string{"GET /containers/" + webID + "/json"}, "",
			`Conflict. The container name \"/web\" is already in use`},
		{"the same name with a slash", "POST", "/v1.41/containers/create?name=%2Fweb", runBody(t, "busybox", "", ""), 409,
			[]string{"GET /containers/" + webID + "/json"}, "", "Conflict"},
		{"a bad name", "POST", "/v1.41/containers/create?name=a%2Fb", runBody(t, "busybox", "", ""), 400, nil, "", "Invalid container name (a/b)"},
		{"exec --privileged", "POST", "/v1.41/containers/web/exec", privExec, 403, nil, "docker exec --privileged web", "`--privileged`"},
		{"exec", "POST", "/v1.41/containers/web/exec", execBody, 201, []string{"POST /containers/" + webID + "/exec"}, "", cmdExecID},
		{"exec start", "POST", "/v1.41/exec/" + cmdExecID + "/start", `{"Detach":false,"Tty":false}`, 200, []string{"POST /exec/" + cmdExecID + "/start"}, "", ""},
		{"exec inspect", "GET", "/v1.41/exec/" + cmdExecID + "/json", "", 200, []string{"GET /exec/" + cmdExecID + "/json"}, "", `"ExitCode":0`},
		{"update", "POST", "/v1.41/containers/web/update", `{"Memory":0,"PidsLimit":-1}`, 403, nil, "docker update web", ""},
		{"export", "GET", "/v1.41/containers/web/export", "", 403, nil, "docker export web", ""},
		{"commit", "POST", "/v1.41/commit?container=web&repo=x", "", 403, nil, "docker commit", ""},
		{"container prune", "POST", "/v1.41/containers/prune", "", 403, nil, "docker container prune", ""},
		{"rename", "POST", "/v1.41/containers/web/rename?name=site", "", 204, []string{"POST /containers/" + webID + "/rename?name=" + cmdPrefix + "site"}, "", ""},
		{"the old name is gone", "GET", "/v1.41/containers/web/json", "", 404, nil, "", "No such container: web"},
		{"rm", "DELETE", "/v1.41/containers/site?force=1", "", 204, []string{"DELETE /containers/" + webID + "?force=1&v=1"}, "", ""},
		{"the container is gone", "GET", "/v1.41/containers/site/json", "", 404, nil, "", "No such container: site"},
		{"its name is free", "POST", "/v1.41/containers/create?name=web", runBody(t, "busybox", "", ""), 201, []string{
			"POST /networks/create", "POST /containers/create?name=" + cmdPrefix + "web"}, "", ""},
		{"rm with v=0", "DELETE", "/v1.41/containers/web?v=0", "", 204, []string{"DELETE /containers/" + fakeID("container2") + "?v=1"}, "", ""},
		{"network rm", "DELETE", "/v1.41/networks/my-net", "", 204, []string{"DELETE /networks/" + cmdPrefix + "my-net"}, "", ""},
		{"the network is gone", "GET", "/v1.41/networks/my-net", "", 404, nil, "", "network my-net not found"},
		{"bridge cannot go", "DELETE", "/v1.41/networks/bridge", "", 403, nil, "", "pre-defined"},
		{"volume rm", "DELETE", "/v1.41/volumes/data", "", 204, []string{"DELETE /volumes/" + cmdPrefix + "data"}, "", ""},
		{"the volume is gone", "GET", "/v1.41/volumes/data", "", 404, nil, "", "no such volume"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			h.t = t
			status, body := h.do(s.method, s.path, s.body)
			if status != s.status {
				t.Errorf("status %d, want %d: %s", status, s.status, body)
			}
			if !strings.Contains(body, s.has) {
				t.Errorf("the answer lacks %q: %s", s.has, body)
			}
			var got []string
			for _, c := range h.eng.took() {
				got = append(got, c.String())
			}
			if strings.Join(got, "\n") != strings.Join(s.calls, "\n") {
				t.Errorf("the engine got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(s.calls, "\n  "))
			}
			refused := h.g.TakeRefused()
			switch {
			case s.refused == "" && len(refused) != 0:
				t.Errorf("refused %+v", refused)
			case s.refused != "" && (len(refused) != 1 || refused[0].Command != s.refused):
				t.Errorf("refusals %+v, want one for %q", refused, s.refused)
			}
		})
	}
}

// TestCommandsGuardOddJSON: whatever a body holds, the guard answers (no
// panic), and what the engine reads of a call it lets through (keys matched
// ignoring case, as Go's encoding/json does) is the job's and sandboxed.
func TestCommandsGuardOddJSON(t *testing.T) {
	const bypass = "refused"  // the create must not reach the engine
	const allowed = "allowed" // the guard makes it the job's and lets it through
	tests := []struct {
		name, query, body string
		want              string // bypass, allowed or "" (either, as long as the engine gets nothing unvetted)
		has               string // in the answer
	}{
		{"null", "", `null`, "", ""},
		{"an array", "", `[]`, bypass, ""},
		{"a string", "", `"x"`, bypass, ""},
		{"empty", "", `{}`, bypass, ""},
		{"nothing", "", ``, bypass, ""},
		{"two values", "", `{"Image":"busybox"} {"Image":"busybox","HostConfig":{"Privileged":true}}`, allowed, ""},
		{"HostConfig null", "", `{"Image":"busybox","HostConfig":null}`, allowed, ""},
		{"HostConfig a string", "", `{"Image":"busybox","HostConfig":"privileged"}`, allowed, ""},
		{"HostConfig a list", "", `{"Image":"busybox","HostConfig":[{"Privileged":true}]}`, allowed, ""},
		{"Binds of numbers", "", `{"Image":"busybox","HostConfig":{"Binds":[1,2]}}`, "", ""},
		{"Binds a string", "", `{"Image":"busybox","HostConfig":{"Binds":"/:/host"}}`, "", ""},
		{"Binds with null", "", `{"Image":"busybox","HostConfig":{"Binds":[null,"/:/host"]}}`, bypass, ""},
		{"Binds without a target", "", `{"Image":"busybox","HostConfig":{"Binds":["/"]}}`, allowed, ""},
		{"Mounts of odd items", "", `{"Image":"busybox","HostConfig":{"Mounts":[null,5,"x",{"Type":null,"Source":"/"}]}}`, bypass, ""},
		{"Mounts an object", "", `{"Image":"busybox","HostConfig":{"Mounts":{"Type":"bind","Source":"/","Target":"/h"}}}`, "", ""},
		{"a bind with no source", "", `{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"bind","Target":"/h"}]}}`, bypass, ""},
		{"odd ports and modes", "?name=p", `{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[null,5,{"HostPort":8080}],"x":[]},"NetworkMode":5,"PidMode":["host"],"IpcMode":{"host":true}}}`, "", ""},
		{"PortBindings a list", "", `{"Image":"busybox","HostConfig":{"PortBindings":["80:80"]}}`, allowed, ""},
		{"Privileged as a string", "", `{"Image":"busybox","HostConfig":{"Privileged":"yes"}}`, bypass, ""},
		{"Privileged as a number", "", `{"Image":"busybox","HostConfig":{"Privileged":1}}`, bypass, ""},
		{"null everywhere", "", `{"Image":"busybox","Labels":null,"HostConfig":{"Privileged":null,"CapAdd":null,"Binds":null,"Mounts":null,"Links":null,"VolumesFrom":null,"SecurityOpt":null,"PortBindings":null,"Memory":null,"PidsLimit":null,"NetworkMode":null,"LogConfig":null},"NetworkingConfig":null}`, allowed, ""},
		{"odd endpoints", "", `{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":null,"default":5}}}`, allowed, ""},
		{"an endpoint on a network not made", "", `{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"x":5}}}`, bypass, ""},
		{"NetworkingConfig a string", "", `{"Image":"busybox","NetworkingConfig":"x"}`, allowed, ""},
		{"Labels a string", "", `{"Image":"busybox","Labels":"grade.job=bob/ch05"}`, allowed, ""},
		{"Labels of numbers", "", `{"Image":"busybox","Labels":{"a":5}}`, "", ""},
		{"Image a number", "", `{"Image":5}`, bypass, ""},
		{"limits out of range", "", `{"Image":"busybox","HostConfig":{"Memory":1e30,"PidsLimit":"x","NanoCpus":-5,"MemorySwap":-1}}`, allowed, ""},
		{"SecurityOpt a string", "", `{"Image":"busybox","HostConfig":{"SecurityOpt":"seccomp=unconfined"}}`, allowed, ""},
		{"VolumesFrom a string", "", `{"Image":"busybox","HostConfig":{"VolumesFrom":"` + foreignID + `"}}`, "", ""},
		{"a name that is a path", "?name=..%2F..%2Fx", `{"Image":"busybox"}`, bypass, ""},
		// Keys the engine reads as the ones grade vets (Go's encoding/json
		// matches keys ignoring case).
		{"hostconfig in lower case", "", `{"Image":"busybox","hostconfig":{"Privileged":true}}`, bypass, `key \"hostconfig\" is read by the engine as \"HostConfig\"`},
		{"a second HostConfig in another case", "", `{"Image":"busybox","HostConfig":{},"hostConfig":{"Binds":["/:/host"]}}`, bypass, ""},
		{"HostConfig with a long s", "", `{"Image":"busybox","HoſtConfig":{"Privileged":true}}`, bypass, `is read by the engine as \"HostConfig\"`},
		{"another job's image in lower case", "", `{"Image":"busybox","image":"grade-run1-bob-ch05:latest"}`, bypass, ""},
		{"another job's labels in lower case", "", `{"Image":"busybox","labels":{"grade.job":"bob/ch05","grade.run":"run0"}}`, bypass, ""},
		{"a host network endpoint in lower case", "", `{"Image":"busybox","networkingconfig":{"EndpointsConfig":{"host":{}}}}`, bypass, ""},
		{"a driver config in another case", "", `{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"volume","Target":"/h","VolumeOptions":{"driverConfig":{"Name":"local","Options":{"device":"/","o":"bind","type":"none"}}}}]}}`, bypass, `\"driverConfig\" is read by the engine as \"DriverConfig\"`},
		{"a mount's type twice", "", `{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"volume","Source":"data","Target":"/h","type":"bind","source":"/"}]}}`, bypass, ""},
		{"a HostConfig key in lower case", "", `{"Image":"busybox","HostConfig":{"privileged":true}}`, bypass, ""},
		{"PRIVILEGED", "", `{"Image":"busybox","HostConfig":{"Privileged":false,"PRIVILEGED":true}}`, bypass, ""},
		{"a tmpfs size in lower case", "", `{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1,"sizebytes":107374182400}}]}}`, bypass, `\"sizebytes\" is read by the engine as \"SizeBytes\"`},
		{"tmpfs options in lower case", "", `{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"/t","tmpfsoptions":{"SizeBytes":107374182400}}]}}`, bypass, ""},
		{"a ulimit in lower case", "", `{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":1024,"Hard":1024,"hard":-1}]}}`, bypass, ""},
		{"an OOM score in lower case", "", `{"Image":"busybox","HostConfig":{"OomScoreAdj":0,"oomscoreadj":-1000}}`, bypass, ""},
		{"odd ulimits", "", `{"Image":"busybox","HostConfig":{"Ulimits":[null,5,{"Name":"nofile","Soft":1e30,"Hard":"x"},{"Name":"nproc"}]}}`, allowed, ""},
		{"odd tmpfs", "", `{"Image":"busybox","HostConfig":{"Tmpfs":{"/a":5,"/b":null},"ShmSize":1e30,"Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":"1g","Options":[null,5,[],["exec",5]]}}]}}`, allowed, ""},
		{"labels in another case are data", "?name=x", `{"Image":"busybox","Labels":{"image":"a","Image":"b","hostconfig":"c"},"HostConfig":{"Tmpfs":{"/Privileged":""}}}`, allowed, ""},
		{"a link in lower case on a user network", "?name=l", `{"Image":"busybox","HostConfig":{"NetworkMode":"my-net"},"NetworkingConfig":{"EndpointsConfig":{"my-net":{"links":["` + foreignID + `:db"]}}}}`, bypass, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newCmdGuard(t)
			h.setUp()
			status, body := h.do("POST", "/v1.41/containers/create"+tt.query, tt.body)
			if status == 0 || status >= 500 {
				t.Fatalf("the guard did not answer: %d %s", status, body)
			}
			cc := creates(h.eng.took())
			if tt.want == bypass && (len(cc) != 0 || status/100 == 2) {
				t.Errorf("the create reached the engine: %d %s", status, body)
			}
			if tt.want == allowed && (len(cc) != 1 || status != http.StatusCreated) {
				t.Errorf("the create did not reach the engine: %d %s", status, body)
			}
			if !strings.Contains(body, tt.has) {
				t.Errorf("the answer lacks %s: %s", tt.has, body)
			}
			for _, c := range cc {
				cr, err := engineReads(c.body)
				if err != nil {
					continue // the engine answers 400
				}
				h.assertSandboxed(t, cr)
			}
		})
	}
}

// TestCommandsGuardOddJSONElsewhere: exec and network connect bodies the
// engine would read otherwise than grade does are refused.
func TestCommandsGuardOddJSONElsewhere(t *testing.T) {
	tests := []struct {
		name, path, body string
		check            func(t *testing.T, body []byte)
	}{
		{"exec null", "/containers/web/exec", `null`, nil},
		{"exec privileged in lower case", "/containers/web/exec", `{"Cmd":["sh"],"privileged":true}`, func(t *testing.T, b []byte) {
			var ex container.ExecCreateRequest
			if json.Unmarshal(b, &ex) == nil && ex.Privileged {
				t.Errorf("the engine runs a privileged exec: %s", b)
			}
		}},
		{"exec privileged twice", "/containers/web/exec", `{"Cmd":["sh"],"Privileged":false,"PRIVILEGED":true}`, func(t *testing.T, b []byte) {
			var ex container.ExecCreateRequest
			if json.Unmarshal(b, &ex) == nil && ex.Privileged {
				t.Errorf("the engine runs a privileged exec: %s", b)
			}
		}},
		{"connect null", "/networks/my-net/connect", `null`, nil},
		{"connect another job's container in lower case", "/networks/my-net/connect", `{"Container":"web","container":"` + foreignID + `"}`, func(t *testing.T, b []byte) {
			var cr network.ConnectRequest
			if json.Unmarshal(b, &cr) == nil && cr.Container != "" && !strings.HasPrefix(cr.Container, fakeID("container1")) {
				t.Errorf("the engine connects %s", cr.Container)
			}
		}},
		{"connect with links in lower case", "/networks/my-net/connect", `{"Container":"web","EndpointConfig":{"links":["x:y"]}}`, func(t *testing.T, b []byte) {
			var cr network.ConnectRequest
			if json.Unmarshal(b, &cr) == nil && cr.EndpointConfig != nil && len(cr.EndpointConfig.Links) > 0 {
				t.Errorf("the engine links %v", cr.EndpointConfig.Links)
			}
		}},
		{"network create in another case", "/networks/create", `{"Name":"n2","driver":"macvlan"}`, nil},
		{"volume create null", "/volumes/create", `null`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newCmdGuard(t)
			h.setUp()
			status, body := h.do("POST", "/v1.41"+tt.path, tt.body)
			if status == 0 || status >= 500 {
				t.Fatalf("the guard did not answer: %d %s", status, body)
			}
			for _, c := range h.eng.took() {
				if tt.check != nil && c.method == http.MethodPost && (strings.HasPrefix(c.path, "/containers/") || strings.HasSuffix(c.path, "/connect")) {
					tt.check(t, c.body)
				}
			}
		})
	}
}

// TestCommandsGuardSecondReading holds what a second reading of the guard,
// as an attacker, found: each row is a call that got past it, or a
// legitimate one it answered wrongly.
func TestCommandsGuardSecondReading(t *testing.T) {
	h := newCmdGuard(t)
	h.setUp()
	webID := h.id("web")
	tests := []struct {
		name, method, path, body string
		status                   int
		has                      string // in the answer
		engineGets               string // a call the engine must get ("" none), or "!" + a text no call may hold
	}{
		{"a HostConfig on start through an old API version", "POST", "/v1.23/containers/web/start",
			`{"Privileged":true,"Binds":["/:/host"]}`, 400, "too old", ""},
		{"a body on start is dropped", "POST", "/v1.41/containers/web/start", `{"Privileged":true}`, 204, "", "!Privileged"},
		{"NetworkID joins no other network", "POST", "/v1.41/containers/create?name=joiner",
			runBody(t, "busybox", `{"NetworkMode":"my-net"}`, `{"NetworkingConfig":{"EndpointsConfig":{"my-net":{"NetworkID":"bridge"}}}}`), 201, "", "!NetworkID\":\"bridge"},
		{"NetworkID on connect", "POST", "/v1.41/networks/my-net/connect",
			`{"Container":"joiner","EndpointConfig":{"NetworkID":"grade-other-net"}}`, 200, "", "!grade-other-net"},
		{"an alias on the default network", "POST", "/v1.41/containers/create?name=db",
			runBody(t, "busybox", ``, `{"NetworkingConfig":{"EndpointsConfig":{"default":{"Aliases":["database"]}}}}`), 400, "network-scoped alias", ""},
		{"a VolumeDriver at the top level", "POST", "/v1.41/containers/create?name=vd",
			runBody(t, "busybox", ``, `{"VolumeDriver":"evil"}`), 403, "VolumeDriver", ""},
		{"a short id prefix", "POST", "/v1.41/containers/" + webID[:6] + "/stop", "", 204, "", "POST /containers/" + webID + "/stop"},
		{"a folder the submission does not have", "POST", "/v1.41/containers/create?name=typo",
			runBody(t, "busybox", `{"Binds":["/work/sitee:/usr/share/nginx/html"]}`, ``), 400, "your submission has no folder sitee", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			status, body := h.do(tt.method, tt.path, tt.body)
			if status != tt.status || !strings.Contains(body, tt.has) {
				t.Errorf("%d %s, want %d with %q", status, body, tt.status, tt.has)
			}
			var all []string
			for _, c := range h.eng.took() {
				all = append(all, c.String()+" "+string(c.body))
			}
			joined := strings.Join(all, "\n")
			switch {
			case strings.HasPrefix(tt.engineGets, "!"):
				if strings.Contains(joined, tt.engineGets[1:]) {
					t.Errorf("the engine got %q:\n%s", tt.engineGets[1:], joined)
				}
			case tt.engineGets != "" && !strings.Contains(joined, tt.engineGets):
				t.Errorf("the engine did not get %q:\n%s", tt.engineGets, joined)
			}
			h.g.TakeRefused()
		})
	}
	t.Run("a docker run --name that made nothing says why", func(t *testing.T) {
		var nm *checks.NotMadeError
		if err := h.c.errNoObject("container", "typo"); !errors.As(err, &nm) || !strings.Contains(nm.Failed, "your submission has no folder sitee") {
			t.Errorf("typo: %+v", err)
		}
		h.must("POST", "/v1.41/containers/create?name=typo", runBody(t, "busybox", ``, ``), http.StatusCreated)
		if err := h.c.errNoObject("container", "typo"); !errors.As(err, &nm) || nm.Failed != "" {
			t.Errorf("typo, made after all: %+v", err)
		}
	})
	t.Run("caps on what a job makes", func(t *testing.T) {
		h := newCmdGuard(t)
		var status int
		var body string
		for i := 0; i <= maxCmdNetworks; i++ {
			status, body = h.do("POST", "/v1.41/networks/create", cliNetwork(fmt.Sprintf("n%d", i), "", ""))
		}
		if status != http.StatusForbidden || !strings.Contains(body, "at most 5 networks") {
			t.Errorf("network %d: %d %s", maxCmdNetworks+1, status, body)
		}
		for i := 0; i <= maxCmdContainers; i++ {
			status, body = h.do("POST", "/v1.41/containers/create?name="+fmt.Sprintf("c%d", i), runBody(t, "busybox", `{"NetworkMode":"n0"}`, ``))
		}
		if status != http.StatusForbidden || !strings.Contains(body, "at most 20 containers") {
			t.Errorf("container %d: %d %s", maxCmdContainers+1, status, body)
		}
	})
}

// TestCommandsGuardVolumeList: docker volume ls shows the volumes the
// script made, in its names, and not the bound folders' volumes grade made
// for its binds.
func TestCommandsGuardVolumeList(t *testing.T) {
	h := newCmdGuard(t)
	h.must("POST", "/v1.41/containers/create?name=web", runBody(t, "nginx", `{"Binds":["/work/site:/usr/share/nginx/html","data:/data"]}`, ""), http.StatusCreated)
	if len(h.eng.volumes) != 3 {
		t.Fatalf("the engine has %d volumes, want another job's, the student's and the bound folder's", len(h.eng.volumes))
	}
	status, body := h.do("GET", "/v1.41/volumes", "")
	if status != http.StatusOK || !strings.Contains(body, `"Name":"data"`) || strings.Contains(body, "grade-ws-") || strings.Contains(body, cmdPrefix) || strings.Contains(body, "bob") {
		t.Errorf("docker volume ls: %d %s", status, body)
	}
}
