package scenario

import (
	"time"

	"github.com/gradeproject/grade/checks"
)

// Version is the scenario format version this package reads.
const Version = 1

// Scenario is one assignment: what to build and start, and the checks to run.
type Scenario struct {
	// Version is the format version; always 1.
	Version int `yaml:"version" jsonschema:"required,enum=1"`
	// ID names the scenario and the submission folder graded against it.
	ID string `yaml:"id" jsonschema:"required,pattern=^[a-z0-9][a-z0-9._-]*$"`
	// Chapter is the course chapter, Section the course section ("4.1").
	Chapter     int         `yaml:"chapter" jsonschema:"required,minimum=1"`
	Section     string      `yaml:"section"`
	Title       checks.Text `yaml:"title" jsonschema:"required"`
	Description checks.Text `yaml:"description"`
	// Requires lists files the submission must contain; without them every
	// check is skipped with that reason.
	Requires []string `yaml:"requires"`
	// Images lists the base images the scenario's submissions build FROM, so
	// `grade images` can prepare them.
	Images []string `yaml:"images"`
	Stack  Stack    `yaml:"stack" jsonschema:"required"`
	// Limits override the configured sandbox limits for this exercise.
	Limits checks.Limits `yaml:"limits"`
	// Checks run in order.
	Checks []CheckSpec `yaml:"checks" jsonschema:"required,minItems=1"`

	// File is where the scenario was read from, for messages.
	File string `yaml:"-"`
	// Digest is the sha256 of the scenario file.
	Digest string `yaml:"-"`
}

// Stack says what a submission is built into and started as.
type Stack struct {
	Image *ImageStack `yaml:"image"`
	// Compose is the submission's compose file: its stack is vetted against
	// the sandbox rules, its services' images are built, and it comes up.
	// A scenario has either image or compose.
	Compose string `yaml:"compose"`
	// Commands is a submission of docker commands (a shell script, run by
	// the `script` check against grade's API guard): the stack is what
	// they make. The images they may run are the scenario's images.
	Commands *CommandsStack `yaml:"commands"`
	// Outbound lets the running containers reach the internet; without it
	// they reach only the job's own network.
	Outbound bool `yaml:"outbound"`
	// BuildNetwork: false gives the submission's builds no network at all
	// (docker build --network none): no RUN step reaches the internet or
	// the engine's host. Default true, for Dockerfiles that install
	// packages (apt-get, pip, npm).
	BuildNetwork *bool `yaml:"build_network"`
}

// OfflineBuild reports whether the stack's builds get no network.
func (s Stack) OfflineBuild() bool { return s.BuildNetwork != nil && !*s.BuildNetwork }

// ImageStack is a submission built from a Dockerfile into one image, started
// as one container.
type ImageStack struct {
	// Build is the build context inside the submission; default ".".
	Build string `yaml:"build"`
	// Dockerfile is its path inside the context; default "Dockerfile".
	Dockerfile string `yaml:"dockerfile"`
	// Target is the stage to build (docker build --target); default the
	// last. With BuildKit only the stages it needs are built.
	Target string     `yaml:"target"`
	Run    RunOptions `yaml:"run"`
}

// RunOptions says how the app container is started.
type RunOptions struct {
	// Env is added to the container's environment.
	Env map[string]string `yaml:"env"`
}

// CommandsStack is a submission of docker commands; it has no keys yet
// (write commands: {}).
type CommandsStack struct{}

// Visibility says who sees a check.
type Visibility string

// The visibilities.
const (
	Visible Visibility = "visible"
	Hidden  Visibility = "hidden"
)

// CheckSpec is one check of a scenario: the fields every kind has, and the
// kind's own spec.
type CheckSpec struct {
	Common `yaml:",inline"`
	// Check is the kind's spec, decoded from the same mapping.
	Check checks.Check `yaml:"-"`
	// Line and Column locate the check in its file.
	Line, Column int `yaml:"-"`
}

// Common are the keys every check has.
type Common struct {
	ID     string      `yaml:"id" jsonschema:"required,pattern=^[a-z0-9][a-z0-9._-]*$"`
	Kind   string      `yaml:"kind" jsonschema:"required"`
	Title  checks.Text `yaml:"title"`
	Points float64     `yaml:"points" jsonschema:"required,minimum=0"`
	// Hint tells a student what to look at when the check fails; See names
	// the course section.
	Hint       checks.Text     `yaml:"hint"`
	See        string          `yaml:"see"`
	Visibility Visibility      `yaml:"visibility" jsonschema:"enum=visible,enum=hidden"`
	Timeout    checks.Duration `yaml:"timeout"`
}

// Effective returns the scenario's limits over base (the configured ones,
// themselves over DefaultLimits).
func (s *Scenario) Effective(base checks.Limits) checks.Limits { return s.Limits.Over(base) }

// IsCompose reports whether the submission is a compose stack.
func (s *Scenario) IsCompose() bool { return s.Stack.Compose != "" }

// IsCommands reports whether the submission is docker commands.
func (s *Scenario) IsCommands() bool { return s.Stack.Commands != nil }

// StackKind names the scenario's stack as checks.StackUser does.
func (s *Scenario) StackKind() string {
	switch {
	case s.IsCompose():
		return checks.StackCompose
	case s.IsCommands():
		return checks.StackCommands
	}
	return checks.StackImage
}

// Context is the build context folder inside the submission.
func (s *Scenario) Context() string {
	if s.Stack.Image == nil || s.Stack.Image.Build == "" {
		return "."
	}
	return s.Stack.Image.Build
}

// Dockerfile is the Dockerfile's path inside the build context.
func (s *Scenario) Dockerfile() string {
	if s.Stack.Image == nil || s.Stack.Image.Dockerfile == "" {
		return "Dockerfile"
	}
	return s.Stack.Image.Dockerfile
}

// MaxPoints is the sum of the points of the checks, hidden ones included
// when hidden is true.
func (s *Scenario) MaxPoints(hidden bool) float64 {
	var sum float64
	for _, c := range s.Checks {
		if c.Visibility == Hidden && !hidden {
			continue
		}
		sum += c.Points
	}
	return sum
}

// Limit is the time limit of one check: its own timeout, else def (the
// scenario's check limit).
func (c *CheckSpec) Limit(def time.Duration) time.Duration {
	if c.Timeout > 0 {
		return c.Timeout.Std()
	}
	return def
}

// Hidden reports whether students do not see the check.
func (c *CheckSpec) Hidden() bool { return c.Visibility == Hidden }
