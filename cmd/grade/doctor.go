package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/gradeproject/grade/grader/engine"
)

// finding is one line of grade doctor: what was checked and, when it is not
// right, what to do.
type finding struct {
	ok        bool
	what, fix string
}

// doctorText is the doctor's wording in one language.
type doctorText struct {
	noEngine, engine, local, remote, storage, slowStorage, sandbox, buildPIDs, noBuildPIDs, tried,
	tryFailed, imagesOK, imagesMissing, summaryOK, summaryBad,
	classic, buildkit, buildkitBuiltin, buildkitLimits, buildkitNoLimits string
}

var doctorTexts = map[string]doctorText{
	"en": {
		noEngine:      "%v|start it (Linux: sudo systemctl start docker; Docker Desktop: open it), or set DOCKER_HOST to a remote engine; then run 'docker info'",
		engine:        "engine: Docker %s (API %s) at %s, %d CPUs, %s memory",
		storage:       "storage driver: %s",
		slowStorage:   "storage driver: %s (every build step costs a full copy; grading works, builds are slower)|configure overlay2 if the kernel allows it",
		sandbox:       "sandbox: cgroup v%s (%s): memory, CPU and pids limits for every container",
		buildPIDs:     "build steps get the pids limit (a cgroup of grade's)",
		noBuildPIDs:   "build steps get memory and CPU limits, but no pids limit here (needs root beside a local engine that uses cgroupfs)",
		local:         "kind: an engine on this machine (%s); every bundled scenario can be graded on it",
		remote:        "kind: an engine not on this machine (%s: Docker Desktop's VM, a CI service such as docker:dind, or another machine); every bundled scenario can be graded on it, the same way",
		tried:         "a test container built, ran and answered at %s through grade's helper container, on a network with no way out",
		tryFailed:     "a test container did not work: %v|check that %s is present (grade images); a helper container needs grade built for Linux (make build)",
		imagesOK:      "base images: all %d the scenarios use are present",
		imagesMissing: "base images: %d of %d missing: %s|run 'make images' (pulls where a registry answers, else builds stand-ins) or docker pull them",
		summaryOK:     "All good: grade can grade here.",
		summaryBad:    "%d problem(s): see the lines marked ✗.",
		classic:       "builder: the classic builder (the engine has no BuildKit, or GRADE_BUILDER=classic asks for it)",
		buildkit:      "builder: BuildKit, with the Dockerfile frontend %s (heredocs, RUN --mount and COPY --chmod build offline)",
		buildkitBuiltin: "builder: BuildKit, with the engine's built-in Dockerfile frontend|make images builds " + engine.FrontendImage +
			", so that files written for today's Dockerfile syntax build offline",
		buildkitLimits:   "build steps get memory, CPU and pids limits (grade limits each BuildKit step's cgroup as it starts)",
		buildkitNoLimits: "build steps get the build's time limit, but no memory, CPU or pids limit under BuildKit on this engine (grade limits them only as root beside a local engine that uses cgroupfs)",
	},
	"zh": {
		noEngine:      "没有可用的 Docker 引擎：%v|请启动它（Linux：sudo systemctl start docker；Docker Desktop：打开应用），或用 DOCKER_HOST 指向远程引擎；然后运行 'docker info'",
		engine:        "引擎：Docker %s（API %s），位于 %s，%d 个CPU，内存 %s",
		storage:       "存储驱动：%s",
		slowStorage:   "存储驱动：%s（每个构建步骤都要完整复制；可以评分，但构建较慢）|如果内核支持，请配置 overlay2",
		sandbox:       "沙箱：cgroup v%s（%s）：每个容器都有内存、CPU和进程数限制",
		buildPIDs:     "构建步骤也有进程数限制（grade 的 cgroup）",
		noBuildPIDs:   "构建步骤有内存和CPU限制，但此处没有进程数限制（需要以 root 身份在使用 cgroupfs 的本地引擎旁运行）",
		local:         "类型：本机上的引擎（%s）；所有内置场景都能在它上面评分",
		remote:        "类型：不在本机上的引擎（%s：Docker Desktop 的虚拟机、docker:dind 之类的 CI 服务或另一台机器）；所有内置场景都能以同样的方式在它上面评分",
		tried:         "测试容器已构建、运行，并通过 grade 的辅助容器在 %s 响应（网络无法访问外部）",
		tryFailed:     "测试容器未能正常工作：%v|请确认 %s 镜像存在（grade images）；辅助容器需要为 Linux 构建的 grade（make build）",
		imagesOK:      "基础镜像：场景需要的 %d 个镜像都已存在",
		imagesMissing: "基础镜像：%d/%d 个缺失：%s|运行 'make images'（能访问镜像仓库时拉取，否则构建替代镜像）或用 docker pull 获取",
		summaryOK:     "一切正常：grade 可以在这里评分。",
		summaryBad:    "%d 个问题：见标有 ✗ 的行。",
		classic:       "构建器：经典构建器（引擎没有 BuildKit，或 GRADE_BUILDER=classic 要求使用它）",
		buildkit:      "构建器：BuildKit，使用 Dockerfile 前端 %s（heredoc、RUN --mount 和 COPY --chmod 可离线构建）",
		buildkitBuiltin: "构建器：BuildKit，使用引擎内置的 Dockerfile 前端|运行 make images 构建 " + engine.FrontendImage +
			"，使按当今 Dockerfile 语法写的文件可离线构建",
		buildkitLimits:   "构建步骤有内存、CPU 和进程数限制（grade 在每个 BuildKit 步骤的 cgroup 启动时为其设置限制）",
		buildkitNoLimits: "构建步骤有构建时间限制，但在此引擎上使用 BuildKit 时没有内存、CPU 和进程数限制（只有以 root 身份在使用 cgroupfs 的本地引擎旁运行时，grade 才能限制它们）",
	},
}

// split cuts "what|fix".
func split(s string) (string, string) {
	what, fix, _ := strings.Cut(s, "|")
	return what, fix
}

func newDoctor(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this machine can grade: engine, sandbox, a test container, base images",
		Long: `doctor checks your own set-up the way grading will use it: the Docker engine
answers (and which one), its storage driver, the sandbox's limits, that a tiny
test image builds, runs and answers through grade's helper container, and that the base images the
scenarios use are present. Each problem comes with what to do about it.
It exits 0 when everything works, 3 otherwise.`,
		Example: "  grade doctor\n  grade doctor --lang zh\n  DOCKER_HOST=tcp://docker:2375 grade doctor",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, list, err := bindAndLoad(cmd)
			if err != nil {
				return err
			}
			t := doctorTexts[o.Lang]
			ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Minute)
			defer cancel()
			var fs []finding
			eng, err := engine.New(ctx)
			if se := (*engine.SettingError)(nil); errors.As(err, &se) {
				return printFindings(stdout, append(fs, finding{what: se.Msg}), t)
			}
			if err != nil {
				what, fix := split(t.noEngine)
				fs = append(fs, finding{what: fmt.Sprintf(what, err), fix: fix})
				return printFindings(stdout, fs, t)
			}
			defer func() { _ = eng.Close() }()
			fs = append(fs, engineFindings(ctx, eng, t)...)
			images := slices.Sorted(maps.Keys(imageUsers(list)))
			var missing []string
			for _, img := range images {
				if ok, err := eng.ImagePresent(ctx, img); err != nil || !ok {
					missing = append(missing, img)
				}
			}
			if len(missing) == 0 {
				fs = append(fs, finding{ok: true, what: fmt.Sprintf(t.imagesOK, len(images))})
			} else {
				what, fix := split(t.imagesMissing)
				fs = append(fs, finding{what: fmt.Sprintf(what, len(missing), len(images), strings.Join(missing, ", ")), fix: fix})
			}
			return printFindings(stdout, fs, t)
		},
	}
	return cmd
}

// engineFindings reads the engine and tries a job on it.
func engineFindings(ctx context.Context, eng *engine.Engine, t doctorText) []finding {
	f, err := eng.Facts(ctx)
	if err != nil {
		what, fix := split(t.noEngine)
		return []finding{{what: fmt.Sprintf(what, err), fix: fix}}
	}
	fs := []finding{{ok: true, what: fmt.Sprintf(t.engine, f.Version, f.APIVersion, f.Daemon, f.CPUs, units.BytesSize(float64(f.Memory)))}}
	if f.Local {
		fs = append(fs, finding{ok: true, what: fmt.Sprintf(t.local, f.Name)})
	} else {
		fs = append(fs, finding{ok: true, what: fmt.Sprintf(t.remote, f.Name)})
	}
	switch f.StorageDriver {
	case "vfs", "fuse-overlayfs":
		what, fix := split(t.slowStorage)
		fs = append(fs, finding{ok: true, what: fmt.Sprintf(what, f.StorageDriver), fix: fix})
	default:
		fs = append(fs, finding{ok: true, what: fmt.Sprintf(t.storage, f.StorageDriver)})
	}
	fs = append(fs, finding{ok: true, what: fmt.Sprintf(t.sandbox, f.CgroupVersion, f.CgroupDriver)})
	limits := t.buildkitNoLimits
	if f.StepLimits {
		limits = t.buildkitLimits
	}
	switch {
	case f.Builder == engine.BuilderBuildKit && f.Frontend != "":
		fs = append(fs, finding{ok: true, what: fmt.Sprintf(t.buildkit, f.Frontend)}, finding{ok: true, what: limits})
	case f.Builder == engine.BuilderBuildKit:
		what, fix := split(t.buildkitBuiltin)
		fs = append(fs, finding{ok: true, what: what, fix: fix}, finding{ok: true, what: limits})
	case f.BuildPIDs:
		fs = append(fs, finding{ok: true, what: t.classic}, finding{ok: true, what: t.buildPIDs})
	default:
		fs = append(fs, finding{ok: true, what: t.classic}, finding{ok: true, what: t.noBuildPIDs})
	}
	addr, err := eng.TryJob(ctx)
	switch {
	case err != nil:
		what, fix := split(t.tryFailed)
		fs = append(fs, finding{what: fmt.Sprintf(what, err), fix: fmt.Sprintf(fix, "busybox:latest")})
	default:
		fs = append(fs, finding{ok: true, what: fmt.Sprintf(t.tried, addr)})
	}
	return fs
}

// printFindings writes one line per finding and returns an environment
// error when any is not right.
func printFindings(w io.Writer, fs []finding, t doctorText) error {
	bad := 0
	for _, f := range fs {
		mark := "✓"
		if !f.ok {
			mark, bad = "✗", bad+1
		}
		fmt.Fprintf(w, "%s %s\n", mark, f.what)
		if f.fix != "" {
			fmt.Fprintf(w, "    → %s\n", f.fix)
		}
	}
	if bad > 0 {
		fmt.Fprintf(w, t.summaryBad+"\n", bad)
		return &exitError{code: exitEnvironment}
	}
	fmt.Fprintln(w, t.summaryOK)
	return nil
}
