package guard

import (
	"strings"
	"testing"
)

// TestTmpfsOptions: a tmpfs always gets nosuid and nodev and a size no
// larger than the memory limit; options beyond a tmpfs's plain ones are
// refused.
func TestTmpfsOptions(t *testing.T) {
	const mem = 256 << 20
	tests := []struct {
		opts, want, refused string
	}{
		{"", "nosuid,nodev,size=268435456", ""},
		{"size=100g,exec,suid,dev", "exec,nosuid,nodev,size=268435456", ""},
		{"size=64m,mode=1777,uid=1000,gid=1000,nr_inodes=1k,ro,noatime", "mode=1777,uid=1000,gid=1000,nr_inodes=1k,ro,noatime,nosuid,nodev,size=64m", ""},
		{"size=256m", "nosuid,nodev,size=256m", ""},
		{"size=268435457", "nosuid,nodev,size=268435456", ""},
		{"size=1M,size=100G", "nosuid,nodev,size=268435456", ""}, // the last size is the kernel's
		{"size=50%", "nosuid,nodev,size=268435456", ""},
		{"size=0x7fffffff", "nosuid,nodev,size=268435456", ""},
		{"size=99999999999999999999", "nosuid,nodev,size=268435456", ""},
		{"size=9e", "nosuid,nodev,size=268435456", ""},
		{"size=", "nosuid,nodev,size=268435456", ""},
		{"defaults,,nosuid", "nosuid,nosuid,nodev,size=268435456", ""},
		{"bind", "", "bind"},
		{"rbind,exec", "", "rbind"},
		{"mpol=bind:0", "", "mpol=bind:0"},
		{"nr_blocks=100", "", "nr_blocks=100"},
		{"remount", "", "remount"},
		{"shared", "", "shared"},
		{"mode", "", "mode"},
	}
	for _, tt := range tests {
		got, refused := TmpfsOptions(tt.opts, mem)
		if got != tt.want || refused != tt.refused {
			t.Errorf("TmpfsOptions(%q) = %q, %q; want %q, %q", tt.opts, got, refused, tt.want, tt.refused)
		}
	}
	if got, _ := TmpfsOptions("size=100g,suid", 0); got != "nosuid,nodev,size=100g" {
		t.Errorf("without a memory limit: %q", got)
	}
}

// TestVetUlimit: nofile and nproc are clamped, core only at 0, the rest
// refused.
func TestVetUlimit(t *testing.T) {
	tests := []struct {
		in   Ulimit
		want Ulimit
		why  string // a fragment; "" for allowed
	}{
		{Ulimit{"nofile", 1024, 2048}, Ulimit{"nofile", 1024, 2048}, ""},
		{Ulimit{"nofile", -1, -1}, Ulimit{"nofile", MaxNofile, MaxNofile}, ""},
		{Ulimit{"nofile", 1024, 1 << 30}, Ulimit{"nofile", 1024, MaxNofile}, ""},
		{Ulimit{"nproc", 1000, -1}, Ulimit{"nproc", 100, 100}, ""},
		{Ulimit{"nproc", 10, 20}, Ulimit{"nproc", 10, 20}, ""},
		{Ulimit{"core", 0, 0}, Ulimit{"core", 0, 0}, ""},
		{Ulimit{"core", 0, -1}, Ulimit{}, "core-dump"},
		{Ulimit{"memlock", 64, 64}, Ulimit{}, "lock memory"},
		{Ulimit{"rtprio", 1, 1}, Ulimit{}, "real-time"},
		{Ulimit{"rttime", 1, 1}, Ulimit{}, "real-time"},
		{Ulimit{"nice", 40, 40}, Ulimit{}, "priority"},
		{Ulimit{"sigpending", -1, -1}, Ulimit{}, "kernel memory"},
		{Ulimit{"fsize", 1, 1}, Ulimit{}, "only nofile, nproc and core=0"},
		{Ulimit{"NOFILE", 1, 1}, Ulimit{}, "only nofile"},
	}
	for _, tt := range tests {
		got, why := VetUlimit(tt.in, 100)
		switch {
		case tt.why == "" && (why != "" || got != tt.want):
			t.Errorf("VetUlimit(%v) = %v, %q; want %v", tt.in, got, why, tt.want)
		case tt.why != "" && !strings.Contains(why, tt.why):
			t.Errorf("VetUlimit(%v): %q, want it refused: %q", tt.in, why, tt.why)
		}
	}
	if got, _ := VetUlimit(Ulimit{"nproc", -1, -1}, 0); got != (Ulimit{"nproc", -1, -1}) {
		t.Errorf("without a pids limit: %v", got)
	}
	if s := (Ulimit{"nofile", 1024, 2048}).String(); s != "nofile=1024:2048" {
		t.Errorf("String %q", s)
	}
}

// TestReservedLabel: grade's and the compose engine's labels.
func TestReservedLabel(t *testing.T) {
	for k, want := range map[string]bool{
		"grade.job": true, "com.docker.compose.project": true, "COM.DOCKER.COMPOSE.SERVICE": true, "Grade.run": true,
		"app": false, "com.docker.composer": false, "com.example.grade.job": false, "gradebook": false,
	} {
		if got := ReservedLabel(k); got != want {
			t.Errorf("ReservedLabel(%q) = %v", k, got)
		}
	}
}

// TestSameImage: references as the engine reads them.
func TestSameImage(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"redis:alpine", "docker.io/library/redis:alpine", true},
		{"busybox", "busybox:latest", true},
		{"redis:alpine", "redis:latest", false},
		{"redis", "myregistry:5000/redis", false},
		{"redis:alpine", "redis@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false},
		{"", "", false},
		{"Redis", "Redis", false},
	} {
		if got := SameImage(tt.a, tt.b); got != tt.want {
			t.Errorf("SameImage(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
