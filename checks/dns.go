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
	// Network, when set, is the user-defined network (the student's name)
	// on which the name must be found: From and the container named Name
	// must both be on it, so that the answer is Docker's DNS there. A name
	// that resolves only through an /etc/hosts entry (--add-host with an
	// address copied from docker inspect) or between containers that share
	// no such network does not pass.
	Network string `yaml:"network"`
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
	if c.Network != "" {
		if !c.resolves() {
			return fieldErr("network", "is the network the name must be found on; it means nothing when the name must not resolve (resolves: false)")
		}
		if err := objectName("network", "network", c.Network); err != nil {
			return err
		}
		if c.Network == "bridge" {
			return fieldErr("network", "bridge is Docker's default network, where names do not resolve; give the user-defined network the exercise makes")
		}
	}
	return nil
}

func (c *DNS) expected() string {
	if !c.resolves() {
		return fmt.Sprintf("%s does not resolve from inside %s", c.Name, c.From)
	}
	s := fmt.Sprintf("%s resolves from inside %s", c.Name, c.From)
	if c.Network != "" {
		s += fmt.Sprintf(" through Docker's DNS on %s", c.Network)
	}
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
	if c.Network != "" {
		if msg := c.offNetwork(ctx, t, from, res); msg != "" {
			return Fail(expected, actual, msg)
		}
	}
	return Pass(expected, actual)
}

// offNetwork says why a name that resolved was not found through Docker's
// DNS on Network: From or the container named Name is not on it; "" when
// both are.
func (c *DNS) offNetwork(ctx context.Context, t Target, from ContainerInfo, res Resolution) string {
	target, ok := c.target(ctx, t)
	var off []string
	if !slices.Contains(from.Networks, c.Network) {
		off = append(off, fmt.Sprintf("%s is on %s", c.From, showNetworks(from.Networks)))
	}
	switch {
	case !ok:
		off = append(off, "no container is named "+c.Name)
	case !slices.Contains(target.Networks, c.Network):
		off = append(off, fmt.Sprintf("%s is on %s", c.Name, showNetworks(target.Networks)))
	}
	if len(off) == 0 {
		return ""
	}
	if ok && onDefaultBridge(from.Networks) && onDefaultBridge(target.Networks) {
		off = []string{fmt.Sprintf("%s and %s are both on Docker's default bridge network", c.From, c.Name)}
	}
	how := "the address does not come from Docker's DNS on " + c.Network
	if !strings.Contains(res.Output, "Name:") {
		// nslookup found nothing: the address is an /etc/hosts entry.
		how = fmt.Sprintf("the address comes from an entry in %s's /etc/hosts (--add-host), written by hand, not from Docker's DNS, and it goes stale when %s is recreated", c.From, c.Name)
	}
	return fmt.Sprintf("%s resolves from %s, but not on %s: %s; %s. Put both on %s (--network %s) and let Docker's DNS find %s by its name (6.3)",
		c.Name, c.From, c.Network, strings.Join(off, " and "), how, c.Network, c.Network, c.Name)
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
