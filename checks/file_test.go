package checks

import (
	"context"
	"io/fs"
	"testing"
)

func TestFile(t *testing.T) {
	files := map[string]File{
		"/app/app.js": {Path: "/app/app.js", Size: 40, Content: []byte("app.listen(3000, '0.0.0.0')")},
		"/app":        {Path: "/app", Mode: fs.ModeDir},
	}
	tests := []struct {
		name   string
		check  FileCheck
		status Status
		frags  []string
	}{
		{"exists", FileCheck{Path: "/app/app.js"}, StatusPass, []string{"40 bytes"}},
		{"missing", FileCheck{Path: "/app/server.js"}, StatusFail, []string{"/app/server.js is not in the image"}},
		{"absent as wanted", FileCheck{Path: "/app/.env", Expect: FileExpect{Exists: ptr(false)}}, StatusPass, nil},
		{"present but should not be", FileCheck{Path: "/app/app.js", Expect: FileExpect{Exists: ptr(false)}}, StatusFail, []string{"absent"}},
		{"contains", FileCheck{Path: "/app/app.js", Expect: FileExpect{Contains: "listen(3000"}}, StatusPass, nil},
		{"does not contain", FileCheck{Path: "/app/app.js", Expect: FileExpect{Matches: `listen\(8080`}}, StatusFail, []string{"does not match"}},
		{"directory", FileCheck{Path: "/app", Expect: FileExpect{Contains: "x"}}, StatusFail, []string{"not a regular file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, tt.check.Run(context.Background(), &fake{files: files}), tt.status, tt.frags...)
		})
	}
	for _, bad := range []FileCheck{{Path: "app.js"}, {Path: "/a", Expect: FileExpect{Exists: ptr(false), Contains: "x"}}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}
