package checks

import (
	"strings"
	"testing"
	"time"
)

// TestLimits: a limit set from text, laid over the defaults, is what the
// engine gets; bad text names the key and what it takes.
func TestLimits(t *testing.T) {
	tests := []struct {
		key, value string
		check      func(Limits) bool
		err        string
	}{
		{"memory", "256MiB", func(l Limits) bool { return l.Memory == 256<<20 }, ""},
		{"cpus", "0.5", func(l Limits) bool { return l.NanoCPUs() == 5e8 }, ""},
		{"pids", "64", func(l Limits) bool { return l.PIDs == 64 }, ""},
		{"build", "2m", func(l Limits) bool { return l.Build.Std() == 2*time.Minute }, ""},
		{"Context", " 1MB ", func(l Limits) bool { return l.Context == 1e6 }, ""},
		{"pids", "8", nil, "at least 16"},
		{"cpus", "many", nil, "not a number of CPUs"},
		{"cpus", "100", nil, "between 0.01 and 64"},
		{"disk", "1G", nil, "unknown limit"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			var l Limits
			err := l.Set(tt.key, tt.value)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			eff := l.Over(DefaultLimits)
			if !tt.check(eff) {
				t.Errorf("limits %s after %s=%s", eff, tt.key, tt.value)
			}
			// What was not set is the default's.
			if l.Job == 0 && eff.Job != DefaultLimits.Job {
				t.Errorf("job %s, want the default %s", eff.Job.Std(), DefaultLimits.Job.Std())
			}
		})
	}
}
