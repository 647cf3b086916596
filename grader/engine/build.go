package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/go-units"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// buildLogLimit caps the build log kept for the student.
const buildLogLimit = 256 << 10

// buildGrace is how long a build may go on after the run is interrupted.
const buildGrace = 10 * time.Second

// BuildSpec says what to build.
type BuildSpec struct {
	// Dir is the build context on grade's filesystem.
	Dir string
	// Dockerfile is the Dockerfile's path inside Dir.
	Dockerfile string
	// Shown is how the Dockerfile is named to the student, e.g. "Dockerfile".
	Shown   string
	Timeout time.Duration
	// Tag is the image's tag; default the job's image tag.
	Tag string
	// Target is the stage to build (docker build --target); "" for the last.
	Target string
	// Args are build arguments (docker build --build-arg).
	Args map[string]*string
	// Plant adds files the submission lacks to the build context, as if
	// the student had left them there (.dockerignore applies): path
	// relative to the context → content.
	Plant map[string][]byte
}

// buildMessage is one message of the engine's build stream.
type buildMessage struct {
	Stream      string                    `json:"stream"`
	Error       string                    `json:"error"`
	ErrorDetail *struct{ Message string } `json:"errorDetail"`
	Aux         json.RawMessage           `json:"aux"`
}

// Build builds the submission's image (with BuildKit where the engine's
// builder is, buildkit.go, else with the classic builder) and records
// the outcome for the build check. A failed build is not an error: it is the
// student's result. The error is for grade's own failures (engine gone).
func (j *builder) Build(ctx context.Context, spec BuildSpec) (checks.BuildInfo, error) {
	info, err := j.buildOnce(ctx, spec, nil)
	if err == nil {
		j.setBuild(info)
	}
	j.mu.Lock()
	j.spec = spec
	j.mu.Unlock()
	return info, err
}

// Rebuild builds the image again from the same context, with bytes
// appended to the named files of the context, as a second image; the
// first build's image and verdict are kept.
func (j *builder) Rebuild(ctx context.Context, change map[string][]byte) (checks.BuildInfo, error) {
	j.mu.Lock()
	spec, built := j.spec, j.build.OK
	j.mu.Unlock()
	if !built {
		return checks.BuildInfo{}, errors.New("the image was not built, so it cannot be rebuilt")
	}
	spec.Tag = strings.TrimSuffix(j.tag, ":latest") + ":rebuild"
	info, err := j.buildOnce(ctx, spec, change)
	if err != nil || !info.OK || j.e.builder == BuilderBuildKit {
		return info, err // BuildKit's steps come from its trace
	}
	first, err := j.e.cli.ImageHistory(ctx, j.tag)
	if err != nil {
		return info, fmt.Errorf("reading the history of the image of %s: %w", j.name, err)
	}
	again, err := j.e.cli.ImageHistory(ctx, spec.Tag)
	if err != nil {
		return info, fmt.Errorf("reading the history of the rebuilt image of %s: %w", j.name, err)
	}
	info.Steps = cacheSteps(first.Items, again.Items)
	return info, nil
}

// copySourceRe matches the classic builder's record of a COPY or ADD, whose
// sources are a content hash: "COPY dir:3f2a… in /app/ ".
var copySourceRe = regexp.MustCompile(`^(COPY|ADD) (?:file|dir|multi):[0-9a-f]+ in (.*)$`)

// cacheSteps lists the layers of the rebuilt image (histories come newest
// first), each cached when the first image has the same layer id. Base
// image layers pulled from a registry have no id ("<missing>") and come
// from the base, which the rebuild did not change.
func cacheSteps(first, again []image.HistoryResponseItem) []checks.BuildStep {
	ids := map[string]bool{}
	for _, h := range first {
		ids[h.ID] = true
	}
	var out []checks.BuildStep
	for i := len(again) - 1; i >= 0; i-- {
		h := again[i]
		instr := strings.TrimSpace(h.CreatedBy)
		switch {
		case strings.HasPrefix(instr, "/bin/sh -c #(nop) "):
			instr = strings.TrimSpace(strings.TrimPrefix(instr, "/bin/sh -c #(nop) "))
		case strings.HasPrefix(instr, "/bin/sh -c "):
			instr = "RUN " + strings.TrimPrefix(instr, "/bin/sh -c ")
		}
		if m := copySourceRe.FindStringSubmatch(instr); m != nil {
			instr = m[1] + " … " + strings.TrimSpace(m[2])
		}
		out = append(out, checks.BuildStep{Instruction: instr, Cached: h.ID == "<missing>" || ids[h.ID]})
	}
	return out
}

// engineFaults are the causes of a failed build that are the engine's, not
// the Dockerfile's: its store lost a layer or a parent image the build was
// using (another process removed it mid-build, or the disk failed).
var engineFaults = []string{
	"failed to export image", "unknown parent image", "failed to set parent", "failed to register layer",
	"layer does not exist", "failed to get layer", "error committing", "no such image: sha256:",
}

// engineFault reports whether a build's cause is one of engineFaults. A
// failed RUN step's cause quotes its command, which the student wrote: that
// is the Dockerfile's failure whatever the command says.
func engineFault(cause string) bool {
	lo := strings.ToLower(cause)
	if strings.Contains(lo, "did not complete successfully") || strings.Contains(lo, "returned a non-zero code") {
		return false
	}
	for _, f := range engineFaults {
		if strings.Contains(lo, f) {
			return true
		}
	}
	return false
}

// BuildEngineError is a build that failed twice for the engine's reasons:
// the job is not graded, and the engine's words say why.
type BuildEngineError struct{ Cause string }

func (e *BuildEngineError) Error() string {
	return "the engine failed while building (tried twice; this is not the submission's fault): " + e.Cause
}

// buildOnce builds spec and, when the build failed for the engine's
// reasons (engineFault), builds it once more; a second such failure is
// an BuildEngineError, never the student's verdict.
func (j *builder) buildOnce(ctx context.Context, spec BuildSpec, change map[string][]byte) (checks.BuildInfo, error) {
	info, err := j.buildImage(ctx, spec, change)
	if err != nil || info.OK || !engineFault(info.Error) {
		return info, err
	}
	info, err = j.buildImage(ctx, spec, change)
	if err != nil || info.OK || !engineFault(info.Error) {
		return info, err
	}
	return info, &BuildEngineError{Cause: info.Error}
}

// buildImage builds spec, with bytes appended to the context's files named
// in change; the error is grade's, a failed build is in the BuildInfo.
func (j *builder) buildImage(ctx context.Context, spec BuildSpec, change map[string][]byte) (checks.BuildInfo, error) {
	start := time.Now()
	info := checks.BuildInfo{Dockerfile: spec.Shown}
	entries, err := scanContext(spec.Dir, spec.Dockerfile, int64(j.limits.Context), overlay{plant: spec.Plant, appendTo: change})
	var ce *ContextError
	if errors.As(err, &ce) {
		info.Error = ce.Msg
		info.Duration = time.Since(start)
		return info, nil
	} else if err != nil {
		return info, err
	}
	dfPath := filepath.Join(spec.Dir, spec.Dockerfile)
	if st, err := os.Lstat(dfPath); err == nil && !st.Mode().IsRegular() {
		info.Error = fmt.Sprintf("%s is not a regular file (a link or a folder); grade reads the Dockerfile only as a file", spec.Shown)
		info.Duration = time.Since(start)
		return info, nil
	}
	df, err := os.ReadFile(dfPath)
	if err != nil {
		info.Error = fmt.Sprintf("there is no %s in the submission", spec.Shown)
		info.Duration = time.Since(start)
		return info, nil
	}
	// The build gets its own context: when the run is interrupted it may
	// finish within a short grace, so that what it commits exists before
	// the job's clean-up looks for it. A build cut off mid-way may still
	// commit an image later; Close looks again for those.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spec.Timeout)
	defer cancel()
	j.e.builds.Add(1)
	defer j.e.builds.Add(-1)
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(buildGrace, cancel) })
	defer stopGrace()
	defer func() {
		if bctx.Err() != nil {
			j.mu.Lock()
			j.aborted = true
			j.mu.Unlock()
		}
	}()
	tag := j.tag
	if spec.Tag != "" {
		tag = spec.Tag
	}
	if j.e.builder == BuilderBuildKit {
		j.added = 0
		return j.buildKitImage(ctx, bctx, spec, entries, df, tag, start)
	}
	labels := j.e.labels(j.name)
	var extra string
	added := len(labels) // steps grade adds: one per label through the API…
	if canAppend(df) {
		extra, labels, added = labelLine(labels), nil, 1 // …or one LABEL line
	}
	j.added = added
	dfRel := filepath.ToSlash(filepath.Clean(spec.Dockerfile))
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, entries, dfRel, extra)) }()
	defer func() { _ = pr.Close() }()

	opts := client.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  filepath.ToSlash(spec.Dockerfile),
		Labels:      labels,
		Remove:      true,
		ForceRemove: true,
		Memory:      int64(j.limits.Memory),
		MemorySwap:  int64(j.limits.Memory),
		CPUPeriod:   100_000,
		CPUQuota:    j.limits.NanoCPUs() / 10_000, // µs per 100 ms period
		Version:     build.BuilderV1,
	}
	if cg := j.e.cgroups; cg != nil {
		name := cgroupPrefix + j.slug
		if cg.make(name, j.limits.PIDs) == nil {
			opts.CgroupParent = name
			defer cg.remove(name)
		}
	}
	opts.Target, opts.BuildArgs = spec.Target, spec.Args
	if j.offline {
		opts.NetworkMode = "none"
	}
	res, err := j.e.cli.ImageBuild(bctx, pr, opts)
	if err != nil {
		if bctx.Err() != nil {
			return j.buildTimedOut(ctx, info, spec.Timeout, "", "", 0, df)
		}
		if !cerrdefs.IsInvalidArgument(err) {
			return info, fmt.Errorf("building %s: %w", j.name, err)
		}
		// The engine refused the Dockerfile before building (a parse
		// error): the student's result, in the engine's words.
		info.Error = strings.TrimPrefix(err.Error(), "Error response from daemon: ")
		info.Line = blameLine(info.Error, "", filepath.Join(spec.Dir, spec.Dockerfile))
		info.Excerpt = excerpt(df, info.Line, spec.Shown)
		info.Duration = time.Since(start)
		return info, nil
	}
	defer func() { _ = res.Body.Close() }()
	var log bytes.Buffer
	var steps stepLines
	var buildErr string
	dec := json.NewDecoder(res.Body)
	for {
		var m buildMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			if bctx.Err() != nil {
				return j.classicTimedOut(ctx, info, spec, log.String(), df)
			}
			return info, fmt.Errorf("reading the build of %s: %w", j.name, err)
		}
		if log.Len() < buildLogLimit {
			log.WriteString(m.Stream)
		}
		steps.add(m.Stream) // every step's image, whatever the log cap
		switch {
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			buildErr = m.ErrorDetail.Message
		case m.Error != "":
			buildErr = m.Error
		}
		if len(m.Aux) > 0 {
			var aux struct{ ID string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				j.addCreated(aux.ID)
			}
		}
	}
	j.addCreated(createdImages(steps.String())...)
	if errors.Is(ctx.Err(), context.Canceled) {
		return info, ctx.Err() // interrupted: no verdict
	}
	info.Log = scrubLog(log.String(), added)
	if buildErr != "" {
		info.Error = strings.TrimSpace(buildErr)
		info.Line = blameLine(info.Error, info.Log, filepath.Join(spec.Dir, spec.Dockerfile))
		info.Excerpt = excerpt(df, info.Line, spec.Shown)
		info.Duration = time.Since(start)
		return info, nil
	}
	return j.builtImage(ctx, info, opts.Tags[0], start)
}

// builtImage completes the verdict on a build that succeeded (either
// builder's): the image's id and size, refused when over the limit.
func (j *builder) builtImage(ctx context.Context, info checks.BuildInfo, tag string, start time.Time) (checks.BuildInfo, error) {
	ictx, icancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer icancel()
	ins, err := j.e.cli.ImageInspect(ictx, tag)
	if err != nil {
		return info, fmt.Errorf("inspecting the image of %s: %w", j.name, err)
	}
	info.OK, info.ImageID, info.Size = true, ins.ID, ins.Size
	info.Duration = time.Since(start)
	if lim := int64(j.limits.Image); lim > 0 && ins.Size > lim {
		info.OK = false
		info.Error = fmt.Sprintf("the image is %s, over the %s limit on image size; grade does not run it "+
			"(look for large files the build writes or copies)", units.HumanSize(float64(ins.Size)), checks.Size(lim))
	}
	return info, nil
}

// buildTimedOut is the verdict on a build stopped at its time limit: how
// long it ran, the instruction it was running (its line, from the Dockerfile
// df) and how many other builds grade was running on the engine then.
func (j *builder) buildTimedOut(ctx context.Context, info checks.BuildInfo, limit time.Duration, log, running string, line int, df []byte) (checks.BuildInfo, error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return info, ctx.Err() // the run was stopped, not the build
	}
	info.TimedOut, info.Running, info.Line = true, running, line
	info.Others = max(0, int(j.e.builds.Load())-1)
	info.Error = fmt.Sprintf("the build did not finish within %s and was stopped", limit)
	if ctx.Err() != nil {
		info.Error = "the build did not finish within the job's time limit and was stopped"
	}
	if running != "" {
		info.Error += fmt.Sprintf(" while it ran `%s`", running)
	}
	switch info.Others {
	case 0:
		info.Error += "; grade was running no other build on this engine"
	case 1:
		info.Error += "; grade was running 1 other build on this engine at the time"
	default:
		info.Error += fmt.Sprintf("; grade was running %d other builds on this engine at the time", info.Others)
	}
	info.Excerpt = excerpt(df, line, info.Dockerfile)
	info.Log = scrubLog(log, j.added)
	info.Duration = limit
	return info, nil
}

// classicTimedOut is buildTimedOut for the classic builder's log, whose
// last step header names what was running.
func (j *builder) classicTimedOut(ctx context.Context, info checks.BuildInfo, spec BuildSpec, log string, df []byte) (checks.BuildInfo, error) {
	instr, _ := runningStep(ansiRe.ReplaceAllString(log, ""))
	line := blameLine("", log, filepath.Join(spec.Dir, spec.Dockerfile))
	return j.buildTimedOut(ctx, info, spec.Timeout, log, instr, line, df)
}

// runningStep is the instruction a classic build's log shows last, and
// its number.
func runningStep(log string) (string, int) {
	instr, n := "", 0
	for _, l := range strings.Split(log, "\n") {
		if m := stepRe.FindStringSubmatch(l); m != nil {
			instr = m[3]
			n, _ = strconv.Atoi(m[1])
		}
	}
	return instr, n
}

var (
	stepRe     = regexp.MustCompile(`^Step (\d+)/(\d+) : (.*)$`)
	parseErrRe = regexp.MustCompile(`(?i)line (\d+)`)
)

// ansiRe matches terminal escape sequences (the classic builder colours a
// RUN step's stderr).
var ansiRe = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// scrubLog removes what grade added to the student's build: the LABEL
// steps with grade's labels (added of them) and the tag line, renumbers the
// steps, and drops terminal escapes.
func scrubLog(log string, added int) string {
	log = ansiRe.ReplaceAllString(log, "")
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	ours := map[string]bool{}
	for _, l := range lines {
		if m := stepRe.FindStringSubmatch(l); m != nil && strings.HasPrefix(m[3], "LABEL grade.") {
			ours[m[1]] = true
		}
	}
	// A build that failed before grade's steps never shows them; the
	// totals still count them.
	extra := max(len(ours), added)
	var out []string
	skipping := false
	for _, l := range lines {
		if m := stepRe.FindStringSubmatch(l); m != nil {
			skipping = ours[m[1]]
			if skipping {
				continue
			}
			if total, err := strconv.Atoi(m[2]); err == nil && extra > 0 && total > extra {
				l = fmt.Sprintf("Step %s/%d : %s", m[1], total-extra, m[3])
			}
		}
		if strings.HasPrefix(l, "Successfully built") {
			skipping = false
			continue
		}
		if skipping || strings.HasPrefix(l, "Successfully tagged") {
			continue
		}
		out = append(out, l)
	}
	if len(out) == 0 || (len(out) == 1 && out[0] == "") {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}

// createdImages returns the images a classic build's steps created, from
// its log: each step ends with " ---> <image id>"; FROM steps name the base
// image and cached steps (" ---> Using cache") an existing one, neither ours.
func createdImages(log string) []string {
	var ids []string
	ours := false
	for _, l := range strings.Split(log, "\n") {
		if m := stepRe.FindStringSubmatch(l); m != nil {
			ours = !strings.HasPrefix(strings.ToUpper(m[3]), "FROM ")
			continue
		}
		if l == " ---> Using cache" {
			ours = false
			continue
		}
		if id, ok := strings.CutPrefix(l, " ---> "); ok && ours && isHexID(strings.TrimSpace(id)) {
			ids = append(ids, strings.TrimSpace(id))
			ours = false
		}
	}
	return ids
}

func isHexID(s string) bool {
	if len(s) < 12 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// blameLine finds the Dockerfile line a build error is about: the line a
// parse error names, else the line of the step that failed.
func blameLine(errMsg, log, dockerfile string) int {
	if n := parseErrorLine(errMsg); n > 0 {
		return n
	}
	_, step := runningStep(log)
	if step == 0 {
		return 0
	}
	f, err := os.Open(dockerfile)
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	res, err := parser.Parse(io.LimitReader(f, 1<<20))
	if err != nil || step > len(res.AST.Children) {
		return 0
	}
	return res.AST.Children[step-1].StartLine
}

// parseErrorLine is the line a Dockerfile parse error names (either
// builder's wording), 0 for another error.
func parseErrorLine(errMsg string) int {
	if !strings.Contains(errMsg, "parse error") && !strings.Contains(errMsg, "unknown instruction") {
		return 0
	}
	m := parseErrRe.FindStringSubmatch(errMsg)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// excerpt shows the Dockerfile lines up to line (two before it), numbered,
// with the blamed line marked.
func excerpt(dockerfile []byte, line int, name string) string {
	if line <= 0 {
		return ""
	}
	lines := strings.Split(string(dockerfile), "\n")
	if line > len(lines) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", name)
	for n := max(1, line-2); n <= line; n++ {
		mark := "  "
		if n == line {
			mark = "> "
		}
		fmt.Fprintf(&b, "%s%4d | %s\n", mark, n, strings.TrimRight(lines[n-1], "\r"))
	}
	return b.String()
}

// stepLines keeps, from a build's stream, only the lines createdImages
// reads (step headers and " ---> " lines), so that it sees every step
// however long the log.
type stepLines struct {
	b       strings.Builder
	partial string
}

func (s *stepLines) add(stream string) {
	text := s.partial + stream
	lines := strings.Split(text, "\n")
	s.partial = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		if strings.HasPrefix(l, "Step ") || strings.HasPrefix(l, " ---> ") {
			s.b.WriteString(l + "\n")
		}
	}
}

func (s *stepLines) String() string { return s.b.String() + s.partial }
