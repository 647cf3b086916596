package checks

import (
	"context"
	"testing"
)

// stackFake reports a fixed stack.
type stackFake struct {
	fake
	info StackInfo
}

func (s *stackFake) StackInfo() StackInfo { return s.info }

func TestComposeUp(t *testing.T) {
	up := func(ss ...ServiceInfo) StackInfo { return StackInfo{OK: true, File: "compose.yaml", Services: ss} }
	web := ServiceInfo{Name: "web", State: "running", Ports: []string{"8000:5000"}}
	redis := ServiceInfo{Name: "redis", State: "running"}
	expect := ComposeExpect{Services: []string{"web", "redis"}, Publishes: map[string][]string{"web": {"8000:5000"}}}
	tests := []struct {
		name   string
		check  ComposeUp
		info   StackInfo
		status Status
		want   []string
	}{
		{"up", ComposeUp{Expect: expect}, up(redis, web), StatusPass, []string{"redis: running, web: running"}},
		{"refused", ComposeUp{}, StackInfo{Refused: []string{"service web: privileged: true gives …"}}, StatusFail,
			[]string{"refused before anything started", "privileged: true", "nothing was started"}},
		{"refused twice", ComposeUp{}, StackInfo{Refused: []string{"a", "b"}}, StatusFail, []string{"asks for 2 things", "  - a\n  - b"}},
		{"port mismatch", ComposeUp{Expect: expect}, up(redis, ServiceInfo{Name: "web", State: "running", Ports: []string{"8000:8000"}}), StatusFail,
			[]string{"should publish 8000:5000", "declares 8000:8000"}},
		{"no ports", ComposeUp{Expect: expect}, up(redis, ServiceInfo{Name: "web", State: "running"}), StatusFail, []string{"declares no ports"}},
		{"missing service", ComposeUp{Expect: expect}, up(web), StatusFail, []string{`has no service "redis"`}},
		{"exited", ComposeUp{}, up(web, ServiceInfo{Name: "redis", State: "exited", ExitCode: 1}), StatusFail, []string{"service redis is exited (exit code 1)"}},
		{"unhealthy", ComposeUp{}, up(ServiceInfo{Name: "web", State: "running", Health: "unhealthy"}), StatusFail, []string{"service web is unhealthy"}},
		{"did not come up", ComposeUp{}, StackInfo{Error: "service web does not build: Dockerfile:3: unknown instruction", Log: "Step 3/4"},
			StatusFail, []string{"does not build", "Step 3/4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, tt.check.Run(context.Background(), &stackFake{info: tt.info}), tt.status, tt.want...)
		})
	}
}

func TestComposeUpValidate(t *testing.T) {
	c := ComposeUp{Expect: ComposeExpect{Publishes: map[string][]string{"web": {"eight:5000"}}}}
	if err := c.Validate(); err == nil {
		t.Error("a port mapping with a word was accepted")
	}
	for _, p := range []string{"8000:5000", "127.0.0.1:8000:5000", "5000", "5000/tcp"} {
		if _, err := normalPort(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
