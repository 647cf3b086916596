package checks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/go-units"
)

// Build grades that the submission's Dockerfile builds into an image. The
// build itself happens before any check runs; this kind reports it, with the
// engine's own message and the Dockerfile line it blames.
type Build struct{}

// Requires reports that the build check needs nothing before it.
func (*Build) Requires() Requirement { return NeedsNothing }

const buildExpected = "the Dockerfile builds into an image"

// Run reports the build's result.
func (*Build) Run(_ context.Context, t Target) Outcome {
	br, ok := t.(BuildReporter)
	if !ok {
		return capErr(buildExpected, "report a build")
	}
	b := br.BuildInfo()
	if b.OK {
		return Pass(buildExpected, fmt.Sprintf("built in %s, image size %s",
			b.Duration.Round(100*time.Millisecond), units.HumanSize(float64(b.Size))))
	}
	where := b.Dockerfile
	if where == "" {
		where = "Dockerfile"
	}
	if b.Line > 0 {
		where = fmt.Sprintf("%s:%d", where, b.Line)
	}
	o := Fail(buildExpected, "the build failed", where+": "+b.Error)
	if b.TimedOut {
		o.Actual = "the build ran out of time"
		o.Hint = timeoutHint
	}
	o.Detail = logTail(b.Log, 15)
	if b.Excerpt != "" {
		o.Detail = strings.TrimSpace(b.Excerpt + "\n" + o.Detail)
	}
	return o
}

// timeoutHint is the build check's hint when the build ran out of time.
var timeoutHint = Text{
	EN: "The build was stopped at its time limit. Look at the step it was running: a command that waits for input or " +
		"never ends (a server started in RUN, a prompt), a large download, or work the image does not need (tests, an " +
		"unused stage) — move it out of the build or make it finish. When grade says other builds were running, run " +
		"`grade check` again: a busy engine builds more slowly.",
	ZH: "构建在时间限制处被停止。请查看它当时正在运行的步骤：等待输入或永不结束的命令（在 RUN 中启动的服务器、交互提示）、" +
		"大量下载，或镜像不需要的工作（测试、未使用的阶段）——把它移出构建或让它能够结束。如果 grade 提示当时还有其他构建在运行，" +
		"请再次运行 `grade check`：繁忙的引擎构建得更慢。",
}

// logTail returns the last n lines of a log.
func logTail(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	for i, l := range lines {
		lines[i] = clip(l, maxLogLine)
	}
	return strings.Join(lines, "\n")
}

// maxLogLine is the longest log line shown in feedback, in characters.
const maxLogLine = 300

// clip shortens a line to n characters, saying how much was left out.
func clip(line string, n int) string {
	r := []rune(line)
	if len(r) <= n {
		return line
	}
	return string(r[:n]) + fmt.Sprintf(" … (%d more characters)", len(r)-n)
}

// Stack reports that build grades the image built from the Dockerfile.
func (*Build) Stack() string { return StackImage }
