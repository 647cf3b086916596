package checks

import (
	"context"
	"errors"
	"testing"
)

func TestImage(t *testing.T) {
	good := ImageConfig{User: "node", WorkingDir: "/app", ExposedPorts: []string{"3000/tcp"}, Env: []string{"NODE_ENV=production"},
		Cmd: []string{"node", "app.js"}, Size: 120e6}
	shell := ImageConfig{Entrypoint: []string{"/bin/sh", "-c", "echo Hello from"}}
	tests := []struct {
		name   string
		expect ImageExpect
		cfg    ImageConfig
		status Status
		frags  []string
	}{
		{"all good", ImageExpect{NonRoot: ptr(true), Exposes: []int{3000}, Workdir: "/app", Env: map[string]string{"NODE_ENV": "production"},
			Cmd: []string{"node", "app.js"}, CmdExecForm: ptr(true), MaxSize: 200e6}, good, StatusPass, []string{"USER is node"}},
		{"root", ImageExpect{NonRoot: ptr(true)}, ImageConfig{}, StatusFail, []string{"root (no USER instruction)"}},
		{"user 0", ImageExpect{NonRoot: ptr(true)}, ImageConfig{User: "0:0"}, StatusFail, nil},
		{"user 00", ImageExpect{NonRoot: ptr(true)}, ImageConfig{User: "00"}, StatusFail, []string{"USER is 00"}},
		{"user +0", ImageExpect{NonRoot: ptr(true)}, ImageConfig{User: "+0:1000"}, StatusFail, nil},
		{"user 1000", ImageExpect{NonRoot: ptr(true)}, ImageConfig{User: "1000"}, StatusPass, nil},
		{"no expose", ImageExpect{Exposes: []int{3000}}, ImageConfig{}, StatusFail, []string{"EXPOSE 3000", "EXPOSE declares nothing"}},
		{"other port", ImageExpect{Exposes: []int{3000}}, ImageConfig{ExposedPorts: []string{"8080/tcp"}}, StatusFail, []string{"EXPOSE declares 8080/tcp"}},
		{"workdir", ImageExpect{Workdir: "/app"}, ImageConfig{}, StatusFail, []string{"no WORKDIR"}},
		{"env unset", ImageExpect{Env: map[string]string{"PORT": "3000"}}, good, StatusFail, []string{"PORT is not set"}},
		{"shell entrypoint", ImageExpect{EntrypointExecForm: ptr(true)}, shell, StatusFail, []string{"shell form (ENTRYPOINT echo Hello from)"}},
		{"exec entrypoint", ImageExpect{EntrypointExecForm: ptr(true), Entrypoint: []string{"echo", "Hello from"}},
			ImageConfig{Entrypoint: []string{"echo", "Hello from"}}, StatusPass, nil},
		{"cmd unset", ImageExpect{CmdExecForm: ptr(true)}, ImageConfig{}, StatusFail, []string{"CMD is not set"}},
		{"too big", ImageExpect{MaxSize: 100e6}, good, StatusFail, []string{"at most 100MB", "the image is 120MB"}},
		{"few layers", ImageExpect{MaxLayers: 5}, ImageConfig{Layers: 5}, StatusPass, []string{"the image has 5 layers"}},
		{"many layers", ImageExpect{MaxLayers: 5}, ImageConfig{Layers: 9}, StatusFail, []string{"at most 5 layers", "the image has 9 layers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Image{Expect: tt.expect}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, c.Run(context.Background(), &fake{image: tt.cfg}), tt.status, tt.frags...)
		})
	}
	if err := (&Image{}).Validate(); err == nil {
		t.Error("an image check with nothing to check was accepted")
	}
	want(t, (&Image{Expect: ImageExpect{Workdir: "/"}}).Run(context.Background(), &fake{imageErr: errors.New("boom")}), StatusError, "boom")
}

func TestImageAbsent(t *testing.T) {
	toolchain := map[string]File{"/usr/local/go": {Path: "/usr/local/go"}, "/usr/local/go/bin/go": {Path: "/usr/local/go/bin/go"}}
	tests := []struct {
		name   string
		env    []string
		files  map[string]File
		status Status
		frags  []string
	}{
		{"clean final image", nil, map[string]File{"/app/server": {}}, StatusPass, []string{"none of them is there"}},
		{"toolchain left", []string{"PATH=/usr/local/go/bin:/usr/bin:/bin"}, toolchain, StatusFail,
			[]string{"the image holds /usr/local/go, /usr/local/go/bin/go (the go command)"}},
		{"command on the default PATH", nil, map[string]File{"/usr/bin/gcc": {}}, StatusFail, []string{"/usr/bin/gcc (the gcc command)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Image{Expect: ImageExpect{Absent: []string{"/usr/local/go", "go", "gcc"}}}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, c.Run(context.Background(), &fake{image: ImageConfig{Env: tt.env}, files: tt.files}), tt.status, tt.frags...)
		})
	}
	for _, bad := range []string{"", "/", "bin/go", "./go"} {
		if (&Image{Expect: ImageExpect{Absent: []string{bad}}}).Validate() == nil {
			t.Errorf("absent %q accepted", bad)
		}
	}
}
