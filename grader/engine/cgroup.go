package engine

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gradeproject/grade/checks"
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

// bkParent is where BuildKit on a cgroupfs engine puts each build step's
// cgroup (docker/buildkit/<id>, in every controller).
const bkParent = "docker/buildkit"

// stepLimiter gives every BuildKit build step on a local engine the limits
// of the builds in flight, as soon as the step's cgroup appears: BuildKit
// ignores a build's memory and CPU options, and it has no pids option, so a
// fork bomb or a memory hog in a RUN would otherwise reach the whole host.
// A step is limited within a few milliseconds of its start; one that got
// past a limit in that time is stopped at it (no more processes, its memory
// reclaimed or the step killed). With builds of several jobs at once, each
// step gets the largest of their limits.
type stepLimiter struct {
	c *buildCgroups

	mu      sync.Mutex
	active  map[int]checks.Limits
	next    int
	running bool
	seen    map[string]bool // the steps already limited
}

func newStepLimiter(c *buildCgroups) *stepLimiter {
	return &stepLimiter{c: c, active: map[int]checks.Limits{}, seen: map[string]bool{}}
}

// stepPoll is how often the steps' cgroups are looked for while a build runs.
const stepPoll = 10 * time.Millisecond

// begin says a build with limits l runs; end says it is over.
func (s *stepLimiter) begin(l checks.Limits) (end func()) {
	if s == nil {
		return func() {}
	}
	s.mu.Lock()
	id := s.next
	s.next++
	s.active[id] = l
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		go s.loop()
	}
	return func() {
		s.mu.Lock()
		delete(s.active, id)
		s.mu.Unlock()
	}
}

func (s *stepLimiter) loop() {
	t := time.NewTicker(stepPoll)
	defer t.Stop()
	for range t.C {
		s.mu.Lock()
		if len(s.active) == 0 {
			s.running = false
			s.seen = map[string]bool{}
			s.mu.Unlock()
			return
		}
		var l checks.Limits
		for _, a := range s.active {
			l.Memory, l.PIDs = max(l.Memory, a.Memory), max(l.PIDs, a.PIDs)
			l.CPUs = max(l.CPUs, a.CPUs)
		}
		s.mu.Unlock()
		s.limitNew(l)
	}
}

// limitNew limits the step cgroups that appeared since the last look.
func (s *stepLimiter) limitNew(l checks.Limits) {
	entries, err := os.ReadDir(s.c.ctrlDir("pids", bkParent))
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || s.seen[e.Name()] {
			continue
		}
		s.seen[e.Name()] = true
		s.c.limitStep(path.Join(bkParent, e.Name()), l)
	}
}

// ctrlDir is the cgroup name in a controller's tree (v1), or in the one
// tree (v2).
func (c *buildCgroups) ctrlDir(ctrl, name string) string {
	if c.v2 {
		return filepath.Join(c.root, name)
	}
	return filepath.Join(c.root, ctrl, name)
}

// limitStep writes limits into the cgroup name: pids first (a fork bomb is
// the fastest harm), then memory (no swap), then CPU.
func (c *buildCgroups) limitStep(name string, l checks.Limits) {
	put := func(ctrl, file string, v string) {
		_ = os.WriteFile(filepath.Join(c.ctrlDir(ctrl, name), file), []byte(v), 0o644)
	}
	if l.PIDs > 0 {
		put("pids", "pids.max", strconv.FormatInt(l.PIDs, 10))
	}
	if m := int64(l.Memory); m > 0 {
		if c.v2 {
			put("memory", "memory.max", strconv.FormatInt(m, 10))
			put("memory", "memory.swap.max", "0")
		} else {
			put("memory", "memory.limit_in_bytes", strconv.FormatInt(m, 10))
			put("memory", "memory.memsw.limit_in_bytes", strconv.FormatInt(m, 10))
		}
	}
	if q := l.NanoCPUs() / 10_000; q > 0 { // µs per 100 ms period
		if c.v2 {
			put("cpu", "cpu.max", strconv.FormatInt(q, 10)+" 100000")
		} else {
			put("cpu", "cpu.cfs_period_us", "100000")
			put("cpu", "cpu.cfs_quota_us", strconv.FormatInt(q, 10))
		}
	}
}
