package engine

import (
	"bufio"
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

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
)

// buildLogLimit caps the build log kept for the student.
const buildLogLimit = 256 << 10

// BuildSpec says what to build.
type BuildSpec struct {
	// Dir is the build context on grade's filesystem.
	Dir string
	// Dockerfile is the Dockerfile's path inside Dir.
	Dockerfile string
	// Shown is how the Dockerfile is named to the student, e.g. "Dockerfile".
	Shown   string
	Timeout time.Duration
}

// buildMessage is one message of the engine's build stream.
type buildMessage struct {
	Stream      string                    `json:"stream"`
	Error       string                    `json:"error"`
	ErrorDetail *struct{ Message string } `json:"errorDetail"`
	Aux         json.RawMessage           `json:"aux"`
}

// Build builds the submission's image with the classic builder and records
// the outcome for the build check. A failed build is not an error: it is the
// student's result. The error is for grade's own failures (engine gone).
func (j *Job) Build(ctx context.Context, spec BuildSpec) (checks.BuildInfo, error) {
	start := time.Now()
	info := checks.BuildInfo{Dockerfile: spec.Shown}
	defer func() { info.Duration = time.Since(start) }()
	entries, err := scanContext(spec.Dir, spec.Dockerfile, j.e.limits.ContextSize)
	var ce *ContextError
	if errors.As(err, &ce) {
		info.Error = ce.Msg
		j.setBuild(info)
		return info, nil
	} else if err != nil {
		return info, err
	}
	if _, err := os.Stat(filepath.Join(spec.Dir, spec.Dockerfile)); err != nil {
		info.Error = fmt.Sprintf("there is no %s in the submission", spec.Shown)
		j.setBuild(info)
		return info, nil
	}
	bctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, entries)) }()
	defer func() { _ = pr.Close() }()

	res, err := j.e.cli.ImageBuild(bctx, pr, client.ImageBuildOptions{
		Tags:        []string{j.tag},
		Dockerfile:  filepath.ToSlash(spec.Dockerfile),
		Labels:      j.e.labels(j.name),
		Remove:      true,
		ForceRemove: true,
		Memory:      j.e.limits.Memory,
		MemorySwap:  j.e.limits.Memory,
		Version:     build.BuilderV1,
	})
	if err != nil {
		if bctx.Err() != nil {
			return j.buildTimedOut(ctx, info, spec.Timeout, "")
		}
		if client.IsErrConnectionFailed(err) {
			return info, fmt.Errorf("building %s: %w", j.name, err)
		}
		// The engine refused the Dockerfile before building (a parse
		// error): the student's result, in the engine's words.
		info.Error = strings.TrimPrefix(err.Error(), "Error response from daemon: ")
		info.Line = blameLine(info.Error, "", filepath.Join(spec.Dir, spec.Dockerfile))
		j.setBuild(info)
		return info, nil
	}
	defer func() { _ = res.Body.Close() }()
	var log bytes.Buffer
	var buildErr string
	dec := json.NewDecoder(res.Body)
	for {
		var m buildMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			if bctx.Err() != nil {
				return j.buildTimedOut(ctx, info, spec.Timeout, log.String())
			}
			return info, fmt.Errorf("reading the build of %s: %w", j.name, err)
		}
		if log.Len() < buildLogLimit {
			log.WriteString(m.Stream)
		}
		switch {
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			buildErr = m.ErrorDetail.Message
		case m.Error != "":
			buildErr = m.Error
		}
		if len(m.Aux) > 0 {
			var aux struct{ ID string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				j.addStage(aux.ID)
			}
		}
	}
	info.Log = scrubLog(log.String())
	if buildErr != "" {
		info.Error = strings.TrimSpace(buildErr)
		info.Line = blameLine(info.Error, info.Log, filepath.Join(spec.Dir, spec.Dockerfile))
		j.setBuild(info)
		return info, nil
	}
	ins, err := j.e.cli.ImageInspect(ctx, j.tag)
	if err != nil {
		return info, fmt.Errorf("inspecting the image of %s: %w", j.name, err)
	}
	info.OK, info.ImageID, info.Size = true, ins.ID, ins.Size
	j.setBuild(info)
	return info, nil
}

func (j *Job) buildTimedOut(ctx context.Context, info checks.BuildInfo, limit time.Duration, log string) (checks.BuildInfo, error) {
	if ctx.Err() != nil {
		return info, ctx.Err() // the run was stopped, not the build
	}
	info.Error = fmt.Sprintf("the build did not finish within %s and was stopped", limit)
	info.Log = scrubLog(log)
	j.setBuild(info)
	return info, nil
}

var (
	stepRe     = regexp.MustCompile(`^Step (\d+)/(\d+) : (.*)$`)
	parseErrRe = regexp.MustCompile(`(?i)line (\d+)`)
)

// scrubLog removes what grade added to the student's build: the LABEL step
// with grade's labels and the tag line, and renumbers the steps.
func scrubLog(log string) string {
	var out []string
	skipping := false
	total := 0
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for _, l := range lines {
		if m := stepRe.FindStringSubmatch(l); m != nil && strings.HasPrefix(m[3], "LABEL "+LabelManaged) {
			total, _ = strconv.Atoi(m[2])
		}
	}
	for _, l := range lines {
		if m := stepRe.FindStringSubmatch(l); m != nil {
			skipping = strings.HasPrefix(m[3], "LABEL "+LabelManaged)
			if skipping {
				continue
			}
			if total > 1 {
				l = fmt.Sprintf("Step %s/%d : %s", m[1], total-1, m[3])
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
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}

// blameLine finds the Dockerfile line a build error is about: the line a
// parse error names, else the line of the step that failed.
func blameLine(errMsg, log, dockerfile string) int {
	if strings.Contains(errMsg, "parse error") || strings.Contains(errMsg, "unknown instruction") {
		if m := parseErrRe.FindStringSubmatch(errMsg); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	step := 0
	for _, l := range strings.Split(log, "\n") {
		if m := stepRe.FindStringSubmatch(l); m != nil {
			step, _ = strconv.Atoi(m[1])
		}
	}
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
