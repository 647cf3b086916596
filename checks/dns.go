package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DNS grades name resolution between the student's containers (course
// 6.3): a name looked up from inside a container, as its processes would,
// resolves (and, with port, a TCP connection to it is made), or, with
// resolves: false, does not (e.g. on Docker's default bridge network,
// where containers do not find each other by name).
type DNS struct {
	// From is the container the lookup runs in (the student's name).
	From string `yaml:"from" jsonschema:"required"`
	// Name is the name looked up, e.g. my-db.
	Name string `yaml:"name" jsonschema:"required"`
	// Port, when set, is also connected to over TCP at the name.
	Port int `yaml:"port" jsonschema:"minimum=1,maximum=65535"`
	// Resolves says whether the name must resolve; default true.
	Resolves *bool `yaml:"resolves"`
}

// Requires reports that dns needs the student's commands to have run.
func (*DNS) Requires() Requirement { return NeedsContainer }

// Stack reports that dns grades what a student's docker commands made.
func (*DNS) Stack() string { return StackCommands }

func (c *DNS) resolves() bool { return c.Resolves == nil || *c.Resolves }

// Validate checks the names and the port.
func (c *DNS) Validate() error {
	if err := objectName("from", "container", c.From); err != nil {
		return err
	}
	if !hostNameRe.MatchString(c.Name) {
		return fieldErr("name", "%q is not a name to look up (like my-db)", c.Name)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fieldErr("port", "%d is not a port", c.Port)
	}
	if c.Port != 0 && !c.resolves() {
		return fieldErr("port", "cannot be reached when the name must not resolve (resolves: false)")
	}
	return nil
}

func (c *DNS) expected() string {
	if !c.resolves() {
		return fmt.Sprintf("%s does not resolve from inside %s", c.Name, c.From)
	}
	s := fmt.Sprintf("%s resolves from inside %s", c.Name, c.From)
	if c.Port > 0 {
		s += fmt.Sprintf(", and port %d answers there", c.Port)
	}
	return s
}

// Run looks the name up from inside the container.
func (c *DNS) Run(ctx context.Context, t Target) Outcome {
	expected := c.expected()
	nr, ok := t.(NameResolver)
	if !ok {
		return capErr(expected, "look names up inside a container")
	}
	from, _, o, done := lookUpContainer(ctx, t, expected, c.From, true)
	if done {
		return o
	}
	res, err := nr.ResolveFrom(ctx, c.From, c.Name, c.Port)
	if err != nil {
		return commandsOutcome(expected, c.From, err)
	}
	addrs := strings.Join(res.Addrs, ", ")
	said := ""
	if out := strings.TrimSpace(res.Output); out != "" {
		said = ": " + quote(clip(out, 300), 400)
	}
	switch {
	case !c.resolves() && len(res.Addrs) == 0:
		return Pass(expected, fmt.Sprintf("%s does not resolve from %s%s", c.Name, c.From, said))
	case !c.resolves():
		msg := fmt.Sprintf("%s resolves to %s from %s, and the exercise wants it not found there", c.Name, addrs, c.From)
		if shared := c.shared(ctx, t, from); len(shared) > 0 {
			msg += fmt.Sprintf(": both are on %s, where containers find each other by name", strings.Join(shared, ", "))
		}
		return Fail(expected, fmt.Sprintf("%s resolves to %s from %s", c.Name, addrs, c.From), msg)
	case len(res.Addrs) == 0:
		msg := fmt.Sprintf("%s does not resolve from %s: containers find each other by name only on a network of their own "+
			"(docker network create, then --network on both) (6.3)", c.Name, c.From)
		if why := c.whyNot(ctx, t, from); why != "" {
			msg += "; " + why
		}
		return Fail(expected, fmt.Sprintf("%s does not resolve from %s%s", c.Name, c.From, said), msg)
	case c.Port > 0 && !res.Reached:
		msg := fmt.Sprintf("%s resolves to %s, but nothing answered on port %d", c.Name, addrs, c.Port)
		if target, ok := c.target(ctx, t); ok && !target.Running {
			msg += ": " + notRunning(c.Name, target)
		} else {
			msg += fmt.Sprintf(": does the server in %s listen on port %d, on all its interfaces (0.0.0.0), not only on 127.0.0.1?", c.Name, c.Port)
		}
		return Fail(expected, fmt.Sprintf("%s resolves to %s from %s; port %d did not answer%s", c.Name, addrs, c.From, c.Port, said), msg)
	}
	actual := fmt.Sprintf("%s resolves to %s from %s", c.Name, addrs, c.From)
	if c.Port > 0 {
		actual += fmt.Sprintf(", and port %d answered", c.Port)
	}
	return Pass(expected, actual)
}

// target inspects the container named Name, when there is one.
func (c *DNS) target(ctx context.Context, t Target) (ContainerInfo, bool) {
	oi, ok := t.(ObjectInspector)
	if !ok {
		return ContainerInfo{}, false
	}
	info, err := oi.Container(ctx, c.Name)
	return info, err == nil
}

// shared lists the user-defined networks (not Docker's default bridge,
// where names do not resolve) From and the container named Name are both on.
func (c *DNS) shared(ctx context.Context, t Target, from ContainerInfo) []string {
	target, ok := c.target(ctx, t)
	if !ok {
		return nil
	}
	var out []string
	for _, n := range from.Networks {
		if n != "bridge" && slices.Contains(target.Networks, n) {
			out = append(out, n)
		}
	}
	return out
}

// whyNot says why a name does not resolve, from what the containers are
// on; "" when nothing is known.
func (c *DNS) whyNot(ctx context.Context, t Target, from ContainerInfo) string {
	oi, ok := t.(ObjectInspector)
	if !ok {
		return ""
	}
	target, err := oi.Container(ctx, c.Name)
	if errors.Is(err, ErrNotExist) {
		return fmt.Sprintf("no container is named %s (is it the name its docker run --name gives, or a --network-alias?)", c.Name)
	}
	if err != nil {
		return ""
	}
	shared := c.shared(ctx, t, from)
	switch {
	case onDefaultBridge(from.Networks) && onDefaultBridge(target.Networks):
		return fmt.Sprintf("%s and %s are both on Docker's default bridge network, where names do not resolve", c.From, c.Name)
	case len(shared) == 0:
		return fmt.Sprintf("%s is on %s and %s on %s: they share no network of their own", c.From, showNetworks(from.Networks), c.Name, showNetworks(target.Networks))
	case !target.Running:
		return notRunning(c.Name, target) + "; only a running container is found by name"
	}
	return ""
}
