package checks

import (
	"context"
	"strings"
	"testing"
	"time"
)

// growingLog is a container whose log gains a line at every read.
type growingLog struct {
	fake
	lines []string
	reads int
}

func (g *growingLog) Logs(context.Context, string, int) (string, error) {
	n := min(g.reads, len(g.lines))
	g.reads++
	return strings.Join(g.lines[:n], ""), nil
}

func TestLogsWait(t *testing.T) {
	lines := []string{"starting\n", "db unreachable\n", "db reachable: PONG\n"}
	tests := []struct {
		name   string
		wait   time.Duration
		status Status
		want   string
	}{
		{"read once: not yet there", 0, StatusFail, "no such line in the log (1 lines read"},
		{"waits for the line", 5 * time.Second, StatusPass, "the log has it"},
		{"never there within the wait", time.Second, StatusFail, "after 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &growingLog{lines: lines}
			want := "db reachable: PONG"
			if tt.name == "never there within the wait" {
				want = "never printed"
			}
			c := &Logs{Expect: LogsExpect{Contains: want}, Wait: Duration(tt.wait)}
			g.reads = 1
			o := c.Run(context.Background(), g)
			if o.Status != tt.status || !strings.Contains(o.Actual+o.Message, tt.want) {
				t.Errorf("got %s %q %q", o.Status, o.Actual, o.Message)
			}
		})
	}
}

// TestNotMadeAfterRefusal: an object missing because grade refused the
// call that would have made it is explained by the refusal, not by advice
// to make it.
func TestNotMadeAfterRefusal(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&NotMadeError{What: "container", Name: "web", Refused: 1}, "grade refused a call of your script"},
		{&NotMadeError{What: "container", Name: "web", Refused: 1, Failed: "network my-nett not found"},
			"the script's docker run --name web failed: network my-nett not found"},
		{&NotMadeError{What: "container", Name: "web"}, "did your script run docker run with --name web"},
		{ErrNotExist, "did your script run docker run with --name web"},
	}
	for _, tt := range tests {
		o := commandsOutcome("x", "web", tt.err)
		if o.Status != StatusFail || !strings.Contains(o.Message, tt.want) {
			t.Errorf("%v: %s %q", tt.err, o.Status, o.Message)
		}
	}
}
