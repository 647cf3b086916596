package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/filesync"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"google.golang.org/protobuf/proto"

	"github.com/gradeproject/grade/checks"
)

// BuildKit builds (the engine's builder since Docker 23; built into 20.10):
// POST /build with version=2, the context served over a BuildKit session
// (filesync, as the docker CLI serves `docker build`), progress read from
// the moby.buildkit.trace messages and printed as `docker build
// --progress=plain` prints it. grade's labels go through the build's
// labels (no step of grade's shows in the log); the untagged images of the
// classic builder do not exist, and the build cache records each build
// makes are pruned at the run's end.

// Which builder builds, from GRADE_BUILDER.
const (
	BuilderClassic  = "classic"
	BuilderBuildKit = "buildkit"
	BuilderAuto     = "auto"
)

// FrontendImage is the Dockerfile frontend `make images` builds from
// moby/buildkit's module (frontend/dockerfile/cmd/dockerfile-frontend):
// when the engine has it, every BuildKit build uses it (build-arg
// BUILDKIT_SYNTAX, which also stands for a file's own `# syntax=` line), so
// that files written for today's Dockerfile syntax (heredocs, RUN --mount,
// COPY --chmod) build offline on an engine whose built-in frontend is older.
const FrontendImage = "grade/dockerfile-frontend:1"

// chooseBuilder says which builder builds on this engine, given what
// GRADE_BUILDER asks: auto (the default: BuildKit where the engine has it)
// and buildkit take BuildKit when the engine is a Linux one of API 1.39 or later (20.10
// sends no Builder-Version header unless configured to).
func chooseBuilder(want string, ping client.PingResult, osType string) (string, error) {
	switch want {
	case BuilderClassic:
		return BuilderClassic, nil
	case "", BuilderAuto, BuilderBuildKit:
	default:
		return "", &SettingError{Msg: fmt.Sprintf("GRADE_BUILDER=%s: give %s, %s or %s", want, BuilderAuto, BuilderBuildKit, BuilderClassic)}
	}
	has := ping.BuilderVersion == build.BuilderBuildKit
	if ping.BuilderVersion == "" && osType == "linux" && apiAtLeast(ping.APIVersion, 1, 39) {
		has = true
	}
	if !has {
		if want == BuilderBuildKit {
			return "", &SettingError{Msg: fmt.Sprintf("GRADE_BUILDER=buildkit, and this engine (API %s, %s) has no BuildKit: unset it, or set it to auto", ping.APIVersion, osType)}
		}
		return BuilderClassic, nil
	}
	return BuilderBuildKit, nil
}

// SettingError is a setting of grade's (an environment variable) that
// cannot be used: the user's to fix, not the engine's.
type SettingError struct{ Msg string }

func (e *SettingError) Error() string { return e.Msg }

// apiAtLeast compares an API version "1.41" with major.minor.
func apiAtLeast(v string, major, minor int) bool {
	a, b, ok := strings.Cut(v, ".")
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return false
	}
	return x > major || (x == major && y >= minor)
}

// Builder names the builder that builds the submissions.
func (e *Engine) Builder() string { return e.builder }

// frontend returns the Dockerfile frontend image BuildKit builds with when
// the engine has it, else "" (the engine's built-in one).
func (e *Engine) frontend(ctx context.Context) string {
	e.feOnce.Do(func() {
		if _, err := e.cli.ImageInspect(ctx, FrontendImage); err == nil {
			e.fe = FrontendImage
		}
	})
	return e.fe
}

// buildKitImage builds with BuildKit what buildImage prepared: the context's
// entries, the Dockerfile df (at dfRel in them), the tag and labels. Like
// buildImage, a failed build is the BuildInfo's, the error grade's.
func (j *builder) buildKitImage(ctx, bctx context.Context, spec BuildSpec, entries []entry, df []byte, tag string, start time.Time) (checks.BuildInfo, error) {
	info := checks.BuildInfo{Dockerfile: spec.Shown}
	dfRel := path.Clean(strings.ReplaceAll(spec.Dockerfile, "\\", "/"))
	var dfEntry []entry
	for _, e := range entries {
		if e.rel == dfRel {
			e.rel = path.Base(dfRel)
			dfEntry = append(dfEntry, e)
		}
	}
	// The cache records the build makes, noted once its session is closed:
	// BuildKit records the session's sources as the session ends.
	j.e.baseCache(ctx)
	before := j.e.cacheRecords(ctx)
	defer func() {
		if bctx.Err() != nil {
			// A build cut off goes on being torn down a moment longer.
			time.Sleep(lateCommit)
		}
		j.e.noteCache(before, j.e.cacheRecords(context.WithoutCancel(ctx)))
	}()
	sess, err := session.NewSession(bctx, "grade-"+j.slug)
	if err != nil {
		return info, fmt.Errorf("starting a BuildKit session for %s: %w", j.name, err)
	}
	sess.Allow(filesync.NewFSSyncProvider(filesync.StaticDirSource{
		"context":    newEntryFS(entries),
		"dockerfile": newEntryFS(dfEntry),
	}))
	dial := func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
		return j.e.cli.DialHijack(ctx, "/session", proto, meta)
	}
	go func() { _ = sess.Run(bctx, dial) }()
	defer func() { _ = sess.Close() }()

	args := map[string]*string{}
	for k, v := range spec.Args {
		args[k] = v
	}
	fe := j.e.frontend(ctx)
	if fe != "" {
		args["BUILDKIT_SYNTAX"] = &fe
	}
	opts := client.ImageBuildOptions{
		Version:       build.BuilderBuildKit,
		SessionID:     sess.ID(),
		RemoteContext: "client-session",
		BuildID:       "grade-" + j.slug + "-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Dockerfile:    path.Base(dfRel),
		Tags:          []string{tag},
		Labels:        j.e.labels(j.name),
		BuildArgs:     args,
		Target:        spec.Target,
	}
	if j.offline {
		opts.NetworkMode = "none" // the frontend's force-network-mode: every RUN
	}
	defer j.e.steps.begin(j.limits)()
	res, err := j.e.cli.ImageBuild(bctx, nil, opts)
	if err != nil {
		if bctx.Err() != nil {
			return j.buildTimedOut(ctx, info, spec.Timeout, "", "", 0, df)
		}
		return info, fmt.Errorf("building %s with BuildKit: %w", j.name, err)
	}
	defer func() { _ = res.Body.Close() }()
	tr := newTrace()
	var buildErr string
	dec := json.NewDecoder(res.Body)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			tr.close()
			if bctx.Err() != nil {
				return j.kitTimedOut(ctx, info, spec, tr, df)
			}
			return info, fmt.Errorf("reading the build of %s: %w", j.name, err)
		}
		switch {
		case m.Error != nil && m.Error.Message != "":
			buildErr = m.Error.Message
		case m.ID == "moby.buildkit.trace" && m.Aux != nil:
			var dt []byte
			var resp controlapi.StatusResponse
			if json.Unmarshal(*m.Aux, &dt) == nil && proto.Unmarshal(dt, &resp) == nil {
				tr.update(&resp)
			}
		}
	}
	tr.close()
	if errors.Is(ctx.Err(), context.Canceled) {
		return info, ctx.Err() // interrupted: no verdict
	}
	if bctx.Err() != nil {
		return j.kitTimedOut(ctx, info, spec, tr, df)
	}
	info.Log = tr.log()
	if fe != "" {
		info.Log = "grade: built with BuildKit and the Dockerfile frontend " + fe + "\n" + info.Log
	}
	info.Steps = tr.steps()
	if buildErr != "" {
		info.Error = kitError(buildErr)
		if m := secretRe.FindStringSubmatch(info.Error); m != nil {
			info.Error += fmt.Sprintf(" (RUN --mount=type=secret,id=%s needs a secret, and grade builds with none: "+
				"make the mount optional, required=false, or leave it out)", m[1])
		}
		if info.Line = parseErrorLine(info.Error); info.Line == 0 {
			info.Line = stepLine(df, tr.failed)
		}
		info.Excerpt = excerpt(df, info.Line, spec.Shown)
		info.Duration = time.Since(start)
		return info, nil
	}
	return j.builtImage(ctx, info, tag, start)
}

// kitWrapRe matches what BuildKit wraps an error in on its way out of the
// frontend and the gateway ("failed to solve with frontend dockerfile.v0:
// … rpc error: code = Unknown desc = "): not the student's business.
var kitWrapRe = regexp.MustCompile(`^(?:failed to solve(?: with frontend [^:\s]+)?: |rpc error: code = \w+ desc = )+`)

// secretRe matches BuildKit's error for a secret mount it was given no
// secret for.
var secretRe = regexp.MustCompile(`^secret (\S+) not found`)

// kitError is a BuildKit build's error as the student reads it.
func kitError(msg string) string {
	msg = kitWrapRe.ReplaceAllString(strings.TrimSpace(msg), "")
	// A heredoc's command runs over several lines: one line in a cause.
	return strings.Join(strings.Fields(msg), " ")
}

// kitTimedOut is buildTimedOut for a BuildKit build: the step running is
// the last one started and not completed.
func (j *builder) kitTimedOut(ctx context.Context, info checks.BuildInfo, spec BuildSpec, tr *trace, df []byte) (checks.BuildInfo, error) {
	name := tr.running()
	instr := name
	if m := vertexStepRe.FindStringSubmatch(name); m != nil {
		instr = m[4]
	}
	return j.buildTimedOut(ctx, info, spec.Timeout, tr.log(), instr, stepLine(df, name), df)
}

// trace follows a BuildKit build's progress: the plain log a student knows
// from `docker build --progress=plain` (progressui's plain mode, capped),
// and, from the vertexes themselves (never from the log, which a RUN can
// imitate), the step that failed and which steps came from the cache.
type trace struct {
	ch   chan *bkclient.SolveStatus
	done chan struct{}
	buf  cappedBuffer

	mu     sync.Mutex
	order  []string
	vtx    map[string]*controlapi.Vertex
	failed string // the name of the first vertex with an error
}

func newTrace() *trace {
	t := &trace{ch: make(chan *bkclient.SolveStatus, 16), done: make(chan struct{}), vtx: map[string]*controlapi.Vertex{},
		buf: cappedBuffer{limit: buildLogLimit}}
	go func() {
		defer close(t.done)
		d, err := progressui.NewDisplay(&t.buf, progressui.PlainMode)
		if err != nil {
			for range t.ch {
			}
			return
		}
		_, _ = d.UpdateFrom(context.Background(), t.ch)
		for range t.ch { // what the display stopped taking
		}
	}()
	return t
}

func (t *trace) update(r *controlapi.StatusResponse) {
	t.mu.Lock()
	for _, v := range r.Vertexes {
		if _, ok := t.vtx[v.Digest]; !ok {
			t.order = append(t.order, v.Digest)
		}
		t.vtx[v.Digest] = v
		if v.Error != "" && t.failed == "" {
			t.failed = v.Name
		}
	}
	t.mu.Unlock()
	t.ch <- bkclient.NewSolveStatus(r)
}

// close ends the display; log is complete after it.
func (t *trace) close() {
	select {
	case <-t.done:
		return
	default:
	}
	close(t.ch)
	<-t.done
}

// running names the last Dockerfile step that started and did not end.
func (t *trace) running() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.order) - 1; i >= 0; i-- {
		v := t.vtx[t.order[i]]
		if v.Started != nil && v.Completed == nil && vertexStepRe.MatchString(v.Name) {
			return v.Name
		}
	}
	return ""
}

func (t *trace) log() string { return kitLog(t.buf.String()) }

// kitLog is a BuildKit plain log as the student reads it: no terminal
// codes, and not grade's own steps (fetching the Dockerfile frontend grade
// builds with, which the log's first line names).
func kitLog(log string) string {
	blocks := strings.Split(ansiRe.ReplaceAllString(log, ""), "\n\n")
	out := blocks[:0]
	for _, b := range blocks {
		first, _, _ := strings.Cut(b, "\n")
		if strings.Contains(first, "/"+FrontendImage) && strings.HasPrefix(first, "#") {
			continue
		}
		out = append(out, b)
	}
	return strings.Join(out, "\n\n")
}

// stepRe matches a Dockerfile step's vertex: "[2/5] RUN …", "[build 1/3] …".
var vertexStepRe = regexp.MustCompile(`^\[(?:(\S+) )?(\d+)/(\d+)\] (.*)$`)

// steps lists the Dockerfile's steps the build ran, in order, each cached
// when BuildKit took it from its cache (the FROM steps, which only name
// the base, are left out).
func (t *trace) steps() []checks.BuildStep {
	t.mu.Lock()
	defer t.mu.Unlock()
	type step struct {
		stage string
		n     int
		s     checks.BuildStep
	}
	var out []step
	for _, d := range t.order {
		v := t.vtx[d]
		m := vertexStepRe.FindStringSubmatch(v.Name)
		if m == nil || strings.HasPrefix(strings.ToUpper(m[4]), "FROM ") {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		out = append(out, step{m[1], n, checks.BuildStep{Instruction: m[4], Cached: v.Cached}})
	}
	// In step order within each stage, the stages as they first appear.
	stages := map[string]int{}
	for _, st := range out {
		if _, ok := stages[st.stage]; !ok {
			stages[st.stage] = len(stages)
		}
	}
	sort.SliceStable(out, func(i, k int) bool {
		if a, b := stages[out[i].stage], stages[out[k].stage]; a != b {
			return a < b
		}
		return out[i].n < out[k].n
	})
	steps := make([]checks.BuildStep, len(out))
	for i, s := range out {
		steps[i] = s.s
	}
	return steps
}

// stepLine finds the Dockerfile line of a step's vertex name ("[stage-1
// 3/3] RUN …"), 0 when it names none. BuildKit on older engines gives no
// source location: its numbering is rebuilt from the file — per stage, the
// FROM when its base is an image, then each ADD, COPY, RUN and WORKDIR.
func stepLine(df []byte, name string) int {
	m := vertexStepRe.FindStringSubmatch(name)
	if m == nil {
		return 0
	}
	k, _ := strconv.Atoi(m[2])
	res, err := parser.Parse(bytes.NewReader(df))
	if err != nil {
		return 0
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil || len(stages) == 0 {
		return 0
	}
	idx := len(stages) - 1
	switch st := m[1]; {
	case st == "" && len(stages) > 1:
		return 0
	case strings.HasPrefix(st, "stage-"):
		n, err := strconv.Atoi(strings.TrimPrefix(st, "stage-"))
		if err != nil || n < 0 || n >= len(stages) {
			return 0
		}
		idx = n
	case st != "":
		idx = -1
		for i, s := range stages {
			if strings.EqualFold(s.Name, st) {
				idx = i
			}
		}
		if idx < 0 {
			return 0
		}
	}
	s := stages[idx]
	named := map[string]bool{}
	for _, p := range stages[:idx] {
		if p.Name != "" {
			named[strings.ToLower(p.Name)] = true
		}
	}
	base := strings.ToLower(s.BaseName)
	fromCounted := base != "scratch" && !named[base]
	if fromCounted {
		if k == 1 {
			return firstLine(s.Location)
		}
		k--
	}
	for _, c := range s.Commands {
		switch c.(type) {
		case *instructions.AddCommand, *instructions.CopyCommand, *instructions.RunCommand, *instructions.WorkdirCommand:
			k--
			if k == 0 {
				return firstLine(c.Location())
			}
		}
	}
	return 0
}

func firstLine(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

// cappedBuffer keeps the first limit bytes written to it.
type cappedBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	limit int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.limit - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// cacheRecords lists the ids of the engine's BuildKit cache records (nil
// when the engine cannot say).
func (e *Engine) cacheRecords(ctx context.Context) map[string]bool {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	du, err := e.cli.DiskUsage(ctx, client.DiskUsageOptions{BuildCache: true, Verbose: true})
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, r := range du.BuildCache.Items {
		out[r.ID] = true
	}
	return out
}

// noteCache records the cache records that appeared during a build, for
// the run's end (pruneCache) and, in the journal, for `grade clean` after a
// run that was killed.
func (e *Engine) noteCache(before, after map[string]bool) {
	if before == nil || after == nil {
		return
	}
	var ids []string
	e.mu.Lock()
	for id := range after {
		if !before[id] {
			e.bkCache = append(e.bkCache, id)
			ids = append(ids, cachePrefix+id)
		}
	}
	e.mu.Unlock()
	e.note(ids)
}

// baseCache notes, once, the cache records on the engine before this run's
// first BuildKit build, and makes the run's journal (it is live).
func (e *Engine) baseCache(ctx context.Context) {
	e.cacheOnce.Do(func() {
		e.note(nil)
		e.cacheBase = e.cacheRecords(ctx)
	})
}

// pruneCache removes the BuildKit cache records this run's builds made (by
// id: the engine ignores a label filter on the cache), as many as are no
// longer in use. BuildKit writes some records as a build's session ends,
// after grade looked: when no other grade run of this machine is live,
// every record that appeared since this run's first build goes too.
func (e *Engine) pruneCache(ctx context.Context) error {
	e.mu.Lock()
	ids := e.bkCache
	e.bkCache = nil
	base := e.cacheBase
	e.mu.Unlock()
	if base != nil && !e.otherRunsLive() {
		noted := map[string]bool{}
		for _, id := range ids {
			noted[id] = true
		}
		for id := range e.cacheRecords(ctx) {
			if !base[id] && !noted[id] {
				ids = append(ids, id)
			}
		}
	}
	return e.pruneIDs(ctx, ids)
}

// pruneIDs prunes the cache records of ids that are not in use.
func (e *Engine) pruneIDs(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	var errs []error
	for len(ids) > 0 {
		n := min(len(ids), 200) // a regular expression of bounded size
		quoted := make([]string, n)
		for i, id := range ids[:n] {
			quoted[i] = regexp.QuoteMeta(id)
		}
		ids = ids[n:]
		f := client.Filters{}.Add("id", "^("+strings.Join(quoted, "|")+")$")
		if _, err := e.cli.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: true, Filters: f}); err != nil {
			errs = append(errs, fmt.Errorf("pruning the build cache: %w", err))
		}
	}
	return errors.Join(errs...)
}
