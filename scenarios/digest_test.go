package scenarios

import (
	"testing"
	"testing/fstest"
)

func TestDigestFS(t *testing.T) {
	base := fstest.MapFS{"a.yaml": {Data: []byte("id: a\n")}, "b.yaml": {Data: []byte("id: b\n")}}
	d0, err := DigestFS(base)
	if err != nil || len(d0) != 12 {
		t.Fatalf("digest %q, %v", d0, err)
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		same bool
	}{
		{"same files", fstest.MapFS{"b.yaml": {Data: []byte("id: b\n")}, "a.yaml": {Data: []byte("id: a\n")}}, true},
		{"a file that is not a scenario", fstest.MapFS{"a.yaml": {Data: []byte("id: a\n")}, "b.yaml": {Data: []byte("id: b\n")}, "README": {Data: []byte("x")}}, true},
		{"one byte changed", fstest.MapFS{"a.yaml": {Data: []byte("id: a\n")}, "b.yaml": {Data: []byte("id: c\n")}}, false},
		{"a file renamed", fstest.MapFS{"a.yaml": {Data: []byte("id: a\n")}, "c.yaml": {Data: []byte("id: b\n")}}, false},
		{"a file more", fstest.MapFS{"a.yaml": {Data: []byte("id: a\n")}, "b.yaml": {Data: []byte("id: b\n")}, "c.yaml": {Data: []byte("")}}, false},
		{"content moved across the name boundary", fstest.MapFS{"a.yaml": {Data: []byte("id: a\nid: b\n")}, "b.yaml": {Data: []byte("")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DigestFS(tt.fsys)
			if err != nil {
				t.Fatal(err)
			}
			if (d == d0) != tt.same {
				t.Errorf("digest %s vs %s: same = %v, want %v", d, d0, d == d0, tt.same)
			}
		})
	}
	if Digest() == "unknown" || len(Digest()) != 12 {
		t.Errorf("the bundled set's digest is %q", Digest())
	}
}
