package checks

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Container grades a container the student's commands made (course 3.2, 5,
// 6), found by the name the student gave it: that it is there and, as
// expected, its state, image, published ports, restart policy, --rm, mounts
// and networks. Every mismatch is reported, each with what was expected and
// what the container has.
type Container struct {
	// Name is the container's name as the student's docker run --name gave it.
	Name   string          `yaml:"name" jsonschema:"required"`
	Expect ContainerExpect `yaml:"expect"`
}

// ContainerExpect is what the container must be. Empty fields are not
// checked, except Status, which defaults to running.
type ContainerExpect struct {
	// Status is running (the default), exited or created.
	Status string `yaml:"status" jsonschema:"enum=running,enum=exited,enum=created"`
	// Image is the image it runs, compared in full: nginx, nginx:latest and
	// docker.io/library/nginx:latest are the same image.
	Image string `yaml:"image"`
	// Ports must each be published, written as in docker run -p:
	// "HOST:CONTAINER" or "HOST:CONTAINER/udp".
	Ports []string `yaml:"ports"`
	// Restart is its restart policy: no, always, unless-stopped or on-failure.
	Restart string `yaml:"restart" jsonschema:"enum=no,enum=always,enum=unless-stopped,enum=on-failure"`
	// AutoRemove says whether it was run with --rm.
	AutoRemove *bool `yaml:"auto_remove"`
	// Mounts must each be mounted.
	Mounts []MountExpect `yaml:"mounts"`
	// Networks are networks (the student's names) it must be on.
	Networks []string `yaml:"networks"`
}

// MountExpect is a mount a container must have: a named volume (Name) or a
// folder of the submission (Source) at Destination.
type MountExpect struct {
	// Type is volume or bind.
	Type string `yaml:"type" jsonschema:"required,enum=volume,enum=bind"`
	// Name is the volume's name (type volume).
	Name string `yaml:"name"`
	// Source is the bind-mounted folder, relative to the submission (type
	// bind), e.g. site for -v "$(pwd)/site":/usr/share/nginx/html.
	Source string `yaml:"source"`
	// Destination is where it is mounted in the container.
	Destination string `yaml:"destination" jsonschema:"required"`
}

// Requires reports that container needs the student's commands to have run.
func (*Container) Requires() Requirement { return NeedsContainer }

// Stack reports that container grades what a student's docker commands made.
func (*Container) Stack() string { return StackCommands }

func (c *Container) status() string {
	if c.Expect.Status == "" {
		return "running"
	}
	return c.Expect.Status
}

// Validate checks the names, the port mappings and the mounts.
func (c *Container) Validate() error {
	if err := objectName("name", "container", c.Name); err != nil {
		return err
	}
	e := c.Expect
	if e.Status != "" && !slices.Contains([]string{"running", "exited", "created"}, e.Status) {
		return fieldErr("expect.status", "%q is not running, exited or created", e.Status)
	}
	if e.Image != "" && strings.ContainsAny(e.Image, " \t\n") {
		return fieldErr("expect.image", "%q is not an image name (like nginx or nginx:1.23-alpine)", e.Image)
	}
	for _, p := range e.Ports {
		if _, err := parsePortSpec(p); err != nil {
			return fieldErr("expect.ports", "%v", err)
		}
	}
	if e.Restart != "" && !slices.Contains([]string{"no", "always", "unless-stopped", "on-failure"}, e.Restart) {
		return fieldErr("expect.restart", "%q is not no, always, unless-stopped or on-failure", e.Restart)
	}
	for i, m := range e.Mounts {
		if err := m.validate(fmt.Sprintf("expect.mounts.%d", i)); err != nil {
			return err
		}
	}
	for _, n := range e.Networks {
		if err := objectName("expect.networks", "network", n); err != nil {
			return err
		}
	}
	return nil
}

func (m MountExpect) validate(field string) error {
	if err := containerPath(field+".destination", m.Destination); err != nil {
		return err
	}
	switch m.Type {
	case "volume":
		if m.Source != "" {
			return fieldErr(field+".source", "is for a bind mount; a volume is named with name")
		}
		return objectName(field+".name", "volume", m.Name)
	case "bind":
		if m.Name != "" {
			return fieldErr(field+".name", "is for a volume; a bind mount gives the folder with source")
		}
		if m.Source == "" {
			return fieldErr(field+".source", "is required for a bind mount: the folder, relative to the submission (like site)")
		}
		if path.Clean(m.Source) == "." {
			return nil
		}
		return submissionPath(field+".source", m.Source)
	}
	return fieldErr(field+".type", "%q is not volume or bind", m.Type)
}

// String writes the mount as the student's -v would.
func (m MountExpect) String() string {
	if m.Type == "bind" {
		return fmt.Sprintf("-v \"$(pwd)/%s\":%s", cleanSource(m.Source), m.Destination)
	}
	return fmt.Sprintf("-v %s:%s", m.Name, m.Destination)
}

// cleanSource writes a bind mount's source relative to the submission as
// "site" (not "./site/").
func cleanSource(s string) string { return path.Clean(s) }

// portSpec is a port mapping as docker run -p writes it.
type portSpec struct {
	host, container int
	proto           string
}

func (p portSpec) String() string {
	s := fmt.Sprintf("%d:%d", p.host, p.container)
	if p.proto != "tcp" {
		s += "/" + p.proto
	}
	return s
}

// parsePortSpec reads "8080:80", "8080:80/tcp" or "53:53/udp".
func parsePortSpec(s string) (portSpec, error) {
	bad := fmt.Errorf("%q is not a port mapping like \"8080:80\" or \"8080:80/udp\" (HOST:CONTAINER)", s)
	body, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return portSpec{}, bad
	}
	h, ctr, ok := strings.Cut(body, ":")
	if !ok {
		return portSpec{}, bad
	}
	hp, err1 := strconv.Atoi(h)
	cp, err2 := strconv.Atoi(ctr)
	if err1 != nil || err2 != nil || hp < 1 || hp > 65535 || cp < 1 || cp > 65535 {
		return portSpec{}, bad
	}
	return portSpec{host: hp, container: cp, proto: proto}, nil
}

// normalImage writes an image reference in full, as docker run resolves
// it: nginx, nginx:latest and docker.io/library/nginx:latest are one image.
func normalImage(ref string) string {
	name, digest, _ := strings.Cut(strings.TrimSpace(ref), "@")
	tag := ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	domain, rest := "docker.io", name
	if first, after, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		domain, rest = first, after
	}
	if domain == "index.docker.io" || domain == "registry-1.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	if tag == "" && digest == "" {
		tag = "latest"
	}
	out := domain + "/" + rest
	if tag != "" {
		out += ":" + tag
	}
	if digest != "" {
		out += "@" + digest
	}
	return out
}

// expected says what the check wants.
func (c *Container) expected() string {
	parts := []string{"a container named " + c.Name, c.status()}
	e := c.Expect
	if e.Image != "" {
		parts = append(parts, "from "+e.Image)
	}
	if len(e.Ports) > 0 {
		parts = append(parts, "publishing "+strings.Join(e.Ports, ", "))
	}
	if e.Restart != "" {
		parts = append(parts, "restart policy "+e.Restart)
	}
	if e.AutoRemove != nil {
		if *e.AutoRemove {
			parts = append(parts, "run with --rm")
		} else {
			parts = append(parts, "run without --rm")
		}
	}
	for _, m := range e.Mounts {
		parts = append(parts, "with "+m.String())
	}
	if len(e.Networks) > 0 {
		parts = append(parts, "on "+strings.Join(e.Networks, ", "))
	}
	return strings.Join(parts, ", ")
}

// showContainer describes a container for Actual.
func showContainer(info ContainerInfo) string {
	parts := []string{info.Name + ": " + showStatus(info)}
	if info.Image != "" {
		parts = append(parts, "image "+info.Image)
	}
	if len(info.Ports) == 0 {
		parts = append(parts, "no published ports")
	} else {
		var ps []string
		for _, b := range info.Ports {
			ps = append(ps, showBinding(b))
		}
		parts = append(parts, strings.Join(ps, " "))
	}
	restart := info.RestartPolicy
	if restart == "" {
		restart = "no"
	}
	parts = append(parts, "restart "+restart)
	if info.AutoRemove {
		parts = append(parts, "--rm")
	}
	for _, m := range info.Mounts {
		parts = append(parts, showMount(m))
	}
	parts = append(parts, "on "+showNetworks(info.Networks))
	return strings.Join(parts, ", ")
}

// Run inspects the container and compares it with every expectation.
func (c *Container) Run(ctx context.Context, t Target) Outcome {
	expected := c.expected()
	oi, ok := t.(ObjectInspector)
	if !ok {
		return capErr(expected, "inspect what the student's commands made")
	}
	info, err := oi.Container(ctx, c.Name)
	if err != nil {
		return commandsOutcome(expected, c.Name, err)
	}
	if info.Name == "" {
		info.Name = c.Name
	}
	var problems []string
	add := func(s string) {
		if s != "" {
			problems = append(problems, s)
		}
	}
	add(c.statusProblem(info))
	e := c.Expect
	if e.Image != "" && normalImage(e.Image) != normalImage(info.Image) {
		add(fmt.Sprintf("it runs the image %s, not %s", info.Image, e.Image))
	}
	for _, p := range e.Ports {
		want, _ := parsePortSpec(p) // validated at load
		add(portProblem(want, info.Ports))
	}
	if e.Restart != "" {
		got := info.RestartPolicy
		if got == "" {
			got = "no"
		}
		if got != e.Restart {
			how := "docker run --restart " + e.Restart
			if e.Restart == "no" {
				how = "leave out --restart"
			}
			add(fmt.Sprintf("its restart policy is %s, not %s (%s)", got, e.Restart, how))
		}
	}
	if e.AutoRemove != nil && *e.AutoRemove != info.AutoRemove {
		if info.AutoRemove {
			add("it was run with --rm, so docker removes it as soon as it stops; leave out --rm")
		} else {
			add("it was run without --rm: give docker run --rm to have it removed when it stops")
		}
	}
	for _, m := range e.Mounts {
		add(mountProblem(m, info.Mounts))
	}
	for _, n := range e.Networks {
		if !slices.Contains(info.Networks, n) {
			add(fmt.Sprintf("it is on %s, not on %s (docker run --network %s, or docker network connect %s %s)",
				showNetworks(info.Networks), n, n, n, c.Name))
		}
	}
	actual := showContainer(info)
	if len(problems) == 0 {
		return Pass(expected, actual)
	}
	o := Fail(expected, actual, c.Name+": "+strings.Join(problems, "; "))
	if c.status() == "running" && !info.Running {
		o.Detail = containerLog(ctx, t, c.Name)
	}
	return o
}

// statusProblem compares the container's state with the expected one.
func (c *Container) statusProblem(info ContainerInfo) string {
	want, got := c.status(), containerStatus(info)
	if want == got {
		return ""
	}
	switch {
	case want == "running" && got == "exited":
		return fmt.Sprintf("it has exited (code %d), not running: a container runs only as long as its main process (docker logs %s says why it ended)", info.ExitCode, c.Name)
	case want == "running":
		return notRunning("it", info)
	case want == "exited" && got == "running":
		return "it is still running, not exited (docker stop " + c.Name + ")"
	}
	return fmt.Sprintf("it is %s, not %s", showStatus(info), want)
}

// portProblem says how the published ports miss want, "" when one is it.
func portProblem(want portSpec, have []PortBinding) string {
	proto := func(b PortBinding) string {
		if b.Proto == "" {
			return "tcp"
		}
		return b.Proto
	}
	for _, b := range have {
		if b.HostPort == want.host && b.ContainerPort == want.container && proto(b) == want.proto {
			return ""
		}
	}
	w, run := want.String(), "-p "+want.String()
	for _, b := range have {
		switch {
		case b.HostPort == want.host && b.ContainerPort == want.container:
			return fmt.Sprintf("it publishes %s, not %s", showBinding(b), w)
		case b.HostPort == want.container && b.ContainerPort == want.host:
			return fmt.Sprintf("it publishes %s, not %s (HOST:CONTAINER: the host port comes first)", showBinding(b), w)
		case b.HostPort == want.host:
			return fmt.Sprintf("it publishes %s, not %s: the second number is the port the app listens on inside the container", showBinding(b), w)
		case b.ContainerPort == want.container && proto(b) == want.proto:
			return fmt.Sprintf("it publishes %s, not %s: the first number is the port on the host", showBinding(b), w)
		}
	}
	if len(have) == 0 {
		return fmt.Sprintf("it publishes no ports, not %s (docker run %s)", w, run)
	}
	var ps []string
	for _, b := range have {
		ps = append(ps, showBinding(b))
	}
	return fmt.Sprintf("it does not publish %s (docker run %s; it publishes %s)", w, run, strings.Join(ps, " "))
}

// mountProblem says how the container's mounts miss want, "" when one is it.
func mountProblem(want MountExpect, have []Mount) string {
	m, ok := mountAt(have, want.Destination)
	if !ok {
		return fmt.Sprintf("nothing is mounted at %s (docker run %s)", want.Destination, want)
	}
	at := "at " + want.Destination + " it has "
	if want.Type == "volume" {
		switch {
		case m.Type == "volume" && !m.Anonymous && m.Name == want.Name:
			return ""
		case m.Type == "volume" && m.Anonymous:
			return at + fmt.Sprintf("an anonymous volume, not the volume %s: name it (%s)", want.Name, want)
		case m.Type == "volume":
			return at + fmt.Sprintf("the volume %s, not %s", m.Name, want.Name)
		case m.Type == "bind":
			return at + fmt.Sprintf("a bind mount of %s, a folder of the host, not the volume %s (%s: a name, not a path, before the colon)", m.Source, want.Name, want)
		}
		return at + fmt.Sprintf("a %s mount, not the volume %s (%s)", m.Type, want.Name, want)
	}
	switch {
	case m.Type == "bind" && path.Clean(m.Source) == cleanSource(want.Source):
		return ""
	case m.Type == "bind":
		return at + fmt.Sprintf("a bind mount of %s, not of %s (%s)", m.Source, cleanSource(want.Source), want)
	case m.Type == "volume" && m.Anonymous:
		return at + fmt.Sprintf("an anonymous volume, not the folder %s (%s)", cleanSource(want.Source), want)
	case m.Type == "volume":
		return at + fmt.Sprintf("the volume %s, not the folder %s: a bare name before the colon makes a volume; a bind mount needs a path (%s)", m.Name, cleanSource(want.Source), want)
	}
	return at + fmt.Sprintf("a %s mount, not the folder %s (%s)", m.Type, cleanSource(want.Source), want)
}
