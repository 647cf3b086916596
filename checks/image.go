package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/go-units"
)

// Image grades the built image's metadata: user, exposed ports, working
// directory, environment, CMD and ENTRYPOINT (and whether they are in exec
// form), and size. Every expectation given must hold.
type Image struct {
	Expect ImageExpect `yaml:"expect" jsonschema:"required"`
}

// ImageExpect lists what the image's metadata must say.
type ImageExpect struct {
	// NonRoot requires USER to name a user other than root (or 0).
	NonRoot *bool `yaml:"non_root"`
	// User requires exactly this USER.
	User *string `yaml:"user"`
	// Exposes lists ports the image must declare with EXPOSE.
	Exposes []int `yaml:"exposes" jsonschema:"uniqueItems=true"`
	// Workdir requires this WORKDIR.
	Workdir string `yaml:"workdir"`
	// Env requires these variables with these values.
	Env map[string]string `yaml:"env"`
	// Cmd and Entrypoint require exactly these arguments (exec form).
	Cmd        []string `yaml:"cmd"`
	Entrypoint []string `yaml:"entrypoint"`
	// CmdExecForm and EntrypointExecForm require the exec (JSON array) form,
	// true, or the shell form, false.
	CmdExecForm        *bool `yaml:"cmd_exec_form"`
	EntrypointExecForm *bool `yaml:"entrypoint_exec_form"`
	// MaxSize bounds the image's size.
	MaxSize Size `yaml:"max_size"`
	// MaxLayers bounds the number of filesystem layers (4.4: fewer layers).
	MaxLayers int `yaml:"max_layers" jsonschema:"minimum=1"`
	// Absent lists what the final image must not hold (8.1: no toolchain
	// in the final image): absolute paths (/usr/local/go, /app/node_modules)
	// and command names looked up on the image's PATH (go, gcc, npm).
	Absent []string `yaml:"absent" jsonschema:"uniqueItems=true"`
}

// Requires reports that image needs the built image.
func (*Image) Requires() Requirement { return NeedsImage }

// Validate refuses an image check that checks nothing.
func (c *Image) Validate() error {
	e := c.Expect
	if e.NonRoot == nil && e.User == nil && len(e.Exposes) == 0 && e.Workdir == "" && len(e.Env) == 0 &&
		e.Cmd == nil && e.Entrypoint == nil && e.CmdExecForm == nil && e.EntrypointExecForm == nil && e.MaxSize == 0 &&
		e.MaxLayers == 0 && len(e.Absent) == 0 {
		return fieldErr("expect", "says nothing to check; give at least one of non_root, user, exposes, workdir, env, cmd, entrypoint, cmd_exec_form, entrypoint_exec_form, max_size, max_layers, absent")
	}
	for i, a := range e.Absent {
		path := strings.HasPrefix(a, "/") && len(a) > 1
		command := a != "" && !strings.Contains(a, "/")
		if !path && !command {
			return fieldErr(fmt.Sprintf("expect.absent[%d]", i), "%q is neither an absolute path (/usr/local/go) nor a command name (go)", a)
		}
	}
	for _, p := range e.Exposes {
		if p < 1 || p > 65535 {
			return fieldErr("expect.exposes", "%d is not a port number", p)
		}
	}
	return nil
}

// imageRule is one expectation: what it wants, what the image says, whether
// that holds.
type imageRule struct {
	want, got string
	ok        bool
}

// Run inspects the image and checks every expectation.
func (c *Image) Run(ctx context.Context, t Target) Outcome {
	ins, ok := t.(ImageInspector)
	if !ok {
		return capErr("image metadata", "inspect images")
	}
	cfg, err := ins.InspectImage(ctx)
	rules := c.rules(cfg)
	wants := make([]string, len(rules))
	for i, r := range rules {
		wants[i] = r.want
	}
	expected := strings.Join(wants, "; ")
	if err != nil {
		return engineOutcome(expected, err)
	}
	if len(c.Expect.Absent) > 0 {
		fr, ok := t.(FileReader)
		if !ok {
			return capErr(expected, "read files of the image")
		}
		r, err := absentRule(ctx, fr, cfg.Env, c.Expect.Absent)
		if err != nil {
			return engineOutcome(expected, err)
		}
		rules = append(rules, r)
		if expected != "" {
			expected += "; "
		}
		expected += r.want
	}
	var gots, bad []string
	for _, r := range rules {
		gots = append(gots, r.got)
		if !r.ok {
			bad = append(bad, fmt.Sprintf("%s, but %s", r.want, r.got))
		}
	}
	if len(bad) > 0 {
		return Fail(expected, strings.Join(gots, "; "), "wanted "+strings.Join(bad, "; wanted "))
	}
	return Pass(expected, strings.Join(gots, "; "))
}

func (c *Image) rules(cfg ImageConfig) []imageRule {
	e := c.Expect
	var rs []imageRule
	user := cfg.User
	if user == "" {
		user = "root (no USER instruction)"
	}
	if e.NonRoot != nil {
		root := isRoot(cfg.User)
		want := "a non-root USER"
		if !*e.NonRoot {
			want = "the root user"
		}
		rs = append(rs, imageRule{want, "USER is " + user, root != *e.NonRoot})
	}
	if e.User != nil {
		rs = append(rs, imageRule{fmt.Sprintf("USER %s", *e.User), "USER is " + user, cfg.User == *e.User})
	}
	for _, p := range e.Exposes {
		port := strconv.Itoa(p)
		exposed := "EXPOSE declares nothing"
		if len(cfg.ExposedPorts) > 0 {
			exposed = "EXPOSE declares " + strings.Join(cfg.ExposedPorts, ", ")
		}
		rs = append(rs, imageRule{"EXPOSE " + port, exposed,
			slices.Contains(cfg.ExposedPorts, port+"/tcp") || slices.Contains(cfg.ExposedPorts, port)})
	}
	if e.Workdir != "" {
		wd := cfg.WorkingDir
		if wd == "" {
			wd = "/ (no WORKDIR instruction)"
		}
		rs = append(rs, imageRule{"WORKDIR " + e.Workdir, "WORKDIR is " + wd,
			strings.TrimSuffix(cfg.WorkingDir, "/") == strings.TrimSuffix(e.Workdir, "/")})
	}
	keys := make([]string, 0, len(e.Env))
	for k := range e.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, found := lookupEnv(cfg.Env, k)
		got := k + " is not set"
		if found {
			got = fmt.Sprintf("%s=%s", k, v)
		}
		rs = append(rs, imageRule{fmt.Sprintf("ENV %s=%s", k, e.Env[k]), got, found && v == e.Env[k]})
	}
	if e.Cmd != nil {
		rs = append(rs, imageRule{"CMD " + showArgv(e.Cmd), "CMD is " + showArgv(cfg.Cmd), slices.Equal(cfg.Cmd, e.Cmd)})
	}
	if e.Entrypoint != nil {
		rs = append(rs, imageRule{"ENTRYPOINT " + showArgv(e.Entrypoint), "ENTRYPOINT is " + showArgv(cfg.Entrypoint),
			slices.Equal(cfg.Entrypoint, e.Entrypoint)})
	}
	if e.CmdExecForm != nil {
		rs = append(rs, formRule("CMD", cfg.Cmd, *e.CmdExecForm))
	}
	if e.EntrypointExecForm != nil {
		rs = append(rs, formRule("ENTRYPOINT", cfg.Entrypoint, *e.EntrypointExecForm))
	}
	if e.MaxSize > 0 {
		rs = append(rs, imageRule{"an image of at most " + e.MaxSize.String(),
			"the image is " + units.HumanSize(float64(cfg.Size)), cfg.Size <= int64(e.MaxSize)})
	}
	if e.MaxLayers > 0 {
		rs = append(rs, imageRule{fmt.Sprintf("at most %d layers", e.MaxLayers),
			fmt.Sprintf("the image has %d layers", cfg.Layers), cfg.Layers <= e.MaxLayers})
	}
	return rs
}

// defaultPath is the PATH a container gets when the image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// absentRule looks for each path, and each command on the image's PATH.
func absentRule(ctx context.Context, fr FileReader, env []string, absent []string) (imageRule, error) {
	pathVar, ok := lookupEnv(env, "PATH")
	if !ok || pathVar == "" {
		pathVar = defaultPath
	}
	var found []string
	for _, a := range absent {
		candidates := []string{a}
		if !strings.HasPrefix(a, "/") {
			candidates = candidates[:0]
			for _, dir := range strings.Split(pathVar, ":") {
				if strings.HasPrefix(dir, "/") {
					candidates = append(candidates, strings.TrimSuffix(dir, "/")+"/"+a)
				}
			}
		}
		for _, p := range candidates {
			_, err := fr.ReadFile(ctx, p, 0)
			if errors.Is(err, ErrNotExist) {
				continue
			}
			if err != nil {
				return imageRule{}, err
			}
			if p == a {
				found = append(found, p)
			} else {
				found = append(found, fmt.Sprintf("%s (the %s command)", p, a))
			}
			break
		}
	}
	r := imageRule{want: "none of " + strings.Join(absent, ", ") + " in the image", ok: len(found) == 0}
	r.got = "none of them is there"
	if len(found) > 0 {
		r.got = "the image holds " + strings.Join(found, ", ")
	}
	return r, nil
}

// isRoot reports whether a USER value runs as root.
func isRoot(user string) bool {
	name, _, _ := strings.Cut(user, ":")
	if uid, err := strconv.Atoi(name); err == nil {
		return uid == 0 // 0, 00, +0 are all uid 0
	}
	return name == "" || name == "root"
}

func lookupEnv(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// shellForm reports whether argv is what Docker stores for a shell-form
// instruction: ["/bin/sh", "-c", "…"].
func shellForm(argv []string) bool {
	return len(argv) == 3 && argv[0] == "/bin/sh" && argv[1] == "-c"
}

func formRule(instr string, argv []string, wantExec bool) imageRule {
	var got string
	switch {
	case len(argv) == 0:
		got = instr + " is not set"
	case shellForm(argv):
		got = fmt.Sprintf("%s is in shell form (%s %s)", instr, instr, argv[2])
	default:
		got = fmt.Sprintf("%s is in exec form (%s %s)", instr, instr, showArgv(argv))
	}
	want := instr + ` in exec form (a JSON array: ` + instr + ` ["program", "arg"])`
	if !wantExec {
		want = instr + " in shell form"
	}
	ok := len(argv) > 0 && shellForm(argv) != wantExec
	return imageRule{want, got, ok}
}

// showArgv shows an argv as a Dockerfile exec-form array.
func showArgv(argv []string) string {
	if argv == nil {
		return "not set"
	}
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = strconv.Quote(a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Stack reports that image grades the image built from the Dockerfile.
func (*Image) Stack() string { return StackImage }
