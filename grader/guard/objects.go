package guard

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
)

// What a job's checks read of the objects its script made, by the
// student's names.

// Lookup finds a container the script made by the student's name or an id
// prefix: the student's name of it, and false when the job has none.
func (c *Commands) Lookup(ref string) (string, Container, bool) {
	name, k := c.container(ref)
	if k == nil {
		return "", Container{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return name, *k, true
}

// Forget drops a container of the student's that grade removed.
func (c *Commands) Forget(name string) {
	c.mu.Lock()
	delete(c.containers, name)
	c.mu.Unlock()
}

// Replace records the container grade made in place of the student's
// container of that name (the same options, run again).
func (c *Commands) Replace(name string, k Container) {
	c.mu.Lock()
	c.containers[name] = &k
	c.mu.Unlock()
}

// HasVolume reports whether the script made a named volume of that name.
func (c *Commands) HasVolume(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.volumes[name]
}

// HasNetwork reports whether the script made a network of that name.
func (c *Commands) HasNetwork(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.networks[name]
}

// EngineName is the engine's name of an object the student named so.
func (c *Commands) EngineName(name string) string { return c.engineName(name) }

// StudentName is the student's name of an object of the job's, and false
// for an engine name that is not the job's.
func (c *Commands) StudentName(engineName string) (string, bool) {
	return strings.CutPrefix(engineName, c.prefix)
}

// Snapshot lists the job's containers: the student's name → id.
func (c *Commands) Snapshot() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.containers))
	for n, k := range c.containers {
		out[n] = k.ID
	}
	return out
}

// ErrNoObject says the script made no object of that name (c may be nil:
// the script has not run).
func (c *Commands) ErrNoObject(what, name string) error { return c.errNoObject(what, name) }

// EditWorkspace writes a file of the workspace (p, clean and relative)
// into the copy and into the bound folders' volumes, as an edit on the
// student's machine would show in every bind of it.
func (c *Commands) EditWorkspace(ctx context.Context, p string, content []byte) error {
	root, err := os.OpenRoot(c.work)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	if dir := path.Dir(p); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("editing %s: %w", p, err)
		}
	}
	if err := root.WriteFile(p, content, 0o644); err != nil {
		return fmt.Errorf("editing %s: %w", p, err)
	}
	return c.sb.EditFolders(ctx, p, content)
}

// ensureWorkspace makes the volume of the workspace folder rel.
func (c *Commands) ensureWorkspace(ctx context.Context, rel string) error {
	_, err := c.sb.FolderVolume(ctx, filepath.Join(c.work, filepath.FromSlash(rel)), rel)
	return err
}

// wsRel gives the workspace folder a script's bind source names ("site"
// for /work/site), and false when it is not under the script's working
// folder.
func wsRel(src string) (string, bool) {
	clean := path.Clean(src)
	if clean == scriptWorkdir {
		return ".", true
	}
	rel, ok := strings.CutPrefix(clean, scriptWorkdir+"/")
	return rel, ok
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
