package checks

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestBindMount(t *testing.T) {
	saved := []time.Duration{bindMountWait, bindMountPoll}
	bindMountWait, bindMountPoll = 100*time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { bindMountWait, bindMountPoll = saved[0], saved[1] })

	const html = "/usr/share/nginx/html"
	dev := func(ms ...Mount) map[string]ContainerInfo {
		info := running("dev-site", "nginx")
		info.Mounts = ms
		return map[string]ContainerInfo{"dev-site": info}
	}
	tests := []struct {
		name       string
		containers map[string]ContainerInfo
		status     Status
		frags      []string
	}{
		{"bind mount of the folder", dev(Mount{Type: "bind", Source: "site", Destination: html}), StatusPass,
			[]string{"an edit of site/grade-edit.html on the host shows at once in dev-site", "the edit showed in dev-site after"}},
		{"bind mount of the submission", dev(Mount{Type: "bind", Source: ".", Destination: "/srv"}), StatusFail,
			[]string{"dev-site bind-mounts . at /srv, so the edit of site/grade-edit.html is at /srv/site/grade-edit.html in the container"}},
		{"a copy", dev(), StatusFail,
			[]string{`dev-site has no bind mount: its files are a copy made when the image was built or the container started, so an edit on the host never shows; run it with -v "$(pwd)/site":/usr/share/nginx/html (5.3)`,
				"No such file or directory"}},
		{"a volume named like the folder", dev(Mount{Type: "volume", Name: "site", Destination: html}), StatusFail,
			[]string{"dev-site has no bind mount", "it has the volume site at /usr/share/nginx/html, and a volume is storage Docker keeps, not a folder of the host"}},
		{"another folder", dev(Mount{Type: "bind", Source: "src", Destination: html}), StatusFail,
			[]string{`dev-site bind-mounts src at /usr/share/nginx/html, not site, the folder that holds site/grade-edit.html: run it with -v "$(pwd)/site":/usr/share/nginx/html`}},
		{"one file", dev(Mount{Type: "bind", Source: "site/index.html", Destination: html + "/index.html"}), StatusFail,
			[]string{"dev-site bind-mounts site/index.html at /usr/share/nginx/html/index.html, not site"}},
		{"mounted elsewhere", dev(Mount{Type: "bind", Source: "site", Destination: "/var/www"}), StatusFail,
			[]string{"dev-site bind-mounts site at /var/www, so the edit of site/grade-edit.html is at /var/www/grade-edit.html in the container, and the exercise looks for it elsewhere"}},
		{"no such container", map[string]ContainerInfo{}, StatusFail, []string{"there is no container named dev-site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &BindMount{Container: "dev-site", File: "site/grade-edit.html", Read: []string{"cat", html + "/grade-edit.html"}}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			target := &dockerFake{containers: tt.containers}
			want(t, c.Run(context.Background(), target), tt.status, tt.frags...)
			if len(tt.containers) > 0 && !strings.HasPrefix(target.edits["site/grade-edit.html"], "grade-") {
				t.Errorf("edits = %v", target.edits)
			}
		})
	}
	want(t, (&BindMount{Container: "x", File: "a"}).Run(context.Background(), bare{}), StatusError, "cannot edit")
	for _, tt := range []struct {
		name  string
		check BindMount
		field string
	}{
		{"fine", BindMount{Container: "w", File: "site/x.html", Read: []string{"cat", "/x"}}, ""},
		{"no container", BindMount{File: "site/x.html", Read: []string{"cat"}}, "container"},
		{"outside", BindMount{Container: "w", File: "../x.html", Read: []string{"cat"}}, "file"},
		{"absolute", BindMount{Container: "w", File: "/etc/passwd", Read: []string{"cat"}}, "file"},
		{"no read", BindMount{Container: "w", File: "x"}, "read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(t, tt.check.Validate()); got != tt.field {
				t.Errorf("Validate names %q, want %q", got, tt.field)
			}
		})
	}
}
