package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestJournals: which other runs hold back the removal of what builds
// share, and whose journals the last run sweeps.
func TestJournals(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Hostname()
	livePid, deadPid := strconv.Itoa(os.Getpid()), strconv.Itoa(dead.Process.Pid)
	for _, tc := range []struct {
		name    string
		others  map[string]string // journal owner pid → content
		live    bool
		swept   []string // the others' journals the sweep removes
		remains []string
	}{
		{"alone", nil, false, nil, nil},
		{"another live run", map[string]string{livePid: "\n"}, true, nil, []string{livePid}},
		{"another run ended", map[string]string{livePid: "\nended\n"}, false, []string{livePid}, nil},
		{"a dead run", map[string]string{deadPid: "\n"}, false, []string{deadPid}, nil},
		{"ended, then more noted", map[string]string{livePid: "\nended\nabc\n"}, true, nil, []string{livePid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			e := &Engine{runID: "r0", self: self, journalDir: dir}
			e.journal = filepath.Join(dir, journalName(e.runID, owner(self+"/"+livePid)))
			e.note(nil)
			i := 0
			paths := map[string]string{}
			for pid, content := range tc.others {
				i++
				p := filepath.Join(dir, journalName("r"+strconv.Itoa(i), owner(self+"/"+pid)))
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				paths[pid] = p
			}
			if got := e.otherRunsLive(); got != tc.live {
				t.Errorf("otherRunsLive = %v, want %v", got, tc.live)
			}
			e.endJournal()
			if !ended(e.journal) {
				t.Error("this run's journal is not marked ended")
			}
			e.sweepJournals(context.Background())
			for _, pid := range tc.swept {
				if _, err := os.Stat(paths[pid]); err == nil {
					t.Errorf("the journal of %s was not swept", pid)
				}
			}
			for _, pid := range tc.remains {
				if _, err := os.Stat(paths[pid]); err != nil {
					t.Errorf("the journal of %s was swept: %v", pid, err)
				}
			}
			if _, err := os.Stat(e.journal); err != nil {
				t.Error("the sweep removed this run's own journal")
			}
		})
	}
}

func TestEngineKey(t *testing.T) {
	for _, tc := range []struct{ id, host, want string }{
		{"ABCD:EFGH:1234", "unix:///var/run/docker.sock", "ABCD_EFGH_1234"},
		{"", "tcp://10.213.0.2:2375", "tcp___10_213_0_2_2375"},
		{"0b1c-../x", "", "0b1c-___x"},
	} {
		if got := engineKey(tc.id, tc.host); got != tc.want {
			t.Errorf("engineKey(%q, %q) = %q, want %q", tc.id, tc.host, got, tc.want)
		}
	}
}
