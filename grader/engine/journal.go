package engine

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
)

// The untagged images a build creates (one per step, and each stage's
// result) carry no labels: the classic builder labels only the final image.
// A run removes them at its end; so that a run killed with SIGKILL does not
// leave them behind, each run also notes their ids in a journal file named
// after its owner, and the sweep of dead runs removes what the journals of
// dead owners list. Only a local engine's runs keep a journal.

// journalDir is where the journals are kept ("" when there is none).
func journalDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "grade", "intermediate")
}

// journalName encodes a run and its owner (host/pid) as a file name.
func journalName(run string, o owner) string {
	return run + "~" + strings.ReplaceAll(string(o), "/", "~") + ".ids"
}

// cachePrefix marks a BuildKit cache record's id in a journal (the other
// lines are untagged images').
const cachePrefix = "cache:"

// note appends image ids to this run's journal; with no ids it makes the
// journal, which tells other runs that this one is live (otherRunsLive).
func (e *Engine) note(ids []string) {
	if e.journal == "" {
		return
	}
	e.jmu.Lock()
	defer e.jmu.Unlock()
	if err := os.MkdirAll(filepath.Dir(e.journal), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(e.journal, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	_, _ = f.WriteString(strings.Join(ids, "\n") + "\n")
}

// dropJournal removes this run's journal once its images are removed.
func (e *Engine) dropJournal() {
	if e.journal != "" {
		_ = os.Remove(e.journal)
	}
}

// sweepJournals removes the images listed by the journals of dead runs.
func (e *Engine) sweepJournals(ctx context.Context) int {
	dir := journalDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, ent := range entries {
		name := strings.TrimSuffix(ent.Name(), ".ids")
		parts := strings.Split(name, "~")
		if len(parts) != 3 || !e.dead(owner(parts[1]+"/"+parts[2])) {
			continue
		}
		path := filepath.Join(dir, ent.Name())
		var images, cache []string
		for _, id := range readJournal(path) {
			if c, ok := strings.CutPrefix(id, cachePrefix); ok {
				cache = append(cache, c)
			} else {
				images = append(images, id)
			}
		}
		n += e.removeUntagged(ctx, images)
		_ = e.pruneIDs(ctx, cache)
		_ = os.Remove(path)
	}
	return n
}

// otherRunsLive reports whether another grade run of this machine is live:
// its journal is there and its process is not gone.
func (e *Engine) otherRunsLive() bool {
	dir := journalDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, ent := range entries {
		parts := strings.Split(strings.TrimSuffix(ent.Name(), ".ids"), "~")
		if len(parts) != 3 || parts[0] == e.runID {
			continue
		}
		if !e.dead(owner(parts[1] + "/" + parts[2])) {
			return true
		}
	}
	return false
}

func readJournal(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); isHexID(strings.TrimPrefix(id, "sha256:")) {
			ids = append(ids, id)
		}
	}
	return ids
}
