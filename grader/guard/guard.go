// Package guard stands in for the Docker engine's API for a student's
// script of docker commands: the registry step (guard.go) and submissions
// of docker commands (commands.go). It takes the engine and the job's
// sandbox as small interfaces and knows nothing of grade's engine package.
package guard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"

	"github.com/gradeproject/grade/checks"
)

// Guard stands in for the Docker engine's API for a student's script of
// docker commands (the registry step, course 8.3). It answers on a unix
// socket grade serves and forwards to the engine only the calls the step
// needs, rewritten: the image built from the submission, known to the
// script by the exercise's name (my-app:1.0), may be tagged, inspected,
// listed and untagged; names under the exercise's registry address
// (localhost:5000/…) become tags under the job's own registry
// (127.0.0.1:PORT/…) and may be pushed there; login is passed on for that
// registry only. Everything else (containers, builds, pulls, volumes,
// networks, other registries, Docker Hub) is refused with HTTP 403 and a
// message the docker CLI prints ("Error response from daemon: grade: …"),
// and each refusal is recorded for the student's feedback.
//
// Names the script gives the image outside the registry (docker tag my-app:1.0
// alice/my-app) are kept by the guard alone: no tag the student chooses
// ever lands on the engine outside the job's registry namespace, so a script
// cannot retag a base image or another job's image.
type Guard struct {
	cfg Config

	mu        sync.Mutex
	imageName string // the student's name of the job's image, with its tag ("my-app:1.0")
	registry  string // the registry address the script pushes to ("localhost:5000")
	nameGone  bool   // the script untagged imageName
	aliases   map[string]bool
	tags      map[string]bool // engine references made under cfg.registryAt, with tag
	pending   map[string]int  // tags being made on the engine, by reference: counted against maxTags
	refused   []checks.Refusal
	dropped   int    // refusals past maxRefusals
	total     int    // refusals ever
	imageID   string // the job's image id, once asked

	// cmds, when set, makes the guard serve a submission of docker
	// commands (commands.go) instead of the registry step.
	cmds *Commands
}

// Config says where a guard forwards and what is the job's.
type Config struct {
	// Upstream reaches the engine; Base is the engine's URL for it
	// ("http://docker" over a unix socket dialer).
	Upstream http.RoundTripper
	Base     string
	// Image is the job's image on the engine (its tag).
	Image string
	// RegistryAt is the job's registry, "127.0.0.1:PORT".
	RegistryAt string
}

// maxRefusals is how many refusals a guard keeps for feedback.
const maxRefusals = 20

// maxTags is how many names under the registry a script may give the image.
const maxTags = 50

// maxGuardBody caps a request body the guard reads (login, container create).
const maxGuardBody = 1 << 20

// Serve serves g on ln (the guard's socket, relayed by the session's
// helper). Closing the server is the caller's.
func (g *Guard) Serve(ln net.Listener) *http.Server {
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() { _ = srv.Serve(ln) }()
	return srv
}

// New makes a guard serving the registry step, until NewCommands gives it
// a submission of docker commands.
func New(cfg Config) *Guard {
	return &Guard{cfg: cfg, aliases: map[string]bool{}, tags: map[string]bool{}, pending: map[string]int{}}
}

// Commands is the submission of docker commands g serves, nil for the
// registry step.
func (g *Guard) Commands() *Commands { return g.cmds }

// SetNames sets the names of the exercise: the image's name as the script
// knows it and the registry address it pushes to.
func (g *Guard) SetNames(imageName, registry string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n, err := parseName(imageName); err == nil {
		imageName = reference.FamiliarString(n)
	}
	if imageName != g.imageName || registry != g.registry {
		g.aliases = map[string]bool{}
		g.nameGone = false
	}
	g.imageName, g.registry = imageName, registry
}

// TakeRefused returns the refusals recorded since the last call.
func (g *Guard) TakeRefused() []checks.Refusal {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.refused
	if g.dropped > 0 {
		out = append(out, checks.Refusal{Command: fmt.Sprintf("%d more calls", g.dropped), Why: "refused as well"})
	}
	g.refused, g.dropped = nil, 0
	return out
}

// Refusals counts the calls the guard ever refused.
func (g *Guard) Refusals() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// EngineTags lists the references the guard made on the engine.
func (g *Guard) EngineTags() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.tags))
	for t := range g.tags {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

var versionPrefixRe = regexp.MustCompile(`^/v[0-9]+\.[0-9]+`)

// minAPIVersion is the oldest API version the guard serves.
const minAPIVersion = "1.24"

// tooOld reports whether a version prefix ("/v1.23") is below minAPIVersion.
func tooOld(prefix string) bool {
	if prefix == "" {
		return false
	}
	major, minor, _ := strings.Cut(strings.TrimPrefix(prefix, "/v"), ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	return err1 != nil || err2 != nil || ma < 1 || (ma == 1 && mi < 24)
}

// ServeHTTP routes one API call.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	prefix := versionPrefixRe.FindString(p)
	p = strings.TrimPrefix(p, prefix)
	if tooOld(prefix) {
		// Before 1.24 the engine takes a HostConfig on start, past every
		// check the guard makes on create.
		writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version",
			strings.TrimPrefix(prefix, "/v"), minAPIVersion))
		return
	}
	if p == "" {
		p = "/"
	}
	q := r.URL.Query()
	switch {
	case p == "/_ping" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		g.forward(w, r, prefix+p)
	case p == "/version" && r.Method == http.MethodGet:
		g.forward(w, r, prefix+p)
	case p == "/info" && r.Method == http.MethodGet:
		g.info(w)
	case g.cmds != nil:
		g.cmds.serve(w, r, prefix, p)
	case p == "/auth" && r.Method == http.MethodPost:
		g.login(w, r, prefix)
	case p == "/images/json" && r.Method == http.MethodGet:
		g.list(w, r, prefix)
	case strings.HasPrefix(p, "/images/") && r.Method == http.MethodDelete:
		g.remove(w, r, prefix, strings.TrimPrefix(p, "/images/"))
	case strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/json") && r.Method == http.MethodGet:
		g.inspect(w, r, prefix, strings.TrimSuffix(strings.TrimPrefix(p, "/images/"), "/json"))
	case strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/tag") && r.Method == http.MethodPost:
		g.tag(w, r, prefix, strings.TrimSuffix(strings.TrimPrefix(p, "/images/"), "/tag"), q)
	case strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/push") && r.Method == http.MethodPost:
		g.push(w, r, prefix, strings.TrimSuffix(strings.TrimPrefix(p, "/images/"), "/push"), q.Get("tag"))
	default:
		imageName, registry := g.Names()
		g.refuse(w, describeCall(r, p), fmt.Sprintf("here the docker CLI may only tag, push, inspect, list and remove the image %s and log in to %s",
			imageName, registry))
	}
}

// Names returns the exercise's names for messages.
func (g *Guard) Names() (string, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.imageName, g.registry
}

// maxCommand is the longest command a refusal shows, in runes: a raw API
// call can name anything.
const maxCommand = 200

// shortCommand cuts a command to maxCommand runes.
func shortCommand(s string) string {
	r := []rune(s)
	if len(r) <= maxCommand {
		return s
	}
	return string(r[:maxCommand]) + "…"
}

// refuse answers 403 with the CLI-printed message and records the refusal.
func (g *Guard) refuse(w http.ResponseWriter, cmd, why string) {
	cmd = shortCommand(cmd)
	g.mu.Lock()
	g.total++
	if len(g.refused) < maxRefusals {
		g.refused = append(g.refused, checks.Refusal{Command: cmd, Why: why})
	} else {
		g.dropped++
	}
	g.mu.Unlock()
	writeAPIError(w, http.StatusForbidden, fmt.Sprintf("grade: `%s` is not allowed in this exercise: %s", cmd, why))
}

// writeAPIError answers like the engine does: {"message": …}.
func writeAPIError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// parseName parses an image reference as the docker CLI does, tag
// defaulting to latest.
func parseName(s string) (reference.Named, error) {
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, err
	}
	return reference.TagNameOnly(n), nil
}

var idRe = regexp.MustCompile(`^(?:sha256:)?([0-9a-f]{12,64})$`)

// resolve maps a name the script uses for an image to the engine's
// reference; ok is false when the script has no image of that name.
func (g *Guard) resolve(r *http.Request, s string) (string, bool) {
	if m := idRe.FindStringSubmatch(s); m != nil {
		id := g.jobImageID(r)
		return g.cfg.Image, id != "" && strings.HasPrefix(strings.TrimPrefix(id, "sha256:"), m[1])
	}
	n, err := parseName(s)
	if err != nil {
		return "", false
	}
	if _, digested := n.(reference.Digested); digested {
		return "", false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if reference.Domain(n) == g.registry {
		ref := g.cfg.RegistryAt + "/" + reference.Path(n) + ":" + n.(reference.Tagged).Tag()
		return ref, g.tags[ref]
	}
	fam := reference.FamiliarString(n)
	if (fam == g.imageName && !g.nameGone) || g.aliases[fam] {
		return g.cfg.Image, true
	}
	return "", false
}

// jobImageID asks the engine for the id of the job's image, once.
func (g *Guard) jobImageID(r *http.Request) string {
	g.mu.Lock()
	id := g.imageID
	g.mu.Unlock()
	if id != "" {
		return id
	}
	resp, err := g.upstream(r, http.MethodGet, "/images/"+g.cfg.Image+"/json", nil, nil, nil)
	if err != nil {
		return ""
	}
	defer func() { _ = resp.Body.Close() }()
	var ins struct{ ID string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, maxGuardBody)).Decode(&ins) != nil {
		return ""
	}
	g.mu.Lock()
	g.imageID = ins.ID
	g.mu.Unlock()
	return ins.ID
}

// noSuchImage answers as the engine does for a name it does not know,
// naming the exercise's image.
func (g *Guard) noSuchImage(w http.ResponseWriter, s string) {
	name, _ := g.Names()
	writeAPIError(w, http.StatusNotFound, fmt.Sprintf("No such image: %s (grade: in this exercise the image built from your Dockerfile is %s)", s, name))
}

// tag handles docker tag SOURCE TARGET.
func (g *Guard) tag(w http.ResponseWriter, r *http.Request, prefix, src string, q url.Values) {
	if _, ok := g.resolve(r, src); !ok {
		g.noSuchImage(w, src)
		return
	}
	target := q.Get("repo")
	if t := q.Get("tag"); t != "" {
		target += ":" + t
	}
	n, err := parseName(target)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid reference format: "+err.Error())
		return
	}
	if _, digested := n.(reference.Digested); digested {
		writeAPIError(w, http.StatusBadRequest, "refusing to create a tag with a digest reference")
		return
	}
	g.mu.Lock()
	underRegistry := reference.Domain(n) == g.registry
	g.mu.Unlock()
	if !underRegistry {
		// A name outside the exercise's registry: the guard keeps it, the
		// engine never sees it.
		fam := reference.FamiliarString(n)
		g.mu.Lock()
		if fam == g.imageName {
			g.nameGone = false
		} else {
			g.aliases[fam] = true
		}
		g.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		return
	}
	tag := n.(reference.Tagged).Tag()
	repo := g.cfg.RegistryAt + "/" + reference.Path(n)
	ref := repo + ":" + tag
	if !g.reserveTag(ref) {
		g.refuse(w, "docker tag "+src+" "+reference.FamiliarString(n), fmt.Sprintf("the image already has %d names under %s, as many as this exercise allows", maxTags, reference.Domain(n)))
		return
	}
	uq := url.Values{"repo": {repo}, "tag": {tag}}
	resp, err := g.upstream(r, http.MethodPost, prefix+"/images/"+g.cfg.Image+"/tag", uq, nil, nil)
	if err != nil {
		g.settleTag(ref, false)
		writeAPIError(w, http.StatusBadGateway, "grade: the engine did not answer: "+err.Error())
		return
	}
	defer func() { _ = resp.Body.Close() }()
	g.settleTag(ref, resp.StatusCode/100 == 2)
	g.relay(w, resp)
}

// reserveTag counts ref against maxTags before the engine is asked to make
// it, so that parallel calls cannot pass the cap together; false when the
// cap is reached. settleTag ends the reservation.
func (g *Guard) reserveTag(ref string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.tags[ref] && g.pending[ref] == 0 {
		n := len(g.tags)
		for p := range g.pending {
			if !g.tags[p] {
				n++
			}
		}
		if n >= maxTags {
			return false
		}
	}
	g.pending[ref]++
	return true
}

// settleTag ends a reservation of reserveTag: made says whether the engine
// made the tag.
func (g *Guard) settleTag(ref string, made bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending[ref]--; g.pending[ref] <= 0 {
		delete(g.pending, ref)
	}
	if made {
		g.tags[ref] = true
	}
}

// push handles docker push NAME[:TAG]: only to the exercise's registry.
func (g *Guard) push(w http.ResponseWriter, r *http.Request, prefix, name, tag string) {
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid reference format: "+err.Error())
		return
	}
	shown := reference.FamiliarName(n)
	if tag != "" {
		shown += ":" + tag
	}
	cmd := "docker push " + shown
	imageName, registry := g.Names()
	if dom := reference.Domain(n); dom != registry {
		where := dom
		if dom == "docker.io" {
			where = "Docker Hub (the name has no registry address in front)"
		}
		suggest := registry + "/" + reference.Path(n)
		if strings.HasPrefix(reference.Path(n), "library/") {
			suggest = registry + "/" + strings.TrimPrefix(reference.Path(n), "library/")
		}
		if tag != "" {
			suggest += ":" + tag
		}
		g.refuse(w, cmd, fmt.Sprintf("it pushes to %s; in this exercise push to %s: docker tag %s %s, then docker push %s",
			where, registry, imageName, suggest, suggest))
		return
	}
	repo := g.cfg.RegistryAt + "/" + reference.Path(n)
	if !g.hasTag(repo, tag) {
		writeAPIError(w, http.StatusNotFound, "An image does not exist locally with the tag: "+reference.FamiliarName(n))
		return
	}
	h := http.Header{}
	if a := r.Header.Get("X-Registry-Auth"); a != "" {
		h.Set("X-Registry-Auth", a)
	}
	uq := url.Values{}
	if tag != "" {
		uq.Set("tag", tag)
	}
	resp, err := g.upstream(r, http.MethodPost, prefix+"/images/"+repo+"/push", uq, nil, h)
	if err != nil {
		writeAPIError(w, http.StatusBadGateway, "grade: the engine did not answer: "+err.Error())
		return
	}
	defer func() { _ = resp.Body.Close() }()
	g.relay(w, resp)
}

// hasTag reports whether the guard made repo:tag (any tag of repo when tag
// is empty).
func (g *Guard) hasTag(repo, tag string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if tag != "" {
		return g.tags[repo+":"+tag]
	}
	for t := range g.tags {
		if strings.HasPrefix(t, repo+":") {
			return true
		}
	}
	return false
}

// remove handles docker rmi NAME: untagging only; the job's image itself stays.
func (g *Guard) remove(w http.ResponseWriter, r *http.Request, prefix, name string) {
	if idRe.MatchString(name) {
		if _, ok := g.resolve(r, name); ok {
			imageName, registry := g.Names()
			g.refuse(w, "docker rmi "+name, fmt.Sprintf("it would remove the image grade built, which grade still needs; remove a name instead, e.g. docker rmi %s/%s",
				registry, imageName))
			return
		}
		g.noSuchImage(w, name)
		return
	}
	ref, ok := g.resolve(r, name)
	if !ok {
		g.noSuchImage(w, name)
		return
	}
	n, _ := parseName(name)
	fam := reference.FamiliarString(n)
	if ref != g.cfg.Image {
		resp, err := g.upstream(r, http.MethodDelete, prefix+"/images/"+ref, url.Values{"noprune": {"1"}}, nil, nil)
		if err != nil {
			writeAPIError(w, http.StatusBadGateway, "grade: the engine did not answer: "+err.Error())
			return
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode/100 == 2 {
			g.mu.Lock()
			delete(g.tags, ref)
			g.mu.Unlock()
		}
		g.relay(w, resp)
		return
	}
	g.mu.Lock()
	if fam == g.imageName {
		g.nameGone = true
	}
	delete(g.aliases, fam)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode([]map[string]string{{"Untagged": fam}})
}

// inspect handles docker image inspect NAME.
func (g *Guard) inspect(w http.ResponseWriter, r *http.Request, prefix, name string) {
	ref, ok := g.resolve(r, name)
	if !ok {
		g.noSuchImage(w, name)
		return
	}
	resp, err := g.upstream(r, http.MethodGet, prefix+"/images/"+ref+"/json", nil, nil, nil)
	if err != nil {
		writeAPIError(w, http.StatusBadGateway, "grade: the engine did not answer: "+err.Error())
		return
	}
	defer func() { _ = resp.Body.Close() }()
	g.relayJSON(w, resp, func(v any) any { return g.studentImage(v) })
}

// list handles docker images: the job's images only, under the script's names.
func (g *Guard) list(w http.ResponseWriter, r *http.Request, prefix string) {
	// Only the job's image (its other names are tags of the same image).
	filters, _ := json.Marshal(map[string][]string{"reference": {g.cfg.Image}})
	resp, err := g.upstream(r, http.MethodGet, prefix+"/images/json", url.Values{"filters": {string(filters)}}, nil, nil)
	if err != nil {
		writeAPIError(w, http.StatusBadGateway, "grade: the engine did not answer: "+err.Error())
		return
	}
	defer func() { _ = resp.Body.Close() }()
	g.relayJSON(w, resp, func(v any) any {
		list, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, 0, len(list))
		for _, item := range list {
			m := g.studentImage(item)
			if tags, _ := m.(map[string]any)["RepoTags"].([]any); len(tags) > 0 {
				out = append(out, m)
			}
		}
		return out
	})
}

// studentImage rewrites an image's inspect or list entry into what the
// script should see: its own names, no grade labels.
func (g *Guard) studentImage(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	g.mu.Lock()
	var tags []any
	if !g.nameGone && g.imageName != "" {
		tags = append(tags, g.imageName)
	}
	aliases := make([]string, 0, len(g.aliases))
	for a := range g.aliases {
		aliases = append(aliases, a)
	}
	g.mu.Unlock()
	sort.Strings(aliases)
	for _, a := range aliases {
		tags = append(tags, a)
	}
	rp := g.toStudent()
	if upstream, ok := m["RepoTags"].([]any); ok {
		for _, t := range upstream {
			if s, ok := t.(string); ok && strings.HasPrefix(s, g.cfg.RegistryAt+"/") {
				tags = append(tags, rp.Replace(s))
			}
		}
	}
	if tags == nil {
		tags = []any{}
	}
	m["RepoTags"] = tags
	if digests, ok := m["RepoDigests"].([]any); ok {
		kept := []any{}
		for _, d := range digests {
			if s, ok := d.(string); ok && strings.HasPrefix(s, g.cfg.RegistryAt+"/") {
				kept = append(kept, rp.Replace(s))
			}
		}
		m["RepoDigests"] = kept
	}
	stripGradeLabels(m["Labels"])
	for _, k := range []string{"Config", "ContainerConfig"} {
		if c, ok := m[k].(map[string]any); ok {
			stripGradeLabels(c["Labels"])
		}
	}
	return m
}

func stripGradeLabels(v any) {
	labels, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k := range labels {
		if strings.HasPrefix(k, "grade.") {
			delete(labels, k)
		}
	}
}

// login handles docker login: passed on for the exercise's registry only.
func (g *Guard) login(w http.ResponseWriter, r *http.Request, prefix string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxGuardBody))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "reading the login request: "+err.Error())
		return
	}
	var auth map[string]any
	if err := json.Unmarshal(body, &auth); err != nil {
		writeAPIError(w, http.StatusBadRequest, "the login request is not JSON: "+err.Error())
		return
	}
	server, _ := auth["serveraddress"].(string)
	host := registryHost(server)
	_, registry := g.Names()
	if host != registry {
		cmd := "docker login"
		where := "Docker Hub"
		if !isDockerHub(host) {
			cmd += " " + server
			where = host
		}
		g.refuse(w, cmd, fmt.Sprintf("it logs in to %s; in this exercise the registry is %s: docker login %s", where, registry, registry))
		return
	}
	auth["serveraddress"] = g.cfg.RegistryAt
	fwd, _ := json.Marshal(auth)
	h := http.Header{"Content-Type": {"application/json"}}
	resp, err := g.upstream(r, http.MethodPost, prefix+"/auth", nil, bytes.NewReader(fwd), h)
	if err != nil {
		writeAPIError(w, http.StatusBadGateway, "grade: the engine did not answer: "+err.Error())
		return
	}
	defer func() { _ = resp.Body.Close() }()
	g.relay(w, resp)
}

// registryHost reduces a login server address to host[:port].
func registryHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

func isDockerHub(host string) bool {
	switch host {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		return true
	}
	return false
}

// info answers docker info with grade's own few facts: the engine's are
// not the script's business.
func (g *Guard) info(w http.ResponseWriter) {
	imageName, registry := g.Names()
	what := fmt.Sprintf("may only tag, push, inspect, list and remove the image %s and log in to %s", imageName, registry)
	if g.cmds != nil {
		what = "may run containers of this exercise's images (" + g.cmds.imageList() + ") and make volumes and networks; it sees only what it made"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ID": "grade", "Name": "grade", "OSType": "linux", "OperatingSystem": "grade's API guard",
		"Architecture": runtime.GOARCH, "IndexServerAddress": "https://index.docker.io/v1/",
		"Images": 1, "Containers": 0,
		"Warnings": []string{"grade: this is grade's stand-in for the Docker engine; in this exercise the docker CLI " + what},
	})
}

// upstream sends a call to the engine with the client's context.
func (g *Guard) upstream(r *http.Request, method, path string, q url.Values, body io.Reader, h http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(r.Context(), method, g.cfg.Base, body)
	if err != nil {
		return nil, err
	}
	req.URL.Path = path
	req.URL.RawQuery = q.Encode()
	for k, v := range h {
		req.Header[k] = v
	}
	if ua := r.Header.Get("User-Agent"); ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	return g.cfg.Upstream.RoundTrip(req)
}

// forward passes a call on as it is, without a body or query.
func (g *Guard) forward(w http.ResponseWriter, r *http.Request, path string) {
	resp, err := g.upstream(r, r.Method, path, nil, nil, nil)
	if err != nil {
		writeAPIError(w, http.StatusBadGateway, "grade: the engine did not answer: "+err.Error())
		return
	}
	defer func() { _ = resp.Body.Close() }()
	g.relay(w, resp)
}

// relayedHeaders are the engine's response headers the script sees.
var relayedHeaders = []string{"Content-Type", "Api-Version", "Docker-Experimental", "Ostype", "Server", "Builder-Version", "Cache-Control", "Pragma"}

// toStudent rewrites the engine's names into the script's.
func (g *Guard) toStudent() *strings.Replacer {
	g.mu.Lock()
	defer g.mu.Unlock()
	name := g.imageName
	if name == "" {
		name = "the image"
	}
	return strings.NewReplacer(g.cfg.RegistryAt, g.registry, g.cfg.Image, name)
}

// relay streams the engine's answer back line by line (push progress
// arrives as it happens), the engine's names rewritten into the script's.
// The caller closes the body.
func (g *Guard) relay(w http.ResponseWriter, resp *http.Response) {
	copyHeaders(w, resp)
	w.WriteHeader(resp.StatusCode)
	rp := g.toStudent()
	fl, _ := w.(http.Flusher)
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if _, werr := io.WriteString(w, rp.Replace(line)); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// relayJSON passes on a JSON answer rewritten by fn (errors as text); the
// caller closes the body.
func (g *Guard) relayJSON(w http.ResponseWriter, resp *http.Response, fn func(any) any) {
	if resp.StatusCode != http.StatusOK {
		g.relay(w, resp)
		return
	}
	var v any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8*maxGuardBody)).Decode(&v); err != nil {
		writeAPIError(w, http.StatusBadGateway, "grade: the engine's answer is not JSON: "+err.Error())
		return
	}
	out, err := json.Marshal(fn(v))
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, "grade: "+err.Error())
		return
	}
	copyHeaders(w, resp)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// copyHeaders copies the engine's relayedHeaders onto the script's answer.
func copyHeaders(w http.ResponseWriter, resp *http.Response) {
	for _, k := range relayedHeaders {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
}

// describeCall names a refused API call as the docker command that makes
// it, as far as it can be told from the call.
func describeCall(r *http.Request, p string) string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	q := r.URL.Query()
	arg := func(i int) string {
		if i < len(segs) {
			return segs[i]
		}
		return ""
	}
	switch segs[0] {
	case "containers":
		switch {
		case arg(1) == "create":
			return "docker run " + createImage(r)
		case arg(1) == "json":
			return "docker ps"
		case arg(1) == "prune":
			return "docker container prune"
		case r.Method == http.MethodDelete:
			return "docker rm " + arg(1)
		case arg(2) == "json":
			return "docker exec/inspect " + arg(1) // docker exec inspects the container first
		case arg(2) != "":
			return "docker " + arg(2) + " " + arg(1)
		}
		return "docker container …"
	case "exec":
		return "docker exec"
	case "build":
		if arg(1) == "prune" {
			return "docker builder prune"
		}
		return "docker build"
	case "session", "grpc":
		return "docker build (BuildKit)"
	case "commit":
		return "docker commit"
	case "images":
		switch {
		case arg(1) == "create" && q.Get("fromSrc") != "":
			return "docker import"
		case arg(1) == "create":
			ref := q.Get("fromImage")
			if t := q.Get("tag"); t != "" {
				ref += ":" + t
			}
			return "docker pull " + ref
		case arg(1) == "search":
			return "docker search " + q.Get("term")
		case arg(1) == "load":
			return "docker load"
		case arg(1) == "get" || arg(len(segs)-1) == "get":
			return "docker save"
		case arg(1) == "prune":
			return "docker image prune"
		case len(segs) > 2 && segs[len(segs)-1] == "history":
			return "docker history " + strings.Join(segs[1:len(segs)-1], "/")
		}
		return r.Method + " " + p
	case "volumes":
		return "docker volume …"
	case "networks":
		return "docker network …"
	case "events":
		return "docker events"
	case "system":
		return "docker system " + arg(1)
	case "swarm", "nodes", "services", "tasks", "secrets", "configs":
		return "docker " + strings.TrimSuffix(segs[0], "s") + " …"
	case "plugins":
		return "docker plugin …"
	case "distribution":
		return "docker manifest inspect " + strings.Join(segs[1:max(len(segs)-1, 1)], "/")
	}
	return r.Method + " " + p
}

// createImage reads the image a container create call names.
func createImage(r *http.Request) string {
	var c struct{ Image string }
	_ = json.NewDecoder(io.LimitReader(r.Body, maxGuardBody)).Decode(&c)
	return c.Image
}
