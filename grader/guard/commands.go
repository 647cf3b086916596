package guard

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// A submission of docker commands (course parts 3, 5, 6): the student's
// script runs the docker CLI against the job's guard, which in this mode
// forwards container, volume and network calls (see commands.serve). Every
// object it makes gets the job's labels and an engine name of the job's
// (prefix + the student's name), so that parallel jobs never collide and
// clean-up finds it; answers carry the student's names again. The student's
// host ports are recorded, never given to the engine: checks reach them
// through HostEndpoint. Options that would reach the host (privileged,
// added capabilities, host folders, host namespaces, devices, the Docker
// socket) are refused before anything is made, naming the option.

// Commands is one job's state in commands mode: what its script made, by
// the student's names.
type Commands struct {
	g      *Guard
	eng    Engine
	sb     Sandbox
	prefix string // engine names are prefix + the student's name
	work   string // the workspace: the submission's copy on grade's machine, the script's /work
	images map[string]string

	mu         sync.Mutex
	containers map[string]*Container // by the student's name
	volumes    map[string]bool       // the student's names
	networks   map[string]bool       // the student's names, "bridge" once the default one is made
	execs      map[string]bool
	failed     map[string]string                           // why the last docker run --name NAME made nothing, by NAME
	made       struct{ containers, networks, volumes int } // ever, for the caps

	makeMu sync.Mutex    // held while a network or volume is looked for and made
	heavy  chan struct{} // the calls being served that hold a body or an answer
}

// Engine is what the guard asks of the engine itself, beside the calls it
// forwards (*client.Client has it).
type Engine interface {
	ContainerInspect(ctx context.Context, id string, o client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	NetworkCreate(ctx context.Context, name string, o client.NetworkCreateOptions) (client.NetworkCreateResult, error)
	NetworkInspect(ctx context.Context, name string, o client.NetworkInspectOptions) (client.NetworkInspectResult, error)
	VolumeCreate(ctx context.Context, o client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	VolumeInspect(ctx context.Context, id string, o client.VolumeInspectOptions) (client.VolumeInspectResult, error)
}

// Sandbox is the job a script's objects belong to: what grade sets on
// each of them, and the bound folders' volumes it keeps.
type Sandbox interface {
	// Name is the job's, "student/scenario", for messages.
	Name() string
	// Labels go on everything the script makes; its lists show only what
	// carries them all.
	Labels() map[string]string
	// Limits are the job's; a container gets the smaller of the student's
	// and these.
	Limits() checks.Limits
	// HostConfig is the job's sandbox, whose dropped capabilities and log
	// settings every container gets.
	HostConfig() *container.HostConfig
	// NetworkOptions and VolumeOptions are how the job's networks and
	// named volumes are made.
	NetworkOptions() client.NetworkCreateOptions
	VolumeOptions(name string) client.VolumeCreateOptions
	// FolderVolume makes, once, the read-only volume that stands for the
	// submission's folder rel (dir, on grade's machine) and names it, as
	// FolderVolumeName does; BoundFolder tells the folder of such a volume.
	FolderVolume(ctx context.Context, dir, rel string) (string, error)
	FolderVolumeName(rel string) string
	BoundFolder(volume string) (string, bool)
	// EditFolders writes a file of the submission (p, clean and relative)
	// into every bound folder's volume that holds it.
	EditFolders(ctx context.Context, p string, content []byte) error
}

// CommandsConfig says whose a guard's commands are and what they may use.
type CommandsConfig struct {
	Engine  Engine
	Sandbox Sandbox
	// Prefix starts the engine's name of every object the script makes
	// (then the student's name).
	Prefix string
	// Work is the workspace: the submission's copy on grade's machine,
	// the script's /work.
	Work string
	// Images are those its docker run may name (nothing is pulled).
	Images []string
}

// maxHeavyCalls is how many calls holding a body or an answer in memory
// (up to a few MiB each) the guard serves at once.
const maxHeavyCalls = 4

// Container is a container the script made.
type Container struct {
	ID    string
	Image string // as the student named it
	Ports []checks.PortBinding
}

// scriptWorkdir is where the script runs: its copy of the submission.
const scriptWorkdir = "/work"

// defaultNetwork is the student's name of Docker's default network, which
// each job gets its own copy of (containers on it do not find each other
// by name, as on Docker's).
const defaultNetwork = "bridge"

// NewCommands makes g serve a submission of docker commands instead of the
// registry step.
func NewCommands(g *Guard, cfg CommandsConfig) *Commands {
	c := &Commands{g: g, eng: cfg.Engine, sb: cfg.Sandbox, prefix: cfg.Prefix, work: cfg.Work, images: map[string]string{},
		containers: map[string]*Container{}, volumes: map[string]bool{}, networks: map[string]bool{}, execs: map[string]bool{}, failed: map[string]string{},
		heavy: make(chan struct{}, maxHeavyCalls)}
	for _, a := range cfg.Images {
		if n, err := parseName(a); err == nil {
			c.images[n.String()] = a
		}
	}
	g.cmds = c
	return c
}

// imageList names the images the exercise may run, for messages.
func (c *Commands) imageList() string {
	var out []string
	for _, a := range c.images {
		out = append(out, a)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// allowedImage reports whether a docker run may name image.
func (c *Commands) allowedImage(image string) bool {
	n, err := parseName(image)
	if err != nil {
		return false
	}
	_, ok := c.images[n.String()]
	return ok
}

var studentNameRe = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// container finds a container of the job by the student's name or an id
// prefix; "" when the job has none.
func (c *Commands) container(ref string) (string, *Container) {
	ref = strings.TrimPrefix(ref, "/")
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.containers[ref]; ok {
		return ref, k
	}
	// An id, or any prefix of one that only one container has, as the
	// engine takes it.
	if id := strings.TrimPrefix(ref, "sha256:"); hexRe.MatchString(id) {
		var found string
		for name, k := range c.containers {
			if strings.HasPrefix(k.ID, id) {
				if found != "" {
					return "", nil
				}
				found = name
			}
		}
		if found != "" {
			return found, c.containers[found]
		}
	}
	return "", nil
}

var hexRe = regexp.MustCompile(`^[0-9a-f]{1,64}$`)

// engineName is the engine's name of a student's object.
func (c *Commands) engineName(name string) string { return c.prefix + name }

// toStudent rewrites the engine's names in an answer into the student's.
func (c *Commands) toStudent(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte(c.prefix), nil)
}

// serve handles one call in commands mode; p has no version prefix.
func (c *Commands) serve(w http.ResponseWriter, r *http.Request, prefix, p string) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	arg := func(i int) string {
		if i < len(segs) {
			return segs[i]
		}
		return ""
	}
	m := r.Method
	last := segs[len(segs)-1]
	streams := (arg(0) == "containers" && (last == "attach" || last == "wait" || last == "logs" || last == "stats")) ||
		(arg(0) == "exec" && last == "start")
	if !streams {
		// Calls that read a body or an answer into memory, a few at a
		// time: a script's parallel calls cannot make grade's memory grow
		// without bound.
		select {
		case c.heavy <- struct{}{}:
			defer func() { <-c.heavy }()
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case arg(0) == "containers" && arg(1) == "create" && m == http.MethodPost:
		c.create(w, r, prefix)
	case arg(0) == "containers" && arg(1) == "json" && m == http.MethodGet:
		c.listContainers(w, r, prefix)
	case arg(0) == "containers" && len(segs) >= 2 && arg(1) != "prune":
		c.onContainer(w, r, prefix, segs[1], strings.Join(segs[2:], "/"))
	case arg(0) == "exec" && len(segs) == 3:
		c.onExec(w, r, prefix, segs[1], segs[2])
	case arg(0) == "volumes":
		c.volume(w, r, prefix, segs)
	case arg(0) == "networks":
		c.network(w, r, prefix, segs)
	case arg(0) == "images" && arg(1) == "create" && m == http.MethodPost && r.URL.Query().Get("fromSrc") == "":
		c.pull(w, r)
	case arg(0) == "images" && arg(1) == "json" && m == http.MethodGet:
		c.listImages(w, r, prefix)
	case arg(0) == "images" && len(segs) >= 3 && segs[len(segs)-1] == "json" && m == http.MethodGet:
		name := strings.Join(segs[1:len(segs)-1], "/")
		if !c.allowedImage(name) {
			writeAPIError(w, http.StatusNotFound, "No such image: "+name)
			return
		}
		c.proxy(w, r, prefix+p, nil, false)
	default:
		c.g.refuse(w, describeCall(r, p), "in this exercise the docker CLI may run, inspect, stop, start and remove containers, and make volumes and networks; "+
			"it builds, pulls and pushes nothing, and sees nothing it did not make")
	}
}

// proxy forwards the call as it is (streams, and the raw connections of
// attach and exec, included), to path with query q (r's when nil);
// rewrite puts the student's names into a JSON answer.
func (c *Commands) proxy(w http.ResponseWriter, r *http.Request, p string, q url.Values, rewrite bool) {
	if q == nil {
		q = r.URL.Query()
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "http", "docker", "docker"
			pr.Out.URL.Path, pr.Out.URL.RawPath, pr.Out.URL.RawQuery = p, "", q.Encode()
		},
		Transport:     c.g.cfg.Upstream,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeAPIError(w, http.StatusBadGateway, "grade: the engine did not answer: "+err.Error())
		},
	}
	if rewrite {
		rp.ModifyResponse = func(resp *http.Response) error {
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				return nil
			}
			b, err := io.ReadAll(io.LimitReader(resp.Body, 8*maxGuardBody))
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			b = c.toStudent(b)
			resp.Body = io.NopCloser(bytes.NewReader(b))
			resp.ContentLength = int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		}
	}
	rp.ServeHTTP(w, r)
}

// jobFilters adds the job's labels to a list call's filters.
func (c *Commands) jobFilters(r *http.Request) url.Values {
	q := r.URL.Query()
	f := map[string]any{}
	if s := q.Get("filters"); s != "" {
		_ = json.Unmarshal([]byte(s), &f)
	}
	labels := map[string]bool{}
	switch l := f["label"].(type) {
	case []any:
		for _, v := range l {
			if s, ok := v.(string); ok {
				labels[s] = true
			}
		}
	case map[string]any:
		for k := range l {
			labels[k] = true
		}
	}
	for k, v := range c.sb.Labels() {
		labels[k+"="+v] = true
	}
	f["label"] = labels
	b, _ := json.Marshal(f)
	q.Set("filters", string(b))
	return q
}

// list handles docker ps, docker volume ls and docker network ls: the
// job's own objects only.
func (c *Commands) list(w http.ResponseWriter, r *http.Request, prefix, p string) {
	c.proxy(w, r, prefix+p, c.jobFilters(r), true)
}

// listVolumes handles docker volume ls: the volumes the script made (not
// the bound folders', which grade made for its binds).
func (c *Commands) listVolumes(w http.ResponseWriter, r *http.Request, prefix string) {
	var list map[string]any
	c.listKept(w, r, prefix+"/volumes", &list, func() any {
		vols, _ := list["Volumes"].([]any)
		kept := []any{}
		for _, v := range vols {
			if m, _ := v.(map[string]any); m != nil {
				if name, _ := m["Name"].(string); strings.HasPrefix(name, c.prefix) {
					kept = append(kept, v)
				}
			}
		}
		list["Volumes"] = kept
		return list
	})
}

// listContainers handles docker ps: the containers the script made (not
// the script's own, nor grade's helpers).
func (c *Commands) listContainers(w http.ResponseWriter, r *http.Request, prefix string) {
	ids := map[string]bool{}
	for _, id := range c.Snapshot() {
		ids[id] = true
	}
	var list []map[string]any
	c.listKept(w, r, prefix+"/containers/json", &list, func() any {
		kept := []map[string]any{}
		for _, item := range list {
			if id, _ := item["Id"].(string); ids[id] {
				kept = append(kept, item)
			}
		}
		return kept
	})
}

// listKept asks the engine for a list of the job's objects (p, with the
// job's filters), decodes it into into, and answers what keep returns of
// it, in the student's names.
func (c *Commands) listKept(w http.ResponseWriter, r *http.Request, p string, into any, keep func() any) {
	resp, err := c.g.upstream(r, http.MethodGet, p, c.jobFilters(r), nil, nil)
	if err != nil {
		writeAPIError(w, http.StatusBadGateway, "grade: the engine did not answer: "+err.Error())
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		c.g.relay(w, resp)
		return
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8*maxGuardBody)).Decode(into); err != nil {
		writeAPIError(w, http.StatusBadGateway, "grade: the engine's answer is not JSON: "+err.Error())
		return
	}
	b, _ := json.Marshal(keep())
	copyHeaders(w, resp)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(c.toStudent(b))
}

// onContainer handles the calls on one container.
func (c *Commands) onContainer(w http.ResponseWriter, r *http.Request, prefix, ref, op string) {
	name, k := c.container(ref)
	if k == nil {
		writeAPIError(w, http.StatusNotFound, "No such container: "+ref)
		return
	}
	m := r.Method
	p := prefix + "/containers/" + k.ID
	if op != "" {
		p += "/" + op
	}
	switch {
	case op == "" && m == http.MethodDelete:
		q := r.URL.Query()
		q.Set("v", "1") // its anonymous volumes carry no label: they go with it
		rec := &statusRecorder{ResponseWriter: w}
		c.proxy(rec, r, p, q, false)
		if rec.status/100 == 2 {
			c.mu.Lock()
			delete(c.containers, name)
			c.mu.Unlock()
		}
	case op == "json" && m == http.MethodGet, op == "top" && m == http.MethodGet:
		c.proxy(w, r, p, nil, true)
	case m == http.MethodGet && (op == "logs" || op == "stats" || op == "changes"),
		m == http.MethodPost && (op == "start" || op == "stop" || op == "restart" || op == "kill" || op == "wait" ||
			op == "attach" || op == "resize" || op == "pause" || op == "unpause"),
		op == "archive" && (m == http.MethodGet || m == http.MethodHead):
		if op == "start" {
			if held := c.heldPort(r.Context(), name, k); held != 0 {
				writeAPIError(w, http.StatusInternalServerError, fmt.Sprintf("driver failed programming external connectivity on endpoint %s: Bind for 0.0.0.0:%d failed: port is already allocated",
					name, held))
				return
			}
		}
		// None of these takes a body (before API 1.24 start took a
		// HostConfig, past the checks of create).
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxGuardBody))
		_ = r.Body.Close()
		r.Body, r.ContentLength = http.NoBody, 0
		r.Header.Del("Content-Length")
		c.proxy(w, r, p, nil, false)
	case op == "archive" && m == http.MethodPut:
		r.Body = http.MaxBytesReader(w, r.Body, int64(c.sb.Limits().Context)+maxGuardBody)
		c.proxy(w, r, p, nil, false)
	case op == "exec" && m == http.MethodPost:
		c.execCreate(w, r, p, name)
	case op == "rename" && m == http.MethodPost:
		c.rename(w, r, p, name)
	default:
		c.g.refuse(w, describeCall(r, "/containers/"+ref+"/"+op), "it changes what grade set for the container (its limits or image), or reads it whole; not in this exercise")
	}
}

// heldPort returns a host port k publishes that another running container
// of the job publishes too (the engine never gets the student's host
// ports, so grade refuses the second start as the engine would), 0 when
// none is.
func (c *Commands) heldPort(ctx context.Context, name string, k *Container) int {
	c.mu.Lock()
	others := map[string]*Container{}
	for n, o := range c.containers {
		if n != name {
			others[n] = o
		}
	}
	c.mu.Unlock()
	for _, p := range k.Ports {
		if p.HostPort == 0 {
			continue
		}
		for _, o := range others {
			if !slices.ContainsFunc(o.Ports, func(q checks.PortBinding) bool { return q.HostPort == p.HostPort && q.Proto == p.Proto }) {
				continue
			}
			ins, err := c.eng.ContainerInspect(ctx, o.ID, client.ContainerInspectOptions{})
			if err == nil && ins.Container.State != nil && ins.Container.State.Running {
				return p.HostPort
			}
		}
	}
	return 0
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush passes a flush on (streamed answers).
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// readJSON reads a call's JSON body into a map (empty for no body or
// null). A key that differs only in case from one grade vets is an error:
// the engine reads keys ignoring case (Go's encoding/json), so
// {"hostconfig":{"Privileged":true}} would reach it unvetted.
func readJSON(r *http.Request) (map[string]any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxGuardBody))
	if err != nil {
		return nil, fmt.Errorf("reading the request: %w", err)
	}
	m := map[string]any{}
	if len(bytes.TrimSpace(body)) == 0 {
		return m, nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("the request is not JSON: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	if k, as := foldedKey(m, false); k != "" {
		return nil, fmt.Errorf("the request's key %q is read by the engine as %q (case is ignored); write it as the Docker API does", k, as)
	}
	return m, nil
}

// vettedKeys are the keys of request bodies grade reads or sets by name,
// by their folded form (foldKey).
var vettedKeys = func() map[string]string {
	out := map[string]string{}
	for _, k := range []string{"Image", "Labels", "HostConfig", "NetworkingConfig", "EndpointsConfig", "EndpointConfig", "Aliases",
		"Links", "Type", "Source", "Target", "ReadOnly", "BindOptions", "VolumeOptions", "DriverConfig", "HostPort", "Privileged",
		"Name", "Driver", "DriverOpts", "Options", "IPAM", "Config", "Ingress", "ConfigFrom", "ConfigOnly", "Scope", "Container",
		"TmpfsOptions", "SizeBytes", "Soft", "Hard"} {
		out[foldKey(k)] = k
	}
	for k := range hostConfigKeys {
		out[foldKey(k)] = k
	}
	for k := range refusedHostConfig {
		out[foldKey(k)] = k
	}
	return out
}()

// dataKeys hold objects whose keys are data (labels, options, ports,
// networks' names), read by the engine as they are.
var dataKeys = map[string]bool{"Labels": true, "DriverOpts": true, "Options": true, "Sysctls": true, "Tmpfs": true,
	"ExposedPorts": true, "Volumes": true, "PortBindings": true, "EndpointsConfig": true, "StorageOpt": true, "Config": true,
	"AuxiliaryAddresses": true}

// foldKey maps s to one form for all the strings strings.EqualFold (and
// so the engine's JSON decoder) takes for it.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

// foldedKey finds a key in v written otherwise than a vetted key the
// engine would read it as; data says v's own keys are data.
func foldedKey(v any, data bool) (key, as string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if a, ok := vettedKeys[foldKey(k)]; ok && !data && a != k {
				return k, a
			}
			if key, as := foldedKey(val, !data && dataKeys[k]); key != "" {
				return key, as
			}
		}
	case []any:
		for _, val := range x {
			if key, as := foldedKey(val, false); key != "" {
				return key, as
			}
		}
	}
	return "", ""
}

// setJSON makes m r's body.
func setJSON(r *http.Request, m map[string]any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	r.Header.Set("Content-Type", "application/json")
	return nil
}

// execCreate handles docker exec: never privileged.
func (c *Commands) execCreate(w http.ResponseWriter, r *http.Request, p, name string) {
	body, err := readJSON(r)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "grade: "+err.Error())
		return
	}
	if set(body["Privileged"]) {
		c.g.refuse(w, "docker exec --privileged "+name, "`--privileged` would give the command every capability of the host's root; not in this exercise")
		return
	}
	_ = setJSON(r, body)
	rec := &bodyRecorder{ResponseWriter: w}
	c.proxy(rec, r, p, nil, false)
	var res struct{ ID string }
	if json.Unmarshal(rec.buf.Bytes(), &res) == nil && res.ID != "" {
		c.mu.Lock()
		c.execs[res.ID] = true
		c.mu.Unlock()
	}
}

// bodyRecorder keeps what a handler answered (a small JSON answer) and
// its status.
type bodyRecorder struct {
	http.ResponseWriter
	buf    bytes.Buffer
	status int
}

func (b *bodyRecorder) WriteHeader(code int) {
	b.status = code
	b.ResponseWriter.WriteHeader(code)
}

func (b *bodyRecorder) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.buf.Len() < maxGuardBody {
		b.buf.Write(p)
	}
	return b.ResponseWriter.Write(p)
}

// onExec handles the calls on an exec instance the job made.
func (c *Commands) onExec(w http.ResponseWriter, r *http.Request, prefix, id, op string) {
	c.mu.Lock()
	ok := c.execs[id]
	c.mu.Unlock()
	if !ok {
		writeAPIError(w, http.StatusNotFound, "No such exec instance: "+id)
		return
	}
	switch {
	case op == "start" && r.Method == http.MethodPost, op == "resize" && r.Method == http.MethodPost, op == "json" && r.Method == http.MethodGet:
		c.proxy(w, r, prefix+"/exec/"+id+"/"+op, nil, false)
	default:
		writeAPIError(w, http.StatusNotFound, "page not found")
	}
}

// rename handles docker rename: the new name is the job's too.
func (c *Commands) rename(w http.ResponseWriter, r *http.Request, p, name string) {
	to := r.URL.Query().Get("name")
	if !studentNameRe.MatchString(to) {
		writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("Invalid container name (%s)", to))
		return
	}
	to = strings.TrimPrefix(to, "/")
	rec := &statusRecorder{ResponseWriter: w}
	c.proxy(rec, r, p, url.Values{"name": {c.engineName(to)}}, false)
	if rec.status/100 == 2 {
		c.mu.Lock()
		if k := c.containers[name]; k != nil {
			delete(c.containers, name)
			c.containers[to] = k
		}
		c.mu.Unlock()
	}
}

// pull handles docker pull: nothing can be pulled; an image the exercise
// has is there already.
func (c *Commands) pull(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref := q.Get("fromImage")
	if t := q.Get("tag"); t != "" && !strings.Contains(ref, "@") {
		ref += ":" + t
	}
	if !c.allowedImage(ref) {
		c.g.refuse(w, "docker pull "+ref, fmt.Sprintf("nothing can be pulled here, and %s is not one of this exercise's images (%s); check the image's name", ref, c.imageList()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	_ = enc.Encode(map[string]string{"status": "Status: Image is up to date for " + ref})
}

// listImages handles docker images: the exercise's images.
func (c *Commands) listImages(w http.ResponseWriter, r *http.Request, prefix string) {
	var refs []any
	for n := range c.images {
		refs = append(refs, n)
	}
	filters, _ := json.Marshal(map[string]any{"reference": refs})
	c.proxy(w, r, prefix+"/images/json", url.Values{"filters": {string(filters)}}, false)
}

// set reports whether a JSON value is set: not null, false, 0, "", [] or {}.
func set(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// configKeys are the keys of a container create call's body a docker run
// may give: the container's Config, and the HostConfig and
// NetworkingConfig vetted on their own.
var configKeys = map[string]bool{
	"Hostname": true, "Domainname": true, "User": true, "AttachStdin": true, "AttachStdout": true, "AttachStderr": true,
	"ExposedPorts": true, "Tty": true, "OpenStdin": true, "StdinOnce": true, "Env": true, "Cmd": true, "Healthcheck": true,
	"ArgsEscaped": true, "Image": true, "Volumes": true, "WorkingDir": true, "Entrypoint": true, "NetworkDisabled": true,
	"MacAddress": true, "OnBuild": true, "Labels": true, "StopSignal": true, "StopTimeout": true, "Shell": true,
	"HostConfig": true, "NetworkingConfig": true,
}

// hostConfigKeys are the keys of a container's HostConfig a docker run may
// give (vetted below); any other key set is refused.
var hostConfigKeys = map[string]bool{
	"Binds": true, "Mounts": true, "NetworkMode": true, "PortBindings": true, "RestartPolicy": true, "AutoRemove": true,
	"VolumesFrom": true, "Links": true, "CapDrop": true, "Dns": true, "DnsOptions": true, "DnsSearch": true, "ExtraHosts": true,
	"GroupAdd": true, "IpcMode": true, "PidMode": true, "UTSMode": true, "UsernsMode": true, "CgroupnsMode": true, "Cgroup": true,
	"PublishAllPorts": true, "ReadonlyRootfs": true, "SecurityOpt": true, "Tmpfs": true, "ShmSize": true, "ConsoleSize": true,
	"Init": true, "LogConfig": true, "Memory": true, "MemorySwap": true, "MemoryReservation": true, "MemorySwappiness": true,
	"NanoCpus": true, "CpuShares": true, "CpuPeriod": true, "CpuQuota": true, "CpusetCpus": true, "CpusetMems": true,
	"PidsLimit": true, "Ulimits": true, "OomScoreAdj": true, "Isolation": true, "ContainerIDFile": true, "BlkioWeight": true,
	"CpuCount": true, "CpuPercent": true, "IOMaximumIOps": true, "IOMaximumBandwidth": true, "KernelMemory": true,
	"KernelMemoryTCP": true, "CpuRealtimePeriod": true, "CpuRealtimeRuntime": true, "OomKillDisable": true,
}

// refusedHostConfig names the options behind HostConfig keys grade refuses.
var refusedHostConfig = map[string]string{
	"Privileged":           "`--privileged` would give the container the host's devices and every capability of its root",
	"CapAdd":               "`--cap-add` would give the container powers over the host beyond Docker's defaults",
	"Devices":              "`--device` would give the container a device of the host",
	"DeviceRequests":       "`--gpus` would give the container a device of the host",
	"DeviceCgroupRules":    "`--device-cgroup-rule` would let the container use devices of the host",
	"CgroupParent":         "`--cgroup-parent` would move the container out of the limits grade sets",
	"VolumeDriver":         "`--volume-driver` would use a volume plugin of the host",
	"Sysctls":              "`--sysctl` changes the kernel's settings",
	"Runtime":              "`--runtime` would run the container with another runtime of the host",
	"MaskedPaths":          "`--security-opt systempaths=unconfined` would show the container the host's kernel files",
	"ReadonlyPaths":        "`--security-opt systempaths=unconfined` would show the container the host's kernel files",
	"BlkioWeightDevice":    "`--blkio-weight-device` names a device of the host",
	"BlkioDeviceReadBps":   "`--device-read-bps` names a device of the host",
	"BlkioDeviceWriteBps":  "`--device-write-bps` names a device of the host",
	"BlkioDeviceReadIOps":  "`--device-read-iops` names a device of the host",
	"BlkioDeviceWriteIOps": "`--device-write-iops` names a device of the host",
	"StorageOpt":           "`--storage-opt` changes the engine's storage",
}

// hostMode names the options that share a namespace of the host.
var hostMode = map[string]string{
	"PidMode": "--pid", "IpcMode": "--ipc", "UTSMode": "--uts", "UsernsMode": "--userns", "CgroupnsMode": "--cgroupns", "Cgroup": "--cgroup",
}

// create handles docker run / docker create.
func (c *Commands) create(w http.ResponseWriter, r *http.Request, prefix string) {
	name := strings.TrimPrefix(r.URL.Query().Get("name"), "/")
	rec := &bodyRecorder{ResponseWriter: w}
	c.createContainer(rec, r, prefix)
	if name == "" {
		return
	}
	// What became of the student's docker run --name NAME, for the checks
	// that look for NAME later: the script may have gone on past it.
	c.mu.Lock()
	defer c.mu.Unlock()
	if rec.status/100 == 2 {
		delete(c.failed, name)
		return
	}
	var e struct{ Message string }
	if json.Unmarshal(rec.buf.Bytes(), &e) == nil && e.Message != "" {
		c.failed[name] = strings.TrimPrefix(e.Message, "grade: ")
	}
}

// createContainer does the work of create.
func (c *Commands) createContainer(w http.ResponseWriter, r *http.Request, prefix string) {
	body, err := readJSON(r)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "grade: "+err.Error())
		return
	}
	image, _ := body["Image"].(string)
	name := strings.TrimPrefix(r.URL.Query().Get("name"), "/")
	cmd := "docker run"
	if name != "" {
		cmd += " --name " + name
	}
	cmd += " … " + image
	if name != "" && !studentNameRe.MatchString(name) {
		writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name))
		return
	}
	v := &vetting{c: c}
	for _, k := range slices.Sorted(maps.Keys(body)) {
		// The engine copies some keys of the top level into the
		// HostConfig (VolumeDriver, Memory, …): only a container's own
		// settings may be there.
		if !configKeys[k] && set(body[k]) {
			v.refuse("the option behind %s is not allowed in this exercise", k)
		}
	}
	hc, _ := body["HostConfig"].(map[string]any)
	if hc == nil {
		hc = map[string]any{}
	}
	v.hostConfig(hc)
	nc, _ := body["NetworkingConfig"].(map[string]any)
	if nc == nil {
		nc = map[string]any{}
	}
	v.endpoints(nc, name, hc)
	body["NetworkingConfig"] = nc
	if len(v.refused) > 0 {
		c.g.refuse(w, cmd, strings.Join(v.refused, "; ")+"; nothing was started")
		return
	}
	if v.notFound != "" {
		writeAPIError(w, http.StatusNotFound, v.notFound)
		return
	}
	if v.bad != "" {
		writeAPIError(w, http.StatusBadRequest, v.bad)
		return
	}
	if !c.allowedImage(image) {
		// As the engine says it: the CLI then tries a pull, which says why.
		writeAPIError(w, http.StatusNotFound, "No such image: "+image)
		return
	}
	ctx := r.Context()
	if name != "" {
		c.mu.Lock()
		k := c.containers[name] // by name only, as the engine checks names
		c.mu.Unlock()
		if k != nil && !c.gone(ctx, name, k) {
			writeAPIError(w, http.StatusConflict, fmt.Sprintf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, k.ID))
			return
		}
	}
	c.mu.Lock()
	full := c.made.containers >= maxCmdContainers
	c.mu.Unlock()
	if full {
		c.g.refuse(w, cmd, (&capError{what: fmt.Sprintf("%d containers", maxCmdContainers)}).Error())
		return
	}
	for _, vol := range v.volumes {
		if err := c.ensureVolume(ctx, vol); err != nil {
			c.makeFailed(w, cmd, err)
			return
		}
	}
	for _, rel := range v.folders {
		if err := c.ensureWorkspace(ctx, rel); err != nil {
			c.makeFailed(w, cmd, err)
			return
		}
	}
	for _, n := range v.networks {
		if n == defaultNetwork {
			if err := c.ensureDefault(ctx); err != nil {
				c.makeFailed(w, cmd, err)
				return
			}
		}
	}
	l, _ := body["Labels"].(map[string]any)
	labels := studentLabels(l)
	for k, val := range c.sb.Labels() {
		labels[k] = val
	}
	body["Labels"] = labels
	c.sandbox(hc)
	body["HostConfig"] = hc
	_ = setJSON(r, body)
	q := url.Values{}
	if name != "" {
		q.Set("name", c.engineName(name))
	}
	if pf := r.URL.Query().Get("platform"); pf != "" {
		q.Set("platform", pf)
	}
	rec := &bodyRecorder{ResponseWriter: w}
	c.proxy(rec, r, prefix+"/containers/create", q, false)
	var res struct {
		ID string `json:"Id"`
	}
	if json.Unmarshal(rec.buf.Bytes(), &res) != nil || res.ID == "" {
		return
	}
	if name == "" {
		name = c.engineNameOf(ctx, res.ID)
	}
	c.mu.Lock()
	c.containers[name] = &Container{ID: res.ID, Image: image, Ports: v.ports}
	c.made.containers++
	c.mu.Unlock()
}

// gone reports whether a container the job knows by name is no longer on
// the engine (removed by --rm, or by the engine), forgetting it if so.
func (c *Commands) gone(ctx context.Context, name string, k *Container) bool {
	_, err := c.eng.ContainerInspect(ctx, k.ID, client.ContainerInspectOptions{})
	if err == nil || !isNotFound(err) {
		return false
	}
	c.mu.Lock()
	if c.containers[name] == k {
		delete(c.containers, name)
	}
	c.mu.Unlock()
	return true
}

// makeFailed answers a network or volume grade could not make: a cap
// reached is refused, anything else is the engine's.
func (c *Commands) makeFailed(w http.ResponseWriter, cmd string, err error) {
	var ce *capError
	if errors.As(err, &ce) {
		c.g.refuse(w, cmd, ce.Error())
		return
	}
	writeAPIError(w, http.StatusBadGateway, "grade: "+err.Error())
}

// engineNameOf reads the name the engine gave a container made without
// --name (the student knows it by that name, from docker ps).
func (c *Commands) engineNameOf(ctx context.Context, id string) string {
	ins, err := c.eng.ContainerInspect(ctx, id, clientInspect)
	if err != nil || ins.Container.Name == "" {
		return id[:min(12, len(id))]
	}
	return strings.TrimPrefix(ins.Container.Name, "/")
}

// sandbox sets the job's limits in a vetted HostConfig: the smaller of the
// student's and the job's, the job's dropped capabilities, no new
// privileges, the job's log cap.
func (c *Commands) sandbox(hc map[string]any) {
	l := c.sb.Limits()
	lower := func(key string, limit int64) {
		if limit <= 0 {
			return
		}
		if n, ok := hc[key].(json.Number); ok {
			if v, err := n.Int64(); err == nil && v > 0 && v < limit {
				return
			}
		}
		hc[key] = limit
	}
	lower("Memory", int64(l.Memory))
	hc["MemorySwap"] = hc["Memory"]
	lower("NanoCpus", l.NanoCPUs())
	lower("PidsLimit", l.PIDs)
	if n, ok := hc["ShmSize"].(json.Number); ok && l.Memory > 0 {
		if v, err := n.Int64(); err != nil || v != ClampSize(v, int64(l.Memory)) {
			hc["ShmSize"] = int64(l.Memory) // --shm-size: /dev/shm no larger than the memory limit
		}
	}
	for _, k := range []string{"CpuPeriod", "CpuQuota", "CpuCount", "CpuPercent", "CpuRealtimePeriod", "CpuRealtimeRuntime", "KernelMemory", "KernelMemoryTCP"} {
		delete(hc, k)
	}
	drop := map[string]bool{}
	for _, s := range strs(hc["CapDrop"]) {
		drop[strings.ToUpper(strings.TrimPrefix(strings.ToUpper(s), "CAP_"))] = true
	}
	for _, s := range c.sb.HostConfig().CapDrop {
		drop[s] = true
	}
	var caps []string
	for s := range drop {
		caps = append(caps, s)
	}
	sort.Strings(caps)
	hc["CapDrop"] = caps
	hc["SecurityOpt"] = []string{"no-new-privileges"}
	lc := c.sb.HostConfig().LogConfig
	hc["LogConfig"] = map[string]any{"Type": lc.Type, "Config": lc.Config}
	hc["OomKillDisable"] = false
}

// vetting collects what a create call asks that grade refuses or must
// make first, rewriting the student's names into the engine's as it goes.
type vetting struct {
	c        *Commands
	refused  []string
	notFound string
	bad      string   // a mistake the engine answers 400 to
	volumes  []string // the student's volume names to make first
	folders  []string // the workspace folders bound, whose volumes to make first
	networks []string // the student's network names used
	ports    []checks.PortBinding
}

func (v *vetting) refuse(format string, args ...any) {
	v.refused = append(v.refused, fmt.Sprintf(format, args...))
}

// hostConfig vets and rewrites a HostConfig.
func (v *vetting) hostConfig(hc map[string]any) {
	keys := make([]string, 0, len(hc))
	for k := range hc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !set(hc[k]) {
			continue
		}
		if k == "Runtime" && hc[k] == "runc" {
			continue
		}
		if why, ok := refusedHostConfig[k]; ok {
			v.refuse("%s", why)
			continue
		}
		if !hostConfigKeys[k] {
			v.refuse("the option behind HostConfig.%s is not allowed in this exercise", k)
		}
	}
	if set(hc["OomKillDisable"]) {
		v.refuse("`--oom-kill-disable` would keep the container from being stopped at its memory limit")
	}
	for key, flag := range hostMode {
		mode, _ := hc[key].(string)
		switch {
		case mode == "host":
			v.refuse("`%s host` would share the host's %s namespace with the container", flag, strings.TrimPrefix(flag, "--"))
		case strings.HasPrefix(mode, "container:"):
			if id, ok := v.mapContainer(strings.TrimPrefix(mode, "container:")); ok {
				hc[key] = "container:" + id
			} else {
				v.refuse("`%s %s` names a container your commands did not make", flag, mode)
			}
		}
	}
	if sec := strs(hc["SecurityOpt"]); len(sec) > 0 {
		for _, s := range sec {
			if s != "no-new-privileges" && s != "no-new-privileges:true" && s != "no-new-privileges=true" {
				v.refuse("`--security-opt %s` would loosen the container's confinement", s)
			}
		}
	}
	v.kernel(hc)
	v.network(hc)
	v.binds(hc)
	v.mounts(hc)
	var from []any
	for _, s := range strs(hc["VolumesFrom"]) {
		ref, mode, _ := strings.Cut(s, ":")
		id, ok := v.mapContainer(ref)
		if !ok {
			v.refuse("`--volumes-from %s` names a container your commands did not make", ref)
			continue
		}
		if mode != "" {
			id += ":" + mode
		}
		from = append(from, id)
	}
	if from != nil {
		hc["VolumesFrom"] = from
	}
	for _, s := range strs(hc["Links"]) {
		// Legacy links work only on Docker's own default bridge, and the
		// job's copy of it is a network of the job's, where the engine
		// ignores them: say so rather than let the link do nothing.
		ref, _, _ := strings.Cut(s, ":")
		v.refuse("`--link %s` is a legacy option that grade does not support; put both containers on a network of your own (docker network create, --network) and use the container's name (6.3)", strings.TrimPrefix(ref, "/"))
	}
	v.publish(hc)
}

// kernel vets what a container asks of the host's kernel beyond its
// cgroup (kernel.go): a negative --oom-score-adj is refused, --ulimit and
// --tmpfs are clamped or refused.
func (v *vetting) kernel(hc map[string]any) {
	if n, ok := hc["OomScoreAdj"].(json.Number); ok {
		if f, err := n.Float64(); err == nil && f < 0 {
			v.refuse("`--oom-score-adj %s` %s", n, OOMScoreAdjRefused(-1))
		}
	}
	if list, ok := hc["Ulimits"].([]any); ok {
		pids := v.c.sb.Limits().PIDs
		var out []any
		for _, item := range list {
			m, _ := item.(map[string]any)
			if m == nil {
				continue
			}
			name, _ := m["Name"].(string)
			u, why := VetUlimit(Ulimit{Name: name, Soft: ulimitValue(m["Soft"]), Hard: ulimitValue(m["Hard"])}, pids)
			if why != "" {
				v.refuse("`--ulimit %s` %s", u, why)
				continue
			}
			out = append(out, map[string]any{"Name": u.Name, "Soft": u.Soft, "Hard": u.Hard})
		}
		hc["Ulimits"] = out
	}
	if t, ok := hc["Tmpfs"].(map[string]any); ok {
		mem := int64(v.c.sb.Limits().Memory)
		out := map[string]any{}
		for _, p := range slices.Sorted(maps.Keys(t)) {
			opts, _ := t[p].(string)
			o, bad := TmpfsOptions(opts, mem)
			if bad != "" {
				v.refuse("`--tmpfs %s:%s` sets %s, which grade does not allow on a tmpfs (only size, mode, uid, gid, nr_inodes and flags such as ro, exec or noatime)", p, opts, bad)
				continue
			}
			out[p] = o
		}
		hc["Tmpfs"] = out
	}
}

// ulimitValue reads a ulimit's soft or hard value; what is not a whole
// number the engine would take is unlimited (-1), which VetUlimit clamps
// or refuses.
func ulimitValue(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return 0 // absent or null: the engine reads 0
	}
	i, err := n.Int64()
	if err != nil {
		return -1
	}
	return i
}

// tmpfsMount clamps a --mount type=tmpfs to the job's memory limit: the
// engine gives it nosuid and nodev, and of its flags grade keeps only those
// a --tmpfs may have, suid and dev dropped.
func (v *vetting) tmpfsMount(m map[string]any, dst string) {
	mem := int64(v.c.sb.Limits().Memory)
	to, _ := m["TmpfsOptions"].(map[string]any)
	if to == nil {
		to = map[string]any{}
	}
	if mem > 0 {
		// No size is half the host's memory.
		n, _ := to["SizeBytes"].(json.Number)
		if s, err := n.Int64(); err != nil || s <= 0 || s != ClampSize(s, mem) {
			to["SizeBytes"] = mem
		}
	}
	var opts []any
	for _, item := range asList(to["Options"]) {
		o := strs(item)
		if len(o) == 0 {
			continue
		}
		flag := strings.Join(o, "=")
		if flag == "suid" || flag == "dev" {
			continue
		}
		if len(o) > 1 || !tmpfsFlags[flag] {
			v.refuse("`--mount type=tmpfs,target=%s` sets %s, which grade does not allow on a tmpfs (only its size, mode and flags such as ro or exec)", dst, flag)
			continue
		}
		opts = append(opts, []string{flag})
	}
	if opts != nil {
		to["Options"] = opts
	} else {
		delete(to, "Options")
	}
	m["TmpfsOptions"] = to
}

// asList is a JSON array's items (none for anything else).
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// studentLabels are a student's labels less grade's and the compose
// engine's (ReservedLabel): a container labelled with another job's compose
// project would be taken for one of that job's services.
func studentLabels(l map[string]any) map[string]any {
	out := map[string]any{}
	for k, val := range l {
		if !ReservedLabel(k) {
			out[k] = val
		}
	}
	return out
}

// mapContainer gives the id of a job's container by the student's name or id.
func (v *vetting) mapContainer(ref string) (string, bool) {
	_, k := v.c.container(ref)
	if k == nil {
		return "", false
	}
	return k.ID, true
}

// network vets and maps --network.
func (v *vetting) network(hc map[string]any) {
	mode, _ := hc["NetworkMode"].(string)
	switch {
	case mode == "" || mode == "default" || mode == defaultNetwork:
		hc["NetworkMode"] = v.c.engineName(defaultNetwork)
		v.networks = append(v.networks, defaultNetwork)
	case mode == "none":
	case mode == "host":
		v.refuse("`--network host` would put the container on the host's own network")
	case strings.HasPrefix(mode, "container:"):
		if id, ok := v.mapContainer(strings.TrimPrefix(mode, "container:")); ok {
			hc["NetworkMode"] = "container:" + id
		} else {
			v.refuse("`--network %s` names a container your commands did not make", mode)
		}
	default:
		if !v.c.hasNetwork(mode) {
			v.notFound = fmt.Sprintf("network %s not found", mode)
			return
		}
		hc["NetworkMode"] = v.c.engineName(mode)
		v.networks = append(v.networks, mode)
	}
}

// endpoints maps the networks of NetworkingConfig (--network NAME with
// --network-alias, --ip) and gives the container its name as an alias on
// a network the student made, as Docker's DNS answers it there.
func (v *vetting) endpoints(nc map[string]any, name string, hc map[string]any) {
	eps, _ := nc["EndpointsConfig"].(map[string]any)
	if len(eps) == 0 {
		mode, _ := hc["NetworkMode"].(string)
		if name == "" || !strings.HasPrefix(mode, v.c.prefix) || mode == v.c.engineName(defaultNetwork) {
			return
		}
		eps = map[string]any{strings.TrimPrefix(mode, v.c.prefix): map[string]any{}}
	}
	out := map[string]any{}
	for net, ep := range eps {
		m, _ := ep.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		switch {
		case net == "host":
			v.refuse("`--network host` would put the container on the host's own network")
			continue
		case net == "" || net == "default" || net == defaultNetwork:
			if len(strs(m["Aliases"])) > 0 {
				v.bad = "network-scoped alias is supported only for containers in user defined networks"
			}
			out[v.c.engineName(defaultNetwork)] = endpoint(m, nil)
			continue
		case strings.HasPrefix(net, v.c.prefix):
			net = strings.TrimPrefix(net, v.c.prefix)
		}
		if !v.c.hasNetwork(net) {
			v.notFound = fmt.Sprintf("network %s not found", net)
			continue
		}
		aliases := strs(m["Aliases"])
		if name != "" {
			aliases = append(aliases, name)
		}
		if set(m["Links"]) {
			v.refuse("`--link` on a user-defined network: use the container's name instead")
		}
		out[v.c.engineName(net)] = endpoint(m, aliases)
	}
	nc["EndpointsConfig"] = out
}

// endpoint keeps of a container's settings on a network what a student
// may give (--network-alias, --ip): no NetworkID (the engine would join
// the network it names, any network on the engine), no driver options.
func endpoint(m map[string]any, aliases []string) map[string]any {
	out := map[string]any{}
	if len(aliases) > 0 {
		out["Aliases"] = aliases
	}
	if ipam, _ := m["IPAMConfig"].(map[string]any); ipam != nil {
		kept := map[string]any{}
		for _, k := range []string{"IPv4Address", "IPv6Address"} {
			if a, ok := ipam[k].(string); ok && a != "" {
				kept[k] = a
			}
		}
		if len(kept) > 0 {
			out["IPAMConfig"] = kept
		}
	}
	return out
}

// hostFolder reports whether src (a bind mount's source, in the script's
// container) is a folder of the host rather than of the submission, and
// gives the folder of the workspace it names when it is the submission's.
func (c *Commands) hostFolder(src string) (string, bool) {
	rel, ok := wsRel(src)
	if !ok {
		return "", true
	}
	// The workspace holds no links, and no one but grade writes it; still,
	// whatever the path resolves to must be a folder inside it.
	host := filepath.Join(c.work, filepath.FromSlash(rel))
	real, err := filepath.EvalSymlinks(host)
	root, rerr := filepath.EvalSymlinks(c.work)
	if err != nil || rerr != nil || (real != root && !strings.HasPrefix(real, root+string(filepath.Separator))) {
		return "", true
	}
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return "", true
	}
	return rel, false
}

// missing reports whether src names a path under the script's working
// folder that the submission does not have.
func (c *Commands) missing(src string) bool {
	clean := path.Clean(src)
	if !strings.HasPrefix(clean, scriptWorkdir+"/") {
		return false
	}
	_, err := os.Lstat(filepath.Join(c.work, filepath.FromSlash(strings.TrimPrefix(clean, scriptWorkdir))))
	return errors.Is(err, fs.ErrNotExist)
}

// isFile reports whether src names a regular file of the workspace.
func (c *Commands) isFile(src string) bool {
	rel, ok := wsRel(src)
	if !ok {
		return false
	}
	st, err := os.Lstat(filepath.Join(c.work, filepath.FromSlash(rel)))
	return err == nil && st.Mode().IsRegular()
}

// isDockerSocket recognises the engine's socket among bind sources.
func isDockerSocket(src string) bool {
	return strings.HasSuffix(path.Clean(src), "docker.sock") || path.Clean(src) == "/var/run" || path.Clean(src) == "/run"
}

// binds vets -v SRC:DST[:MODE]: named volumes are the job's, folders of
// the submission ($(pwd)/…) are mounted read-only from the workspace's
// volumes (workspace.go), anything else of the host is refused.
func (v *vetting) binds(hc map[string]any) {
	var out []any
	for _, b := range strs(hc["Binds"]) {
		parts := strings.Split(b, ":")
		if len(parts) < 2 {
			out = append(out, b)
			continue
		}
		src, dst := parts[0], parts[1]
		switch {
		case strings.HasPrefix(src, "/"):
			if isDockerSocket(src) {
				v.refuse("`-v %s:%s` would hand the container the Docker engine's socket, and with it the host", src, dst)
				continue
			}
			rel, outside := v.c.hostFolder(src)
			switch {
			case outside && v.c.missing(src):
				v.bad = fmt.Sprintf("`-v %s:%s`: your submission has no folder %s (here the submission is read-only, so Docker cannot make it)", src, dst, strings.TrimPrefix(path.Clean(src), scriptWorkdir+"/"))
				continue
			case outside && v.c.isFile(src):
				v.bad = fmt.Sprintf("`-v %s:%s` binds a single file; grade binds only folders of your submission: bind the folder that holds it", src, dst)
				continue
			case outside:
				v.refuse("`-v %s:%s` mounts %s, a folder of the host; here only folders of your submission ($(pwd)/…) can be bind-mounted", src, dst, src)
				continue
			}
			v.folders = append(v.folders, rel)
			out = append(out, v.c.sb.FolderVolumeName(rel)+":"+dst+":ro")
		default:
			if !studentNameRe.MatchString(src) {
				v.notFound = fmt.Sprintf("create %s: %q includes invalid characters for a local volume name", src, src)
				continue
			}
			v.volumes = append(v.volumes, src)
			parts[0] = v.c.engineName(src)
			out = append(out, strings.Join(parts, ":"))
		}
	}
	if out != nil {
		hc["Binds"] = out
	}
}

// mounts vets --mount, as binds does -v.
func (v *vetting) mounts(hc map[string]any) {
	list, _ := hc["Mounts"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		if m == nil {
			continue
		}
		typ, _ := m["Type"].(string)
		src, _ := m["Source"].(string)
		dst, _ := m["Target"].(string)
		switch typ {
		case "bind":
			if isDockerSocket(src) {
				v.refuse("`--mount type=bind,source=%s` would hand the container the Docker engine's socket, and with it the host", src)
				continue
			}
			rel, outside := v.c.hostFolder(src)
			switch {
			case outside && v.c.missing(src):
				v.bad = fmt.Sprintf("invalid mount config for type \"bind\": bind source path does not exist: %s", src)
				continue
			case outside && v.c.isFile(src):
				v.bad = fmt.Sprintf("`--mount type=bind,source=%s` binds a single file; grade binds only folders of your submission: bind the folder that holds it", src)
				continue
			case outside:
				v.refuse("`--mount type=bind,source=%s,target=%s` mounts a folder of the host; here only folders of your submission ($(pwd)/…) can be bind-mounted", src, dst)
				continue
			}
			v.folders = append(v.folders, rel)
			m["Type"], m["Source"], m["ReadOnly"] = "volume", v.c.sb.FolderVolumeName(rel), true
			delete(m, "BindOptions")
		case "volume":
			if vo, _ := m["VolumeOptions"].(map[string]any); vo != nil && set(vo["DriverConfig"]) {
				v.refuse("`--mount volume-driver=…/volume-opt=…` can mount a folder of the host through the volume's driver")
				continue
			}
			if src != "" {
				if !studentNameRe.MatchString(src) {
					v.notFound = fmt.Sprintf("invalid volume name %q", src)
					continue
				}
				v.volumes = append(v.volumes, src)
				m["Source"] = v.c.engineName(src)
			}
			if vo, _ := m["VolumeOptions"].(map[string]any); vo != nil {
				if l, ok := vo["Labels"].(map[string]any); ok {
					vo["Labels"] = studentLabels(l)
				}
			}
		case "tmpfs":
			v.tmpfsMount(m, dst)
		default:
			v.refuse("`--mount type=%s` is not allowed in this exercise", typ)
		}
	}
}

// publish records -p HOST:CONTAINER and takes it from the engine, which
// publishes nothing: grade reaches the container's port from its helper.
func (v *vetting) publish(hc map[string]any) {
	pb, _ := hc["PortBindings"].(map[string]any)
	keys := make([]string, 0, len(pb))
	for k := range pb {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rewritten := map[string]any{}
	for _, k := range keys {
		port, proto, _ := strings.Cut(k, "/")
		if proto == "" {
			proto = "tcp"
		}
		cport, err := strconv.Atoi(port)
		if err != nil {
			continue
		}
		bindings, _ := pb[k].([]any)
		for _, b := range bindings {
			m, _ := b.(map[string]any)
			hp, _ := m["HostPort"].(string)
			first, _, _ := strings.Cut(hp, "-")
			n, _ := strconv.Atoi(first)
			v.ports = append(v.ports, checks.PortBinding{HostPort: n, ContainerPort: cport, Proto: proto})
		}
	}
	hc["PortBindings"] = rewritten
	hc["PublishAllPorts"] = false
}

// hasNetwork reports whether the student made a network of that name.
func (c *Commands) hasNetwork(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.networks[name]
}

// ensureDefault makes the job's copy of Docker's default network.
func (c *Commands) ensureDefault(ctx context.Context) error {
	if err := c.makeNetwork(ctx, defaultNetwork); err != nil && !errors.Is(err, errExists) {
		return err
	}
	return nil
}

// What one job's commands may make, at most, over the whole job: enough
// for any exercise, and a script that loops over docker run cannot
// multiply its limits or use up the engine's address pools.
const (
	maxCmdContainers = 20
	maxCmdNetworks   = 5
	maxCmdVolumes    = 10
)

var errExists = errors.New("already exists")

// capError is a job's commands reaching one of the caps above.
type capError struct{ what string }

func (e *capError) Error() string {
	return "grade lets the commands of one exercise make at most " + e.what
}

// makeNetwork makes a bridge network of the job (internal, no way out,
// with a local engine unless the scenario lets it out), once: errExists
// when the job has it.
func (c *Commands) makeNetwork(ctx context.Context, name string) error {
	c.makeMu.Lock()
	defer c.makeMu.Unlock()
	c.mu.Lock()
	exists, made := c.networks[name], c.made.networks
	c.mu.Unlock()
	switch {
	case exists:
		return errExists
	case made >= maxCmdNetworks:
		return &capError{what: fmt.Sprintf("%d networks", maxCmdNetworks)}
	}
	mctx, release := making(ctx)
	defer release()
	if _, err := c.eng.NetworkCreate(mctx, c.engineName(name), c.sb.NetworkOptions()); err != nil {
		return fmt.Errorf("creating the network %s of %s: %w", name, c.sb.Name(), err)
	}
	c.mu.Lock()
	c.networks[name] = true
	c.made.networks++
	c.mu.Unlock()
	return nil
}

// ensureVolume makes a named volume the first time a docker run names it,
// as the engine would, with the job's labels.
func (c *Commands) ensureVolume(ctx context.Context, name string) error {
	c.makeMu.Lock()
	defer c.makeMu.Unlock()
	c.mu.Lock()
	exists, made := c.volumes[name], c.made.volumes
	c.mu.Unlock()
	switch {
	case exists:
		return nil
	case made >= maxCmdVolumes:
		return &capError{what: fmt.Sprintf("%d volumes", maxCmdVolumes)}
	}
	mctx, release := making(ctx)
	defer release()
	if _, err := c.eng.VolumeCreate(mctx, c.sb.VolumeOptions(c.engineName(name))); err != nil {
		return fmt.Errorf("creating the volume %s of %s: %w", name, c.sb.Name(), err)
	}
	c.mu.Lock()
	c.made.volumes++
	c.volumes[name] = true
	c.mu.Unlock()
	return nil
}

// volume handles docker volume create/ls/inspect/rm.
func (c *Commands) volume(w http.ResponseWriter, r *http.Request, prefix string, segs []string) {
	m := r.Method
	switch {
	case len(segs) == 1 && m == http.MethodGet:
		c.listVolumes(w, r, prefix)
	case len(segs) == 2 && segs[1] == "create" && m == http.MethodPost:
		body, err := readJSON(r)
		if err != nil {
			writeAPIError(w, http.StatusBadRequest, "grade: "+err.Error())
			return
		}
		name, _ := body["Name"].(string)
		cmd := "docker volume create " + name
		if d, _ := body["Driver"].(string); d != "" && d != "local" {
			c.g.refuse(w, cmd, fmt.Sprintf("`--driver %s` would use a volume plugin of the host; use the local driver", d))
			return
		}
		if set(body["DriverOpts"]) {
			c.g.refuse(w, cmd, "`--opt` (type=none,o=bind,device=…) can mount a folder of the host as a volume; make a plain volume")
			return
		}
		if name == "" {
			name = "vol-" + randomHex(6)
		}
		if !studentNameRe.MatchString(name) {
			writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("create %s: %q includes invalid characters for a local volume name", name, name))
			return
		}
		if err := c.ensureVolume(r.Context(), name); err != nil {
			c.makeFailed(w, cmd, err)
			return
		}
		res, err := c.eng.VolumeInspect(r.Context(), c.engineName(name), client.VolumeInspectOptions{})
		if err != nil {
			writeAPIError(w, http.StatusBadGateway, "grade: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(c.toStudent(res.Raw))
	case len(segs) == 2 && segs[1] == "prune":
		c.g.refuse(w, "docker volume prune", "not in this exercise: remove a volume by its name (docker volume rm NAME)")
	case len(segs) == 2 && (m == http.MethodGet || m == http.MethodDelete):
		name := segs[1]
		c.mu.Lock()
		ok := c.volumes[name]
		c.mu.Unlock()
		if !ok {
			writeAPIError(w, http.StatusNotFound, "get "+name+": no such volume")
			return
		}
		if m == http.MethodGet {
			c.proxy(w, r, prefix+"/volumes/"+c.engineName(name), url.Values{}, true)
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		c.proxy(rec, r, prefix+"/volumes/"+c.engineName(name), nil, true)
		if rec.status/100 == 2 {
			c.mu.Lock()
			delete(c.volumes, name)
			c.mu.Unlock()
		}
	default:
		c.g.refuse(w, describeCall(r, "/"+strings.Join(segs, "/")), "not in this exercise")
	}
}

// network handles docker network create/ls/inspect/rm/connect/disconnect.
func (c *Commands) network(w http.ResponseWriter, r *http.Request, prefix string, segs []string) {
	m := r.Method
	switch {
	case len(segs) == 1 && m == http.MethodGet:
		c.list(w, r, prefix, "/networks")
	case len(segs) == 2 && segs[1] == "create" && m == http.MethodPost:
		c.networkCreate(w, r, prefix)
	case len(segs) == 2 && segs[1] == "prune":
		c.g.refuse(w, "docker network prune", "not in this exercise: remove a network by its name (docker network rm NAME)")
	case len(segs) >= 2:
		name := segs[1]
		if name == "host" || name == "none" {
			writeAPIError(w, http.StatusForbidden, fmt.Sprintf("grade: the network %s is the host's; in this exercise your commands see only the networks they make, and bridge", name))
			return
		}
		if name == defaultNetwork || name == "default" {
			name = defaultNetwork
			if err := c.ensureDefault(r.Context()); err != nil {
				writeAPIError(w, http.StatusBadGateway, "grade: "+err.Error())
				return
			}
		}
		if !c.hasNetwork(name) {
			writeAPIError(w, http.StatusNotFound, "network "+name+" not found")
			return
		}
		p := prefix + "/networks/" + c.engineName(name)
		switch {
		case len(segs) == 2 && m == http.MethodGet:
			c.proxy(w, r, p, nil, true)
		case len(segs) == 2 && m == http.MethodDelete:
			if name == defaultNetwork {
				writeAPIError(w, http.StatusForbidden, "bridge is a pre-defined network and cannot be removed")
				return
			}
			rec := &statusRecorder{ResponseWriter: w}
			c.proxy(rec, r, p, nil, true)
			if rec.status/100 == 2 {
				c.mu.Lock()
				delete(c.networks, name)
				c.mu.Unlock()
			}
		case len(segs) == 3 && m == http.MethodPost && (segs[2] == "connect" || segs[2] == "disconnect"):
			c.connect(w, r, p, name, segs[2])
		default:
			writeAPIError(w, http.StatusNotFound, "page not found")
		}
	default:
		writeAPIError(w, http.StatusNotFound, "page not found")
	}
}

// networkCreate handles docker network create: a plain bridge of the job.
func (c *Commands) networkCreate(w http.ResponseWriter, r *http.Request, prefix string) {
	body, err := readJSON(r)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "grade: "+err.Error())
		return
	}
	name, _ := body["Name"].(string)
	cmd := "docker network create " + name
	var refused []string
	if d, _ := body["Driver"].(string); d != "" && d != "bridge" {
		refused = append(refused, fmt.Sprintf("`--driver %s`: only bridge networks here", d))
	}
	if set(body["Options"]) {
		refused = append(refused, "`-o`/`--opt` changes the host's network settings (its bridge, its firewall)")
	}
	if ipam, _ := body["IPAM"].(map[string]any); ipam != nil && (set(ipam["Config"]) || set(ipam["Options"]) || (ipam["Driver"] != nil && ipam["Driver"] != "default" && ipam["Driver"] != "")) {
		refused = append(refused, "`--subnet`/`--gateway`/`--ip-range` can clash with the host's own networks; let Docker choose")
	}
	for _, k := range []string{"Ingress", "ConfigFrom", "ConfigOnly", "Scope"} {
		if set(body[k]) && (k != "Scope" || body[k] != "local") {
			refused = append(refused, fmt.Sprintf("the option behind %s is not allowed in this exercise", k))
		}
	}
	if len(refused) > 0 {
		c.g.refuse(w, cmd, strings.Join(refused, "; "))
		return
	}
	switch {
	case name == "":
		writeAPIError(w, http.StatusBadRequest, "network name must not be empty")
		return
	case name == "host" || name == "none" || name == defaultNetwork || name == "default":
		writeAPIError(w, http.StatusForbidden, fmt.Sprintf("operation is not permitted on predefined %s network ", name))
		return
	case !studentNameRe.MatchString(name):
		writeAPIError(w, http.StatusBadRequest, "invalid network name "+name)
		return
	}
	var ce *capError
	switch err := c.makeNetwork(r.Context(), name); {
	case errors.Is(err, errExists):
		writeAPIError(w, http.StatusConflict, fmt.Sprintf("network with name %s already exists", name))
		return
	case errors.As(err, &ce):
		c.g.refuse(w, cmd, ce.Error())
		return
	case err != nil:
		writeAPIError(w, http.StatusBadGateway, "grade: "+err.Error())
		return
	}
	ins, err := c.eng.NetworkInspect(r.Context(), c.engineName(name), networkInspect)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	id := ""
	if err == nil {
		id = ins.Network.ID
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"Id": id, "Warning": ""})
}

// connect handles docker network connect/disconnect.
func (c *Commands) connect(w http.ResponseWriter, r *http.Request, p, network, op string) {
	body, err := readJSON(r)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "grade: "+err.Error())
		return
	}
	ref, _ := body["Container"].(string)
	name, k := c.container(ref)
	if k == nil {
		writeAPIError(w, http.StatusNotFound, "No such container: "+ref)
		return
	}
	out := map[string]any{"Container": k.ID}
	if op == "connect" {
		ep, _ := body["EndpointConfig"].(map[string]any)
		if ep == nil {
			ep = map[string]any{}
		}
		if set(ep["Links"]) {
			c.g.refuse(w, "docker network connect --link", "use the container's name instead")
			return
		}
		aliases := strs(ep["Aliases"])
		if network == defaultNetwork {
			if len(aliases) > 0 {
				writeAPIError(w, http.StatusBadRequest, "network-scoped alias is supported only for containers in user defined networks")
				return
			}
		} else {
			aliases = append(aliases, name)
		}
		out["EndpointConfig"] = endpoint(ep, aliases)
	} else if f, ok := body["Force"].(bool); ok {
		out["Force"] = f
	}
	_ = setJSON(r, out)
	c.proxy(w, r, p+"/"+op, nil, true)
}

// errNoObject says the student's commands made no object of that name.
func (c *Commands) errNoObject(what, name string) error {
	e := &checks.NotMadeError{What: what, Name: name}
	if c != nil {
		e.Refused = c.g.Refusals()
		if what == "container" {
			c.mu.Lock()
			e.Failed = c.failed[name]
			c.mu.Unlock()
		}
	}
	return e
}

// making is the context a network or volume is made in: never cut off by
// the call's (a creation interrupted mid-way may still complete on the
// engine after the job's clean-up looked), bounded by a minute.
func making(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
}

var (
	clientInspect  = client.ContainerInspectOptions{}
	networkInspect = client.NetworkInspectOptions{}
)

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
