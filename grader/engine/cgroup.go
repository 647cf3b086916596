package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupPrefix names the cgroups grade makes for builds.
const cgroupPrefix = "grade-build-"

// buildCgroups gives each job's build a cgroup parent holding the job's pids
// limit: the builder API takes a memory and CPU limit for build steps but no
// pids limit, and a fork bomb in a RUN step would otherwise fill the host's
// process table. It works only where grade runs beside a local engine that
// uses the cgroupfs driver, as root; elsewhere builds have no pids limit.
type buildCgroups struct {
	root string // /sys/fs/cgroup
	v2   bool
}

// detectBuildCgroups returns the cgroup tree to use, or nil.
func detectBuildCgroups(root, driver string) *buildCgroups {
	if driver != "cgroupfs" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		b, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
		if err != nil || !strings.Contains(string(b), "pids") {
			return nil
		}
		return writable(&buildCgroups{root: root, v2: true})
	}
	if _, err := os.Stat(filepath.Join(root, "pids", "tasks")); err == nil {
		return writable(&buildCgroups{root: root})
	}
	return nil
}

// writable returns c if grade may make cgroups in it.
func writable(c *buildCgroups) *buildCgroups {
	dir := c.dir("probe-" + strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil
	}
	_ = os.Remove(dir)
	return c
}

// dir is the pids cgroup of name.
func (c *buildCgroups) dir(name string) string {
	if c.v2 {
		return filepath.Join(c.root, name)
	}
	return filepath.Join(c.root, "pids", name)
}

// make creates the cgroup parent name with a pids limit.
func (c *buildCgroups) make(name string, pids int64) error {
	dir := c.dir(name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("making cgroup %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.FormatInt(pids, 10)), 0o644); err != nil {
		c.remove(name)
		return fmt.Errorf("limiting cgroup %s: %w", name, err)
	}
	return nil
}

// remove removes the cgroup parent name from every controller where the
// runtime made it (it fails, harmlessly, while a build step still runs in it).
func (c *buildCgroups) remove(name string) {
	if c.v2 {
		_ = os.Remove(filepath.Join(c.root, name))
		return
	}
	ctrls, _ := os.ReadDir(c.root)
	for _, ctrl := range ctrls {
		_ = os.Remove(filepath.Join(c.root, ctrl.Name(), name))
	}
}

// sweep removes grade's empty build cgroups whose names start with prefix
// (a run's, or every run's).
func (c *buildCgroups) sweep(prefix string) {
	entries, _ := os.ReadDir(filepath.Dir(c.dir("x")))
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), cgroupPrefix+prefix) {
			c.remove(e.Name())
		}
	}
}
