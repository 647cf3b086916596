package checks

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits bound what one job of a scenario may use and how long each step may
// take. A zero field means "not set here": the effective limits are the
// defaults, overridden by the configuration (site-wide), overridden by the
// scenario (per exercise); see Over.
type Limits struct {
	// Memory per container and per build step; swap is not allowed.
	Memory Size `yaml:"memory"`
	// CPUs per container, e.g. 1 or 0.5.
	CPUs float64 `yaml:"cpus" jsonschema:"minimum=0.01,maximum=64"`
	// PIDs is the number of processes and threads per container.
	PIDs int64 `yaml:"pids" jsonschema:"minimum=16"`
	// Build bounds the image build.
	Build Duration `yaml:"build"`
	// Start bounds starting the app container.
	Start Duration `yaml:"start"`
	// Check is the time limit of a check that sets no timeout of its own.
	Check Duration `yaml:"check"`
	// Job bounds the whole job: build, start and every check.
	Job Duration `yaml:"job"`
	// Context caps the build context (after .dockerignore).
	Context Size `yaml:"context"`
	// Output caps what is read of logs and of a command's output, per stream.
	Output Size `yaml:"output"`
	// Image caps the size of the built image.
	Image Size `yaml:"image"`
}

// DefaultLimits apply where neither the configuration nor the scenario sets
// a limit.
var DefaultLimits = Limits{
	Memory:  512 << 20,
	CPUs:    1,
	PIDs:    256,
	Build:   Duration(5 * time.Minute),
	Start:   Duration(time.Minute),
	Check:   Duration(30 * time.Second),
	Job:     Duration(5 * time.Minute),
	Context: 100 << 20,
	Output:  256 << 10,
	Image:   2 << 30,
}

// LimitKeys are the keys of a limits mapping, in the order they are documented.
var LimitKeys = []string{"memory", "cpus", "pids", "build", "start", "check", "job", "context", "output", "image"}

// Over returns l with every field it leaves unset taken from base.
func (l Limits) Over(base Limits) Limits {
	return Limits{
		Memory: set(l.Memory, base.Memory), CPUs: set(l.CPUs, base.CPUs), PIDs: set(l.PIDs, base.PIDs),
		Build: set(l.Build, base.Build), Start: set(l.Start, base.Start), Check: set(l.Check, base.Check),
		Job: set(l.Job, base.Job), Context: set(l.Context, base.Context), Output: set(l.Output, base.Output),
		Image: set(l.Image, base.Image),
	}
}

// set returns v when it is set (positive), else base.
func set[T ~int64 | ~float64](v, base T) T {
	if v > 0 {
		return v
	}
	return base
}

// Set sets one limit from its text form, as given in a configuration file,
// a GRADE_LIMITS_* variable or --limit key=value.
func (l *Limits) Set(key, value string) error {
	value = strings.TrimSpace(value)
	node := &yaml.Node{Kind: yaml.ScalarNode, Value: value}
	var err error
	switch strings.ToLower(strings.TrimSpace(key)) {
	case "memory":
		err = l.Memory.UnmarshalYAML(node)
	case "context":
		err = l.Context.UnmarshalYAML(node)
	case "output":
		err = l.Output.UnmarshalYAML(node)
	case "image":
		err = l.Image.UnmarshalYAML(node)
	case "build":
		err = l.Build.UnmarshalYAML(node)
	case "start":
		err = l.Start.UnmarshalYAML(node)
	case "check":
		err = l.Check.UnmarshalYAML(node)
	case "job":
		err = l.Job.UnmarshalYAML(node)
	case "cpus":
		l.CPUs, err = strconv.ParseFloat(value, 64)
		if err == nil && (l.CPUs < 0.01 || l.CPUs > 64) {
			err = fmt.Errorf("%q: give a number of CPUs between 0.01 and 64", value)
		} else if err != nil {
			err = fmt.Errorf("%q is not a number of CPUs like 1 or 0.5", value)
		}
	case "pids":
		l.PIDs, err = strconv.ParseInt(value, 10, 64)
		if err == nil && l.PIDs < 16 {
			err = fmt.Errorf("%q: give at least 16 processes", value)
		} else if err != nil {
			err = fmt.Errorf("%q is not a whole number of processes", value)
		}
	default:
		return fmt.Errorf("unknown limit %q (known: %s)", key, strings.Join(LimitKeys, ", "))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// String lists the limits the way docs/security.md and `grade list` show them.
func (l Limits) String() string {
	return fmt.Sprintf("memory %s, cpus %g, pids %d, build %s, start %s, check %s, job %s, context %s, output %s, image %s",
		l.Memory, l.CPUs, l.PIDs, l.Build.Std(), l.Start.Std(), l.Check.Std(), l.Job.Std(), l.Context, l.Output, l.Image)
}

// NanoCPUs is CPUs as the engine takes them (1e9 = one core).
func (l Limits) NanoCPUs() int64 { return int64(l.CPUs * 1e9) }
