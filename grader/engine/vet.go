package engine

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// maxComposeFile caps the compose file grade reads.
const maxComposeFile = 256 << 10

// VetCompose loads a submission's compose file with compose-go (the loader
// the compose engine itself uses) and checks it against the sandbox rules
// before anything starts. It reads nothing outside the submission: no
// included or extended files, no environment of grade's own. refused lists
// why the file cannot be run, in the student's terms (empty when it may);
// err is grade's own failure.
func VetCompose(ctx context.Context, dir, file, project string) (p *types.Project, refused []string, err error) {
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
		return nil, []string{fmt.Sprintf("%s does not load: %s", file, cleanComposeErr(err, dir))}, nil
	}
	return p, vetProject(p, dir), nil
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
		return []string{"it expands to too many values (aliases referring to aliases?)"}
	}
	top := root.Content[0]
	var out []string
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
func vetProject(p *types.Project, dir string) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		for _, r := range vetService(p.Services[name], dir) {
			out = append(out, "service "+name+": "+r)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Volumes)) {
		v := p.Volumes[name]
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
		switch {
		case bool(n.External):
			out = append(out, fmt.Sprintf("network %s: external: true joins a network this job did not create", name))
		case n.Driver != "" && n.Driver != "bridge":
			out = append(out, fmt.Sprintf("network %s: driver %s: only bridge networks are allowed", name, n.Driver))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Secrets)) {
		if f := p.Secrets[name].File; f != "" && !inside(dir, f) {
			out = append(out, fmt.Sprintf("secret %s: file %s is outside the submission", name, f))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Configs)) {
		if f := p.Configs[name].File; f != "" && !inside(dir, f) {
			out = append(out, fmt.Sprintf("config %s: file %s is outside the submission", name, f))
		}
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
	if len(s.CapAdd) > 0 {
		add("cap_add: %s adds capabilities", strings.Join(s.CapAdd, ", "))
	}
	if len(s.Devices) > 0 || len(s.DeviceCgroupRules) > 0 || len(s.Gpus) > 0 {
		add("devices: the host's devices are not available")
	}
	for _, o := range s.SecurityOpt {
		lo := strings.ToLower(strings.ReplaceAll(o, ":", "="))
		if strings.Contains(lo, "unconfined") || lo == "label=disable" || strings.HasPrefix(lo, "no-new-privileges=false") {
			add("security_opt: %s loosens the sandbox", o)
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
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeBind:
			switch {
			case strings.HasSuffix(v.Source, "docker.sock") || strings.HasSuffix(v.Source, "containerd.sock"):
				add("volumes: %s:%s mounts the Docker socket, which controls the host", v.Source, v.Target)
			case !inside(dir, v.Source):
				add("volumes: %s:%s mounts a host path outside the submission", v.Source, v.Target)
			}
		case types.VolumeTypeVolume, types.VolumeTypeTmpfs, "":
		default:
			add("volumes: type %s is not allowed", v.Type)
		}
	}
	for _, f := range s.VolumesFrom {
		if strings.HasPrefix(f, "container:") {
			add("volumes_from: %s reads another container's volumes", f)
		}
	}
	for _, e := range s.EnvFiles {
		if !inside(dir, e.Path) {
			add("env_file: %s is outside the submission", e.Path)
		}
	}
	for _, h := range append(append([]types.ServiceHook(nil), s.PostStart...), s.PreStop...) {
		if h.Privileged {
			add("post_start/pre_stop: a privileged hook")
		}
	}
	if b := s.Build; b != nil {
		if !inside(dir, b.Context) {
			add("build.context: %s is outside the submission", b.Context)
		}
		if b.Network == "host" {
			add("build.network: host shares the host's network")
		}
		if b.Privileged || len(b.Entitlements) > 0 {
			add("build: privileged builds are not allowed")
		}
		for name, c := range b.AdditionalContexts {
			if !strings.Contains(c, "://") && !inside(dir, c) {
				add("build.additional_contexts.%s: %s is outside the submission", name, c)
			}
		}
	}
	return out
}

// inside reports whether path is dir or below it.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// cleanComposeErr shortens compose-go's messages and drops grade's paths.
func cleanComposeErr(err error, dir string) string {
	return strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
}
