package checks

import (
	"context"
	"testing"
)

func TestVolume(t *testing.T) {
	const html = "/usr/share/nginx/html"
	withMounts := func(ms ...Mount) map[string]ContainerInfo {
		info := running("my-web", "nginx")
		info.Mounts = ms
		return map[string]ContainerInfo{"my-web": info}
	}
	seeded := map[string]VolumeInfo{"site-data": {Name: "site-data", Driver: "local", Containers: map[string]string{"my-web": html}}}
	files := map[string]bool{"site-data/index.html": true, "site-data/50x.html": true}
	expect := VolumeExpect{MountedAt: map[string]string{"my-web": html}, Contains: []string{"index.html", "50x.html"}}
	tests := []struct {
		name       string
		expect     VolumeExpect
		volumes    map[string]VolumeInfo
		containers map[string]ContainerInfo
		files      map[string]bool
		status     Status
		frags      []string
	}{
		{"seeded from the image", expect, seeded, withMounts(Mount{Type: "volume", Name: "site-data", Destination: html}), files, StatusPass,
			[]string{"a volume named site-data (driver local), mounted by my-web at /usr/share/nginx/html, holding index.html, 50x.html",
				"site-data: driver local, mounted by my-web at /usr/share/nginx/html"}},
		{"just there", VolumeExpect{}, seeded, nil, nil, StatusPass, nil},
		{"no volume", VolumeExpect{}, nil, nil, nil, StatusFail,
			[]string{"there is no volume named site-data: docker volume create site-data, or -v site-data:/path creates it"}},
		{"a bind mount instead", expect, nil, withMounts(Mount{Type: "bind", Source: "site-data", Destination: html}), nil, StatusFail,
			[]string{"there is no volume named site-data", "instead my-web has a bind mount of site-data at /usr/share/nginx/html, a folder of the host, not a volume"}},
		{"an anonymous volume instead", expect, nil, withMounts(Mount{Type: "volume", Name: "9c1e", Anonymous: true, Destination: html}), nil, StatusFail,
			[]string{"there is no volume named site-data", "my-web has an anonymous volume at /usr/share/nginx/html", "name it, -v site-data:/usr/share/nginx/html"}},
		{"a typo in the name", expect, nil, withMounts(Mount{Type: "volume", Name: "sitedata", Destination: html}), nil, StatusFail,
			[]string{"there is no volume named site-data", "my-web has the volume sitedata at /usr/share/nginx/html"}},
		{"no container either", expect, nil, nil, nil, StatusFail,
			[]string{"there is no volume named site-data", "; and there is no container named my-web"}},
		{"mounted elsewhere", expect,
			map[string]VolumeInfo{"site-data": {Name: "site-data", Driver: "local", Containers: map[string]string{"my-web": "/data"}}},
			withMounts(Mount{Type: "volume", Name: "site-data", Destination: "/data"}), files, StatusFail,
			[]string{"my-web mounts it at /data, not at /usr/share/nginx/html"}},
		{"not mounted", expect, map[string]VolumeInfo{"site-data": {Name: "site-data", Driver: "local"}}, withMounts(), files, StatusFail,
			[]string{"my-web does not mount it (-v site-data:/usr/share/nginx/html): my-web has nothing mounted at /usr/share/nginx/html", "mounted by no container"}},
		{"mounted by nobody", expect, map[string]VolumeInfo{"site-data": {Name: "site-data", Driver: "local"}}, nil, files, StatusFail,
			[]string{"there is no container named my-web to mount it"}},
		{"empty", expect, seeded, withMounts(Mount{Type: "volume", Name: "site-data", Destination: html}), map[string]bool{"site-data/50x.html": true}, StatusFail,
			[]string{"site-data: it holds no index.html: a volume gets the files of the image's directory it is mounted over only when it is empty"}},
		{"another driver", VolumeExpect{Driver: "nfs"}, seeded, nil, nil, StatusFail, []string{"its driver is local, not nfs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &VolumeCheck{Name: "site-data", Expect: tt.expect}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			target := &dockerFake{volumes: tt.volumes, containers: tt.containers, volFiles: tt.files}
			want(t, c.Run(context.Background(), target), tt.status, tt.frags...)
		})
	}
	want(t, (&VolumeCheck{Name: "v"}).Run(context.Background(), bare{}), StatusError, "cannot inspect")
	for _, tt := range []struct {
		name  string
		check VolumeCheck
		field string
	}{
		{"fine", VolumeCheck{Name: "v", Expect: VolumeExpect{MountedAt: map[string]string{"w": "/data"}, Contains: []string{"a/b.txt"}}}, ""},
		{"no name", VolumeCheck{}, "name"},
		{"relative mount path", VolumeCheck{Name: "v", Expect: VolumeExpect{MountedAt: map[string]string{"w": "data"}}}, "expect.mounted_at.w"},
		{"bad container", VolumeCheck{Name: "v", Expect: VolumeExpect{MountedAt: map[string]string{"-w": "/data"}}}, "expect.mounted_at"},
		{"absolute content path", VolumeCheck{Name: "v", Expect: VolumeExpect{Contains: []string{"/usr/share/nginx/html/index.html"}}}, "expect.contains"},
		{"content outside", VolumeCheck{Name: "v", Expect: VolumeExpect{Contains: []string{"../x"}}}, "expect.contains"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(t, tt.check.Validate()); got != tt.field {
				t.Errorf("Validate names %q, want %q", got, tt.field)
			}
		})
	}
}
