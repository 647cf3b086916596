package checks

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ComposeUp grades that the submission's compose stack comes up: the compose
// file passes the sandbox rules, every service's container is running (and
// healthy where it has a health check), and, optionally, the named services
// exist and publish the expected ports. grade brings the stack up before any
// check runs; this kind reports it.
type ComposeUp struct {
	Expect ComposeExpect `yaml:"expect"`
}

// ComposeExpect is what the stack must have besides running services.
type ComposeExpect struct {
	// Services must exist in the compose file.
	Services []string `yaml:"services"`
	// Publishes maps a service to port mappings its compose file must
	// declare, written as in compose: "8000:5000".
	Publishes map[string][]string `yaml:"publishes"`
}

// Requires reports that the check needs nothing before it.
func (*ComposeUp) Requires() Requirement { return NeedsNothing }

// Validate checks the expected port mappings' form.
func (c *ComposeUp) Validate() error {
	for svc, ports := range c.Expect.Publishes {
		for _, p := range ports {
			if _, err := normalPort(p); err != nil {
				return fieldErr("expect.publishes."+svc, "%v", err)
			}
		}
	}
	return nil
}

// Run reports the stack.
func (c *ComposeUp) Run(_ context.Context, t Target) Outcome {
	sr, ok := t.(StackReporter)
	if !ok {
		return capErr(c.expected(), "report a compose stack")
	}
	s := sr.StackInfo()
	file := s.File
	if file == "" {
		file = "compose.yaml"
	}
	if len(s.Refused) > 0 {
		msg := file + ": " + s.Refused[0] + "; nothing was started"
		if len(s.Refused) > 1 {
			msg = fmt.Sprintf("%s asks for %d things the sandbox refuses (listed below); nothing was started", file, len(s.Refused))
		}
		o := Fail(c.expected(), "refused before anything started", msg)
		o.Detail = "refused:\n  - " + strings.Join(s.Refused, "\n  - ")
		return o
	}
	byName := map[string]ServiceInfo{}
	for _, svc := range s.Services {
		byName[svc.Name] = svc
	}
	var problems []string
	for _, want := range c.Expect.Services {
		if _, ok := byName[want]; !ok {
			problems = append(problems, fmt.Sprintf("%s has no service %q", file, want))
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(c.Expect.Publishes)) {
		got, ok := byName[svc]
		if !ok {
			continue // reported above, or by the state below
		}
		for _, p := range c.Expect.Publishes[svc] {
			want, _ := normalPort(p)
			if !slices.Contains(got.Ports, want) {
				have := "no ports"
				if len(got.Ports) > 0 {
					have = strings.Join(got.Ports, ", ")
				}
				problems = append(problems, fmt.Sprintf("service %s should publish %s (host port:container port), but declares %s", svc, want, have))
			}
		}
	}
	if !s.OK {
		msg := s.Error
		if msg == "" {
			msg = "the stack did not come up"
		}
		o := Fail(c.expected(), showServices(s.Services), strings.Join(append([]string{msg}, problems...), "; "))
		o.Detail = logTail(s.Log, 20)
		return o
	}
	for _, svc := range s.Services {
		switch {
		case svc.State != "running":
			problems = append(problems, fmt.Sprintf("service %s is %s (exit code %d)", svc.Name, svc.State, svc.ExitCode))
		case svc.Health != "" && svc.Health != "healthy":
			problems = append(problems, fmt.Sprintf("service %s is %s", svc.Name, svc.Health))
		}
	}
	if len(problems) > 0 {
		o := Fail(c.expected(), showServices(s.Services), strings.Join(problems, "; "))
		o.Detail = logTail(s.Log, 20)
		return o
	}
	return Pass(c.expected(), fmt.Sprintf("%s, up in %s", showServices(s.Services), s.Duration.Round(100*time.Millisecond)))
}

func (c *ComposeUp) expected() string {
	e := "the compose stack comes up with every service running"
	if len(c.Expect.Publishes) > 0 {
		var ps []string
		for _, svc := range slices.Sorted(maps.Keys(c.Expect.Publishes)) {
			ps = append(ps, svc+" publishing "+strings.Join(c.Expect.Publishes[svc], ", "))
		}
		e += "; " + strings.Join(ps, "; ")
	}
	return e
}

// showServices lists services and their states.
func showServices(ss []ServiceInfo) string {
	if len(ss) == 0 {
		return "no service started"
	}
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		st := s.State
		if s.Health != "" {
			st += ", " + s.Health
		}
		if s.State == "exited" {
			st += fmt.Sprintf(" (code %d)", s.ExitCode)
		}
		parts = append(parts, s.Name+": "+st)
	}
	return strings.Join(parts, ", ")
}

// normalPort writes a compose port mapping as "HOST:CONTAINER" without a
// protocol or address; "5000" stays "5000".
func normalPort(p string) (string, error) {
	p = strings.TrimSuffix(strings.TrimSpace(p), "/tcp")
	parts := strings.Split(p, ":")
	if len(parts) > 3 || len(parts) == 0 || parts[len(parts)-1] == "" {
		return "", fmt.Errorf("%q is not a port mapping like \"8000:5000\"", p)
	}
	for _, n := range parts[max(0, len(parts)-2):] {
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return "", fmt.Errorf("%q is not a port mapping like \"8000:5000\"", p)
		}
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return parts[len(parts)-2] + ":" + parts[len(parts)-1], nil
}

// Stack reports that compose-up grades a compose stack.
func (*ComposeUp) Stack() string { return StackCompose }
