package checks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// NetworkCheck grades a network the student's commands made (course 6.3):
// that a network of that name is there, its driver, which containers are on
// it, and the aliases they answer to there.
type NetworkCheck struct {
	// Name is the network's name as the student gave it (docker network
	// create NAME).
	Name   string        `yaml:"name" jsonschema:"required"`
	Expect NetworkExpect `yaml:"expect"`
}

// NetworkExpect is what the network must be.
type NetworkExpect struct {
	// Driver is the network's driver; default bridge.
	Driver string `yaml:"driver"`
	// Containers lists containers (the student's names) that must be on it.
	Containers []string `yaml:"containers"`
	// Aliases maps a container to names it must answer to on the network
	// besides its own (docker run --network-alias).
	Aliases map[string][]string `yaml:"aliases"`
}

// Requires reports that network needs the student's commands to have run.
func (*NetworkCheck) Requires() Requirement { return NeedsContainer }

// Stack reports that network grades what a student's docker commands made.
func (*NetworkCheck) Stack() string { return StackCommands }

func (c *NetworkCheck) driver() string {
	if c.Expect.Driver == "" {
		return "bridge"
	}
	return c.Expect.Driver
}

// Validate checks the names.
func (c *NetworkCheck) Validate() error {
	if err := objectName("name", "network", c.Name); err != nil {
		return err
	}
	for _, ctr := range c.Expect.Containers {
		if err := objectName("expect.containers", "container", ctr); err != nil {
			return err
		}
	}
	for _, ctr := range slices.Sorted(maps.Keys(c.Expect.Aliases)) {
		if err := objectName("expect.aliases", "container", ctr); err != nil {
			return err
		}
		if len(c.Expect.Aliases[ctr]) == 0 {
			return fieldErr("expect.aliases."+ctr, "lists no alias")
		}
		for _, a := range c.Expect.Aliases[ctr] {
			if !hostNameRe.MatchString(a) {
				return fieldErr("expect.aliases."+ctr, "%q is not a name a container can answer to (like db)", a)
			}
		}
	}
	return nil
}

// members lists the containers the check wants on the network: those of
// containers, then those with aliases.
func (c *NetworkCheck) members() []string {
	out := slices.Clone(c.Expect.Containers)
	for _, ctr := range slices.Sorted(maps.Keys(c.Expect.Aliases)) {
		if !slices.Contains(out, ctr) {
			out = append(out, ctr)
		}
	}
	return out
}

func (c *NetworkCheck) expected() string {
	s := fmt.Sprintf("a network named %s (driver %s)", c.Name, c.driver())
	if m := c.members(); len(m) > 0 {
		s += " with " + strings.Join(m, ", ") + " on it"
	}
	for _, ctr := range slices.Sorted(maps.Keys(c.Expect.Aliases)) {
		s += fmt.Sprintf("; %s answering to %s there", ctr, strings.Join(c.Expect.Aliases[ctr], ", "))
	}
	return s
}

func showNetwork(n NetworkInfo) string {
	s := fmt.Sprintf("%s: driver %s", n.Name, n.Driver)
	if len(n.Containers) == 0 {
		return s + ", no container on it"
	}
	var on []string
	for _, ctr := range slices.Sorted(maps.Keys(n.Containers)) {
		if as := n.Containers[ctr]; len(as) > 0 {
			ctr += " (aliases " + strings.Join(as, ", ") + ")"
		}
		on = append(on, ctr)
	}
	return s + ", on it: " + strings.Join(on, ", ")
}

// Run inspects the network and the containers that should be on it.
func (c *NetworkCheck) Run(ctx context.Context, t Target) Outcome {
	expected := c.expected()
	oi, ok := t.(ObjectInspector)
	if !ok {
		return capErr(expected, "inspect what the student's commands made")
	}
	info, err := oi.Network(ctx, c.Name)
	if errors.Is(err, ErrNotExist) {
		return Fail(expected, "no network named "+c.Name,
			orRefused(err, "network", c.Name, fmt.Sprintf("there is no network named %s: create it with docker network create %s, before the docker run that puts a container on it", c.Name, c.Name)))
	}
	if err != nil {
		return engineOutcome(expected, err)
	}
	if info.Name == "" {
		info.Name = c.Name
	}
	var problems []string
	if info.Driver != "" && info.Driver != c.driver() {
		problems = append(problems, fmt.Sprintf("its driver is %s, not %s", info.Driver, c.driver()))
	}
	for _, ctr := range c.members() {
		aliases, on := info.Containers[ctr]
		if !on {
			s, err := c.whereIs(ctx, oi, ctr)
			if err != nil {
				return engineOutcome(expected, err)
			}
			problems = append(problems, s)
			continue
		}
		var missing []string
		for _, a := range c.Expect.Aliases[ctr] {
			if a != ctr && !slices.Contains(aliases, a) {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 {
			args := ""
			for _, a := range missing {
				args += " --network-alias " + a
			}
			problems = append(problems, fmt.Sprintf("%s does not answer to %s on %s: run it with --network %s%s",
				ctr, strings.Join(missing, ", "), c.Name, c.Name, args))
		}
	}
	if len(problems) > 0 {
		return Fail(expected, showNetwork(info), strings.Join(problems, "; "))
	}
	return Pass(expected, showNetwork(info))
}

// whereIs says why a container is not on the network. The error is the
// engine's.
func (c *NetworkCheck) whereIs(ctx context.Context, oi ObjectInspector, ctr string) (string, error) {
	info, err := oi.Container(ctx, ctr)
	if errors.Is(err, ErrNotExist) {
		return fmt.Sprintf("there is no container named %s (docker run --name %s --network %s …)", ctr, ctr, c.Name), nil
	}
	if err != nil {
		return "", err
	}
	fix := fmt.Sprintf("run it with --network %s (or docker network connect %s %s)", c.Name, c.Name, ctr)
	if onDefaultBridge(info.Networks) {
		return fmt.Sprintf("%s is on Docker's default bridge network, not on %s: %s", ctr, c.Name, fix), nil
	}
	return fmt.Sprintf("%s is on %s, not on %s: %s", ctr, showNetworks(info.Networks), c.Name, fix), nil
}
