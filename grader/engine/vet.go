package engine

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/gradeproject/grade/grader/guard"
)

// maxComposeFile caps the compose file grade reads.
const maxComposeFile = 256 << 10

// VetCompose loads a submission's compose file with compose-go (the loader
// the compose engine itself uses) and checks it against the sandbox rules
// before anything starts. It reads nothing outside the submission: no
// included or extended files, no environment of grade's own. refused lists
// why the file cannot be run, in the student's terms (empty when it may);
// err is grade's own failure.
//
// images are those the exercise lists: a service that is not built from
// the submission (no build:) must run one of them, or the image another
// service builds.
func VetCompose(ctx context.Context, dir, file, project string, images []string) (p *types.Project, refused []string, err error) {
	quietTestcontainers()
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, filepath.FromSlash(file))
	if !inside(dir, path) {
		return nil, []string{fmt.Sprintf("%s is not inside the submission", file)}, nil
	}
	st, err := os.Lstat(path)
	switch {
	case err != nil:
		return nil, []string{fmt.Sprintf("there is no %s in the submission", file)}, nil
	case !st.Mode().IsRegular():
		return nil, []string{fmt.Sprintf("%s is not a regular file (a link or a folder)", file)}, nil
	case st.Size() > maxComposeFile:
		return nil, []string{fmt.Sprintf("%s is larger than %d KiB", file, maxComposeFile>>10)}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", file, err)
	}
	if r := vetRaw(data); len(r) > 0 {
		return nil, r, nil
	}
	p, err = loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: data}},
		Environment: types.Mapping{}, // nothing of grade's own environment
	}, func(o *loader.Options) {
		o.SetProjectName(project, true)
		o.SkipInclude = true
		o.SkipExtends = true
		o.SkipResolveEnvironment = true // env_file is read by the engine side, once vetted
		o.ResolvePaths = true
		o.ResourceLoaders = nil
	})
	if err != nil {
		return nil, []string{"it does not load: " + cleanComposeErr(err, dir, file)}, nil
	}
	return p, vetProject(p, dir, images), nil
}

// vetRaw refuses what must be caught before the loader reads the file:
// YAML that does not parse or expands without bound, and references to
// other files (include, extends).
func vetRaw(data []byte) []string {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return []string{"it is not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(root.Content) == 0 {
		return []string{"it is empty"}
	}
	budget := 50_000
	if !countNodes(root.Content[0], &budget, 0, map[*yaml.Node]bool{}) {
		return []string{"it expands to too many values (aliases referring to aliases?), or uses a !!binary or custom YAML tag"}
	}
	top := root.Content[0]
	var out []string
	for _, key := range []string{"label_file", "env_file"} {
		if hasKey(top, key, map[*yaml.Node]bool{}) {
			out = append(out, key+": grade reads no other file of the submission for a stack; write the values in the compose file (labels:, environment:)")
		}
	}
	if mapGet(top, "include") != nil {
		out = append(out, "include: it would read other files; put everything in one compose file")
	}
	if svcs := mapGet(top, "services"); svcs != nil && svcs.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(svcs.Content); i += 2 {
			if ext := mapGet(svcs.Content[i+1], "extends"); ext != nil && mapGet(ext, "file") != nil {
				out = append(out, fmt.Sprintf("service %s: extends.file: it would read another file", svcs.Content[i].Value))
			}
		}
	}
	return out
}

// countNodes walks a YAML tree through its aliases within a budget.
func countNodes(n *yaml.Node, budget *int, depth int, expanding map[*yaml.Node]bool) bool {
	*budget--
	if *budget < 0 || depth > 64 {
		return false
	}
	if n.Tag == "!!binary" || (strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")) {
		return false // binary or custom tags: nothing a compose file needs, and they hide text from the checks
	}
	if n.Kind == yaml.AliasNode {
		if expanding[n.Alias] {
			return false
		}
		expanding[n.Alias] = true
		defer delete(expanding, n.Alias)
		return countNodes(n.Alias, budget, depth+1, expanding)
	}
	for _, c := range n.Content {
		if !countNodes(c, budget, depth+1, expanding) {
			return false
		}
	}
	return true
}

// hasKey reports whether a mapping key appears anywhere in the tree,
// aliases followed (countNodes has bounded the tree already).
func hasKey(n *yaml.Node, key string, seen map[*yaml.Node]bool) bool {
	if seen[n] {
		return false
	}
	seen[n] = true
	if n.Kind == yaml.AliasNode {
		return hasKey(n.Alias, key, seen)
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 && c.Value == key {
			return true
		}
		if hasKey(c, key, seen) {
			return true
		}
	}
	return false
}

// mapGet returns the value of key in a mapping node, or nil.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// vetProject applies the sandbox rules to a loaded project.
func vetProject(p *types.Project, dir string, images []string) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		for _, r := range vetService(p.Services[name], dir) {
			out = append(out, "service "+name+": "+r)
		}
		if r := vetImage(p, name, images); r != "" {
			out = append(out, "service "+name+": "+r)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Volumes)) {
		v := p.Volumes[name]
		if r := reservedLabels(v.Labels); r != "" {
			out = append(out, fmt.Sprintf("volume %s: %s", name, r))
		}
		switch {
		case bool(v.External):
			out = append(out, fmt.Sprintf("volume %s: external: true uses a volume this job did not create", name))
		case v.Driver != "" && v.Driver != "local":
			out = append(out, fmt.Sprintf("volume %s: driver %s: only the local driver is allowed", name, v.Driver))
		case v.DriverOpts["device"] != "" || strings.Contains(v.DriverOpts["o"], "bind"):
			out = append(out, fmt.Sprintf("volume %s: driver_opts device %q mounts a host path", name, v.DriverOpts["device"]))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Networks)) {
		n := p.Networks[name]
		if r := reservedLabels(n.Labels); r != "" {
			out = append(out, fmt.Sprintf("network %s: %s", name, r))
		}
		switch {
		case bool(n.External):
			out = append(out, fmt.Sprintf("network %s: external: true joins a network this job did not create", name))
		case n.Driver != "" && n.Driver != "bridge":
			out = append(out, fmt.Sprintf("network %s: driver %s: only bridge networks are allowed", name, n.Driver))
		}
	}
	for kind, objs := range fileObjects(p) {
		for _, name := range slices.Sorted(maps.Keys(objs)) {
			o := objs[name]
			switch {
			case o.File != "" && !insideReal(dir, o.File):
				out = append(out, fmt.Sprintf("%s %s: file %s is outside the submission", kind, name, shown(dir, o.File)))
			case o.Environment != "":
				out = append(out, fmt.Sprintf("%s %s: environment: %s would hand the stack grade's own environment", kind, name, o.Environment))
			case bool(o.External):
				out = append(out, fmt.Sprintf("%s %s: external: true uses an object this job did not create", kind, name))
			}
		}
	}
	if len(p.Models) > 0 {
		out = append(out, "models: model runners are not available")
	}
	sort.Strings(out)
	return out
}

// vetImage says why a service's image is refused ("" when it is not): a
// service not built from the submission runs an image the exercise lists,
// or one another service builds (its image: names it), nothing else of the
// engine's (another job's image, grade's own).
func vetImage(p *types.Project, name string, images []string) string {
	s := p.Services[name]
	if s.Build != nil {
		return ""
	}
	if slices.ContainsFunc(images, func(a string) bool { return guard.SameImage(a, s.Image) }) || builtImage(p, s.Image) != "" {
		return ""
	}
	if s.Image == "" {
		return "it has neither image: nor build:"
	}
	allowed := "none"
	if len(images) > 0 {
		allowed = strings.Join(images, ", ")
	}
	return fmt.Sprintf("image: %s is not an image of this exercise (%s); use one of those, or build: from your Dockerfile", s.Image, allowed)
}

// builtImage names the service built as image (its image: names the image
// it builds), "" when none is.
func builtImage(p *types.Project, image string) string {
	for _, n := range slices.Sorted(maps.Keys(p.Services)) {
		if o := p.Services[n]; o.Build != nil && o.Image != "" && guard.SameImage(o.Image, image) {
			return n
		}
	}
	return ""
}

// reservedLabels says why a file's labels are refused ("" when they are
// not): grade's (grade.*) and the compose engine's (com.docker.compose.*),
// which say whose a container or volume is, are set by them only.
func reservedLabels(l map[string]string) string {
	var bad []string
	for k := range l {
		if guard.ReservedLabel(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return ""
	}
	sort.Strings(bad)
	return fmt.Sprintf("labels: %s: grade.* and com.docker.compose.* labels are set by grade and by compose themselves", strings.Join(bad, ", "))
}

// fileObjects gives secrets and configs one type.
func fileObjects(p *types.Project) map[string]map[string]types.FileObjectConfig {
	out := map[string]map[string]types.FileObjectConfig{"secret": {}, "config": {}}
	for k, v := range p.Secrets {
		out["secret"][k] = types.FileObjectConfig(v)
	}
	for k, v := range p.Configs {
		out["config"][k] = types.FileObjectConfig(v)
	}
	return out
}

// vetService lists why one service may not run.
func vetService(s types.ServiceConfig, dir string) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if s.Privileged {
		add("privileged: true gives the container every capability and the host's devices")
	}
	if s.UseAPISocket {
		add("use_api_socket: true hands the container the Docker engine")
	}
	for key, v := range map[string]string{"network_mode": s.NetworkMode, "pid": s.Pid, "ipc": s.Ipc, "uts": s.Uts, "userns_mode": s.UserNSMode, "cgroup": s.Cgroup} {
		if v == "host" {
			add("%s: host shares the host's namespace", key)
		}
	}
	if strings.HasPrefix(s.NetworkMode, "container:") || strings.HasPrefix(s.Pid, "container:") || strings.HasPrefix(s.Ipc, "container:") {
		add("joining another container's namespace (container:…) reaches beyond the stack")
	}
	if m := s.NetworkMode; m != "" && m != "none" && m != "host" && !strings.HasPrefix(m, "service:") && !strings.HasPrefix(m, "container:") {
		add("network_mode: %s leaves the stack's own networks (use networks:, or none)", m)
	}
	if s.Extends != nil {
		add("extends: grade runs a service as the file writes it; write the service out")
	}
	if s.Provider != nil {
		add("provider: it would run a program on the host")
	}
	if len(s.EnvFiles) > 0 || len(s.LabelFiles) > 0 {
		add("env_file/label_file: grade reads no other file of the submission for a stack")
	}
	if len(s.ExternalLinks) > 0 {
		add("external_links: containers outside the stack are not reachable")
	}
	if len(s.Annotations) > 0 {
		add("annotations: they go to the container runtime")
	}
	if len(s.Models) > 0 {
		add("models: model runners are not available")
	}
	if len(s.CapAdd) > 0 {
		add("cap_add: %s adds capabilities", strings.Join(s.CapAdd, ", "))
	}
	if len(s.Devices) > 0 || len(s.DeviceCgroupRules) > 0 || len(s.Gpus) > 0 {
		add("devices: the host's devices are not available")
	}
	for _, o := range s.SecurityOpt {
		if lo := strings.ToLower(strings.ReplaceAll(o, ":", "=")); lo != "no-new-privileges" && lo != "no-new-privileges=true" {
			add("security_opt: %s: only no-new-privileges is allowed (others can loosen the sandbox)", o)
		}
	}
	if s.CgroupParent != "" {
		add("cgroup_parent: %s leaves the sandbox's limits", s.CgroupParent)
	}
	if s.Runtime != "" {
		add("runtime: %s: only the default runtime is allowed", s.Runtime)
	}
	if s.OomKillDisable {
		add("oom_kill_disable: true: the memory limit must be able to stop the container")
	}
	// As the API guard refuses them for a script's docker run.
	if len(s.Sysctls) > 0 {
		add("sysctls: they change the kernel's settings")
	}
	if len(s.StorageOpt) > 0 {
		add("storage_opt: it changes the engine's storage")
	}
	if b := s.BlkioConfig; b != nil && len(b.WeightDevice)+len(b.DeviceReadBps)+len(b.DeviceReadIOps)+len(b.DeviceWriteBps)+len(b.DeviceWriteIOps) > 0 {
		add("blkio_config: its device settings name devices of the host")
	}
	if s.CPURTRuntime != 0 || s.CPURTPeriod != 0 {
		add("cpu_rt_runtime/cpu_rt_period: real-time scheduling can starve the host")
	}
	if why := guard.OOMScoreAdjRefused(s.OomScoreAdj); why != "" {
		add("oom_score_adj: %d %s", s.OomScoreAdj, why)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Ulimits)) {
		if _, why := guard.VetUlimit(composeUlimit(name, s.Ulimits[name]), 0); why != "" {
			add("ulimits: %s %s", composeUlimit(name, s.Ulimits[name]), why)
		}
	}
	for _, t := range s.Tmpfs {
		if _, opts, _ := strings.Cut(t, ":"); opts != "" {
			if _, bad := guard.TmpfsOptions(opts, 0); bad != "" {
				add("tmpfs: %s sets %s, which grade does not allow on a tmpfs (only size, mode, uid, gid, nr_inodes and flags such as ro, exec or noatime)", t, bad)
			}
		}
	}
	for _, l := range []map[string]string{s.Labels, buildLabels(s.Build), deployLabels(s.Deploy)} {
		if r := reservedLabels(l); r != "" {
			add("%s", r)
		}
	}
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeBind:
			switch {
			case strings.HasSuffix(v.Source, "docker.sock") || strings.HasSuffix(v.Source, "containerd.sock"):
				add("volumes: %s:%s mounts the Docker socket, which controls the host", shown(dir, v.Source), v.Target)
			case !insideReal(dir, v.Source):
				add("volumes: %s:%s mounts a host path outside the submission", shown(dir, v.Source), v.Target)
			case regularFile(v.Source):
				// The engine may be on another machine: a bound folder is
				// a volume filled with it (workspace.go), and a volume
				// cannot stand for one file.
				add("volumes: %s:%s binds a single file; grade binds only folders of your submission: bind the folder that holds it", shown(dir, v.Source), v.Target)
			}
		case types.VolumeTypeVolume, types.VolumeTypeTmpfs, "":
			if v.Volume != nil {
				if r := reservedLabels(v.Volume.Labels); r != "" {
					add("volumes: %s: %s", v.Target, r)
				}
			}
		default:
			add("volumes: type %s is not allowed", v.Type)
		}
	}
	for _, f := range s.VolumesFrom {
		if strings.HasPrefix(f, "container:") {
			add("volumes_from: %s reads another container's volumes", f)
		}
	}
	for _, h := range append(append([]types.ServiceHook(nil), s.PostStart...), s.PreStop...) {
		if h.Privileged {
			add("post_start/pre_stop: a privileged hook")
		}
	}
	if b := s.Build; b != nil {
		if !insideReal(dir, b.Context) {
			add("build.context: %s is outside the submission", shown(dir, b.Context))
		}
		if df := b.Dockerfile; df != "" && !insideReal(b.Context, filepath.Join(b.Context, df)) {
			add("build.dockerfile: %s is outside the build context", df)
		}
		if b.DockerfileInline != "" || len(b.Secrets) > 0 || len(b.SSH) > 0 || len(b.AdditionalContexts) > 0 {
			add("build: dockerfile_inline, secrets, ssh and additional_contexts are not supported; build from a Dockerfile in the submission")
		}
		if b.Network == "host" {
			add("build.network: host shares the host's network")
		}
		if b.Privileged || len(b.Entitlements) > 0 {
			add("build: privileged builds are not allowed")
		}
	}
	return out
}

// composeUlimit is a compose file's ulimit as the compose engine gives it
// to the container: single sets both, soft and hard (when not 0) win.
func composeUlimit(name string, u *types.UlimitsConfig) guard.Ulimit {
	if u == nil {
		return guard.Ulimit{Name: name}
	}
	out := guard.Ulimit{Name: name, Soft: int64(u.Single), Hard: int64(u.Single)}
	if u.Soft != 0 {
		out.Soft = int64(u.Soft)
	}
	if u.Hard != 0 {
		out.Hard = int64(u.Hard)
	}
	return out
}

func buildLabels(b *types.BuildConfig) map[string]string {
	if b == nil {
		return nil
	}
	return b.Labels
}

func deployLabels(d *types.DeployConfig) map[string]string {
	if d == nil {
		return nil
	}
	return d.Labels
}

// insideReal reports whether path is dir or below it once links are
// followed: a link in the submission may point anywhere. The part of path
// that does not exist yet is taken as written.
func insideReal(dir, path string) bool {
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	p, rest := filepath.Clean(path), ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return inside(realDir, filepath.Join(r, rest))
		}
		parent := filepath.Dir(p)
		if parent == p {
			return false
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// shown writes a path the way the student wrote it: relative to the
// submission when it is below it as written.
func shown(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && inside(dir, path) {
		return "./" + filepath.ToSlash(rel)
	}
	return path
}

// regularFile reports whether p is a regular file (links followed).
func regularFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// inside reports whether path is dir or below it.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// cleanComposeErr shortens compose-go's messages and drops grade's paths
// and the file's name (the report names the file already).
func cleanComposeErr(err error, dir, file string) string {
	msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
	return strings.TrimPrefix(msg, "validating "+file+": ")
}
