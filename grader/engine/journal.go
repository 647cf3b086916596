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
// dead owners list.
//
// The journals are also how runs of this machine on one engine know of
// each other: a build may take a step from the cache another run's build
// made, so what builds share (untagged images, BuildKit's cache records)
// is removed only by the last run to end, with the shares of the runs that
// ended before it (whose journals say "ended"), or by `grade clean`.
// Runs on other machines do not see these journals; a build that fails
// because the engine lost what it was using is built again (buildOnce).

// journalDir is where the journals of runs on the engine known as key are
// kept ("" when there is none).
func journalDir(key string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "grade", "intermediate", key)
}

// engineKey names an engine in a folder name: its id, or its address
// when it gave none.
func engineKey(id, host string) string {
	if id == "" {
		id = host
	}
	var b strings.Builder
	for _, r := range id {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// endedMark is the journal's last line once its run has ended: what the
// run's builds share with other runs' stays for the last one.
const endedMark = "ended"

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

// endJournal marks this run's journal ended (it makes no more builds).
func (e *Engine) endJournal() {
	e.note([]string{endedMark})
}

// sweepJournals removes the images and cache records listed by the
// journals of other runs that are dead or ended.
func (e *Engine) sweepJournals(ctx context.Context) int {
	dir := e.journalDir
	if dir == "" {
		return 0
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, ent := range entries {
		name := strings.TrimSuffix(ent.Name(), ".ids")
		parts := strings.Split(name, "~")
		path := filepath.Join(dir, ent.Name())
		if len(parts) != 3 || parts[0] == e.runID || (!e.dead(owner(parts[1]+"/"+parts[2])) && !ended(path)) {
			continue
		}
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

// otherRunsLive reports whether another grade run of this machine on
// this engine is live: its journal is there, not ended, and its process is
// not gone.
func (e *Engine) otherRunsLive() bool {
	dir := e.journalDir
	if dir == "" {
		return false
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, ent := range entries {
		parts := strings.Split(strings.TrimSuffix(ent.Name(), ".ids"), "~")
		if len(parts) != 3 || parts[0] == e.runID {
			continue
		}
		if !e.dead(owner(parts[1]+"/"+parts[2])) && !ended(filepath.Join(dir, ent.Name())) {
			return true
		}
	}
	return false
}

// OtherRunsLive reports whether another grade process of this machine is
// grading on this engine (a check's time limit that ran out says so).
func (e *Engine) OtherRunsLive() bool { return e.otherRunsLive() }

// ended reports whether a journal's last line is endedMark.
func ended(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return false
	}
	n := int64(len(endedMark) + 1)
	if st.Size() < n {
		return false
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, st.Size()-n); err != nil {
		return false
	}
	return string(b) == endedMark+"\n"
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
