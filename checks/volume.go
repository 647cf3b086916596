package checks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// VolumeCheck grades a named volume the student's commands made (course
// 5.2): that a volume of that name is there, its driver, which containers
// mount it where, and which files it holds (a fresh volume mounted over a
// non-empty directory of the image is filled with that directory's files).
type VolumeCheck struct {
	// Name is the volume's name as the student gave it (docker volume
	// create NAME, or -v NAME:/path).
	Name   string       `yaml:"name" jsonschema:"required"`
	Expect VolumeExpect `yaml:"expect"`
}

// VolumeExpect is what the volume must be.
type VolumeExpect struct {
	// Driver is the volume's driver; default local.
	Driver string `yaml:"driver"`
	// MountedAt maps a container (the student's name) to the path at which
	// it must mount the volume.
	MountedAt map[string]string `yaml:"mounted_at"`
	// Contains lists paths that must exist in the volume, relative to its
	// root (index.html, not /usr/share/nginx/html/index.html).
	Contains []string `yaml:"contains"`
}

// Requires reports that volume needs the student's commands to have run.
func (*VolumeCheck) Requires() Requirement { return NeedsContainer }

// Stack reports that volume grades what a student's docker commands made.
func (*VolumeCheck) Stack() string { return StackCommands }

func (c *VolumeCheck) driver() string {
	if c.Expect.Driver == "" {
		return "local"
	}
	return c.Expect.Driver
}

// Validate checks the names and paths.
func (c *VolumeCheck) Validate() error {
	if err := objectName("name", "volume", c.Name); err != nil {
		return err
	}
	for _, ctr := range slices.Sorted(maps.Keys(c.Expect.MountedAt)) {
		if err := objectName("expect.mounted_at", "container", ctr); err != nil {
			return err
		}
		if err := containerPath("expect.mounted_at."+ctr, c.Expect.MountedAt[ctr]); err != nil {
			return err
		}
	}
	for _, p := range c.Expect.Contains {
		clean := path.Clean(p)
		if p == "" || path.IsAbs(p) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
			return fieldErr("expect.contains", "%q must be a path inside the volume, relative to its root (like index.html)", p)
		}
	}
	return nil
}

func (c *VolumeCheck) expected() string {
	s := fmt.Sprintf("a volume named %s (driver %s)", c.Name, c.driver())
	var at []string
	for _, ctr := range slices.Sorted(maps.Keys(c.Expect.MountedAt)) {
		at = append(at, fmt.Sprintf("by %s at %s", ctr, c.Expect.MountedAt[ctr]))
	}
	if len(at) > 0 {
		s += ", mounted " + strings.Join(at, " and ")
	}
	if len(c.Expect.Contains) > 0 {
		s += ", holding " + strings.Join(c.Expect.Contains, ", ")
	}
	return s
}

func showVolume(v VolumeInfo) string {
	s := fmt.Sprintf("%s: driver %s", v.Name, v.Driver)
	if len(v.Containers) == 0 {
		return s + ", mounted by no container"
	}
	var at []string
	for _, ctr := range slices.Sorted(maps.Keys(v.Containers)) {
		at = append(at, fmt.Sprintf("by %s at %s", ctr, v.Containers[ctr]))
	}
	return s + ", mounted " + strings.Join(at, " and ")
}

// Run inspects the volume and reads the paths it must hold.
func (c *VolumeCheck) Run(ctx context.Context, t Target) Outcome {
	expected := c.expected()
	oi, ok := t.(ObjectInspector)
	if !ok {
		return capErr(expected, "inspect what the student's commands made")
	}
	info, err := oi.Volume(ctx, c.Name)
	if errors.Is(err, ErrNotExist) {
		msg := orRefused(err, "volume", c.Name, fmt.Sprintf("there is no volume named %s: docker volume create %s, or -v %s:/path creates it", c.Name, c.Name, c.Name))
		var seen, gone []string
		for _, ctr := range slices.Sorted(maps.Keys(c.Expect.MountedAt)) {
			s, err := c.whatIsAt(ctx, oi, ctr, c.Expect.MountedAt[ctr])
			switch {
			case errors.Is(err, ErrNotExist):
				gone = append(gone, ctr)
			case err != nil:
				return engineOutcome(expected, err)
			default:
				seen = append(seen, s)
			}
		}
		if len(seen) > 0 {
			msg += "; instead " + strings.Join(seen, "; ")
		}
		if len(gone) > 0 {
			msg += "; and there is no container named " + strings.Join(gone, " or ")
		}
		return Fail(expected, "no volume named "+c.Name, msg)
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
	for _, ctr := range slices.Sorted(maps.Keys(c.Expect.MountedAt)) {
		want := c.Expect.MountedAt[ctr]
		got, ok := info.Containers[ctr]
		switch {
		case ok && samePath(got, want):
		case ok:
			problems = append(problems, fmt.Sprintf("%s mounts it at %s, not at %s (-v %s:%s)", ctr, got, want, c.Name, want))
		default:
			s, err := c.whatIsAt(ctx, oi, ctr, want)
			switch {
			case errors.Is(err, ErrNotExist):
				problems = append(problems, "there is no container named "+ctr+" to mount it")
				continue
			case err != nil:
				return engineOutcome(expected, err)
			}
			problems = append(problems, fmt.Sprintf("%s does not mount it (-v %s:%s): %s", ctr, c.Name, want, s))
		}
	}
	if len(c.Expect.Contains) > 0 {
		vr, ok := t.(VolumeReader)
		if !ok {
			return capErr(expected, "read a volume's files")
		}
		var missing []string
		for _, p := range c.Expect.Contains {
			_, err := vr.ReadVolume(ctx, c.Name, path.Clean(p), 0)
			switch {
			case errors.Is(err, ErrNotExist):
				missing = append(missing, p)
			case err != nil:
				return engineOutcome(expected, err)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("it holds no %s: a volume gets the files of the image's directory it is mounted over only when it is empty at its first mount "+
				"(mounted at the directory that has them, before anything else wrote into it)", strings.Join(missing, ", ")))
		}
	}
	if len(problems) > 0 {
		return Fail(expected, showVolume(info), c.Name+": "+strings.Join(problems, "; "))
	}
	return Pass(expected, showVolume(info))
}

// whatIsAt says what a container has at p, for a volume it does not mount
// there: e.g. "my-web has a bind mount of site at /usr/share/nginx/html".
// The error wraps ErrNotExist when there is no such container.
func (c *VolumeCheck) whatIsAt(ctx context.Context, oi ObjectInspector, ctr, p string) (string, error) {
	info, err := oi.Container(ctx, ctr)
	if err != nil {
		return "", err
	}
	m, ok := mountAt(info.Mounts, p)
	switch {
	case !ok:
		var vols []string
		for _, m := range info.Mounts {
			vols = append(vols, showMount(m))
		}
		if len(vols) > 0 {
			return fmt.Sprintf("%s has nothing mounted at %s (it has %s)", ctr, p, strings.Join(vols, ", ")), nil
		}
		return fmt.Sprintf("%s has nothing mounted at %s, so what it writes there goes with the container", ctr, p), nil
	case m.Type == "bind":
		return fmt.Sprintf("%s has a bind mount of %s at %s, a folder of the host, not a volume (-v %s:%s: a name, not a path, before the colon)", ctr, m.Source, p, c.Name, p), nil
	case m.Type == "volume" && m.Anonymous:
		return fmt.Sprintf("%s has an anonymous volume at %s (-v %s without a name, or the image's VOLUME): name it, -v %s:%s", ctr, p, p, c.Name, p), nil
	}
	return fmt.Sprintf("%s has %s", ctr, showMount(m)), nil
}
