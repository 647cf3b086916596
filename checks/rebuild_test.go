package checks

import (
	"context"
	"errors"
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

const cacheFriendly = `Step 1/5 : FROM python:3.9-slim
 ---> 1a2b
Step 2/5 : WORKDIR /app
 ---> Using cache
 ---> 3c4d
Step 3/5 : COPY requirements.txt .
 ---> Using cache
 ---> 5e6f
Step 4/5 : RUN pip install -r requirements.txt
 ---> Using cache
 ---> 7a8b
Step 5/5 : COPY . .
 ---> 9c0d
Successfully built 9c0d
`

const cacheBusting = `Step 1/4 : FROM python:3.9-slim
 ---> 1a2b
Step 2/4 : WORKDIR /app
 ---> Using cache
 ---> 3c4d
Step 3/4 : COPY . .
 ---> 5e6f
Step 4/4 : RUN pip install -r requirements.txt
 ---> Running in 0123
 ---> 7a8b
Successfully built 7a8b
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
		{"dependency layer cached", spec, BuildInfo{OK: true, Log: cacheFriendly}, nil, StatusPass,
			[]string{"step 4 `RUN pip install -r requirements.txt` came from the cache"}},
		{"code copied before install", spec, BuildInfo{OK: true, Log: cacheBusting}, nil, StatusFail,
			[]string{"step 4 `RUN pip install -r requirements.txt` ran again after a change to app.py alone",
				"the cache stopped at step 3 `COPY . .`", "copy only the dependency list first"}},
		{"no such step", Rebuild{Change: "app.py", Expect: RebuildExpect{Cached: []string{"npm ci"}}},
			BuildInfo{OK: true, Log: cacheFriendly}, nil, StatusFail, []string{`no build step matches "npm ci"`}},
		{"rebuild fails", spec, BuildInfo{Error: "The command '/bin/sh -c pip install' returned a non-zero code: 1", Log: "x"}, nil,
			StatusFail, []string{"the rebuild failed: The command"}},
		{"engine gone", spec, BuildInfo{}, errors.New("connection refused"), StatusError, []string{"connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &rebuilder{info: tt.info, err: tt.err}
			c := tt.spec
			want(t, c.Run(context.Background(), r), tt.status, tt.frags...)
			if string(r.change["app.py"]) != "\n" {
				t.Errorf("change = %q, want a newline appended to app.py", r.change)
			}
		})
	}
	t.Run("no rebuilder", func(t *testing.T) {
		want(t, spec.Run(context.Background(), &fake{}), StatusError, "cannot rebuild")
	})
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
