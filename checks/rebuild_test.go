package checks

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// rebuilder is a target that rebuilds with a canned result.
type rebuilder struct {
	fake
	info   BuildInfo
	err    error
	change map[string][]byte
}

func (r *rebuilder) Rebuild(_ context.Context, change map[string][]byte) (BuildInfo, error) {
	r.change = change
	return r.info, r.err
}

// The steps Rebuild reads off the images' histories.
var (
	cacheFriendly = []BuildStep{
		{"ADD file:0a1b in / ", true}, {`CMD ["bash"]`, true}, {"WORKDIR /app", true},
		{"COPY … .", true}, {"RUN pip install -r requirements.txt", true}, {"COPY … .", false},
	}
	cacheBusting = []BuildStep{
		{"ADD file:0a1b in / ", true}, {"WORKDIR /app", true},
		{"COPY … .", false}, {"RUN pip install -r requirements.txt", false},
	}
)

// fakedLog is a build log whose RUN output imitates a cached step: only the
// histories count.
const fakedLog = `Step 4/4 : RUN pip install -r requirements.txt
 ---> Running in 0123
 ---> Using cache
`

func TestRebuild(t *testing.T) {
	spec := Rebuild{Change: "app.py", Expect: RebuildExpect{Cached: []string{"pip install"}}}
	tests := []struct {
		name   string
		spec   Rebuild
		info   BuildInfo
		err    error
		status Status
		frags  []string
	}{
		{"dependency layer cached", spec, BuildInfo{OK: true, Steps: cacheFriendly}, nil, StatusPass,
			[]string{"`RUN pip install -r requirements.txt` came from the cache"}},
		{"code copied before install", spec, BuildInfo{OK: true, Steps: cacheBusting, Log: fakedLog}, nil, StatusFail,
			[]string{"`RUN pip install -r requirements.txt` ran again after a change to app.py alone",
				"the cache stopped at `COPY … .`", "copy only the dependency list first"}},
		{"no such step", Rebuild{Change: "app.py", Expect: RebuildExpect{Cached: []string{"npm ci"}}},
			BuildInfo{OK: true, Steps: cacheFriendly}, nil, StatusFail, []string{`no step of the image matches "npm ci"`}},
		{"no history", spec, BuildInfo{OK: true, Log: fakedLog}, nil, StatusError, []string{"could not read the rebuilt image's history"}},
		{"rebuild fails", spec, BuildInfo{Error: "The command '/bin/sh -c pip install' returned a non-zero code: 1", Log: "x"}, nil,
			StatusFail, []string{"the rebuild failed: The command"}},
		{"engine gone", spec, BuildInfo{}, errors.New("connection refused"), StatusError, []string{"connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &rebuilder{info: tt.info, err: tt.err}
			c := tt.spec
			want(t, c.Run(context.Background(), r), tt.status, tt.frags...)
			if got := string(r.change["app.py"]); !blankChange.MatchString(got) {
				t.Errorf("change = %q, want a newline and a line of blanks appended to app.py", got)
			}
		})
	}
	t.Run("no rebuilder", func(t *testing.T) {
		want(t, spec.Run(context.Background(), &fake{}), StatusError, "cannot rebuild")
	})
}

var blankChange = regexp.MustCompile(`^\n[ \t]{32}\n$`)

// Two rebuilds append different lines of blanks: no earlier rebuild's
// cache can stand for this one.
func TestRebuildChangeIsNew(t *testing.T) {
	seen := map[string]bool{}
	for range 8 {
		r := &rebuilder{info: BuildInfo{OK: true, Steps: cacheFriendly}}
		c := Rebuild{Change: "app.py", Append: "\n# changed\n", Expect: RebuildExpect{Cached: []string{"pip install"}}}
		c.Run(context.Background(), r)
		got := string(r.change["app.py"])
		if !strings.HasPrefix(got, "\n# changed\n") || !blankChange.MatchString(strings.TrimPrefix(got, "\n# changed")) {
			t.Fatalf("change = %q, want the scenario's text and a line of blanks", got)
		}
		seen[got] = true
	}
	if len(seen) < 7 {
		t.Errorf("8 rebuilds appended only %d different changes", len(seen))
	}
}

func TestRebuildValidate(t *testing.T) {
	for _, c := range []Rebuild{
		{Change: "../app.py", Expect: RebuildExpect{Cached: []string{"x"}}},
		{Change: "/app.py", Expect: RebuildExpect{Cached: []string{"x"}}},
		{Change: "app.py"},
		{Change: "app.py", Expect: RebuildExpect{Cached: []string{"("}}},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
	ok := Rebuild{Change: "src/app.py", Expect: RebuildExpect{Cached: []string{"pip install"}}}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}
