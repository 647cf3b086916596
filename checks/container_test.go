package checks

import (
	"context"
	"testing"
)

func TestContainer(t *testing.T) {
	web := func(edit func(*ContainerInfo)) map[string]ContainerInfo {
		info := running("my-web-server", "nginx")
		info.Ports = []PortBinding{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}
		if edit != nil {
			edit(&info)
		}
		return map[string]ContainerInfo{"my-web-server": info}
	}
	base := ContainerExpect{Image: "nginx:latest", Ports: []string{"8080:80"}}
	tests := []struct {
		name       string
		expect     ContainerExpect
		containers map[string]ContainerInfo
		status     Status
		frags      []string
	}{
		{"as the course runs it", base, web(nil), StatusPass,
			[]string{"a container named my-web-server, running, from nginx:latest, publishing 8080:80", "my-web-server: running, image nginx, -p 8080:80"}},
		{"image named in full", base, web(func(c *ContainerInfo) { c.Image = "docker.io/library/nginx:latest" }), StatusPass, nil},
		{"no such container", base, map[string]ContainerInfo{}, StatusFail,
			[]string{"there is no container named my-web-server: did your script run docker run with --name my-web-server? (3.2)"}},
		{"ports the wrong way round", base, web(func(c *ContainerInfo) { c.Ports = []PortBinding{{HostPort: 80, ContainerPort: 8080, Proto: "tcp"}} }), StatusFail,
			[]string{"it publishes -p 80:8080, not 8080:80 (HOST:CONTAINER: the host port comes first)"}},
		{"no ports", base, web(func(c *ContainerInfo) { c.Ports = nil }), StatusFail,
			[]string{"it publishes no ports, not 8080:80 (docker run -p 8080:80)", "no published ports"}},
		{"wrong container port", base, web(func(c *ContainerInfo) { c.Ports = []PortBinding{{HostPort: 8080, ContainerPort: 8080}} }), StatusFail,
			[]string{"it publishes -p 8080:8080, not 8080:80: the second number is the port the app listens on"}},
		{"udp", ContainerExpect{Ports: []string{"8080:80/udp"}}, web(nil), StatusFail,
			[]string{"it publishes -p 8080:80, not 8080:80/udp"}},
		{"another image", base, web(func(c *ContainerInfo) { c.Image = "httpd" }), StatusFail,
			[]string{"it runs the image httpd, not nginx:latest"}},
		{"another tag", ContainerExpect{Image: "nginx:1.23-alpine"}, web(nil), StatusFail,
			[]string{"it runs the image nginx, not nginx:1.23-alpine"}},
		{"every mismatch", base, web(func(c *ContainerInfo) {
			c.Image, c.Ports = "httpd", []PortBinding{{HostPort: 80, ContainerPort: 8080}}
		}), StatusFail, []string{"it runs the image httpd", "; it publishes -p 80:8080"}},
		{"exited", base, web(func(c *ContainerInfo) { c.Running, c.Status, c.ExitCode = false, "exited", 1 }), StatusFail,
			[]string{"it has exited (code 1), not running", "docker logs my-web-server", "container log:", "emerg"}},
		{"created only", base, web(func(c *ContainerInfo) { c.Running, c.Status = false, "created" }), StatusFail,
			[]string{"created but never started"}},
		{"should have exited", ContainerExpect{Status: "exited"}, web(nil), StatusFail,
			[]string{"it is still running, not exited (docker stop my-web-server)"}},
		{"exited as asked", ContainerExpect{Status: "exited"}, web(func(c *ContainerInfo) { c.Running, c.Status = false, "exited" }), StatusPass, nil},
		{"restart policy", ContainerExpect{Restart: "unless-stopped"}, web(nil), StatusFail,
			[]string{"its restart policy is no, not unless-stopped (docker run --restart unless-stopped)"}},
		{"restart policy kept", ContainerExpect{Restart: "always"}, web(func(c *ContainerInfo) { c.RestartPolicy = "always" }), StatusPass, nil},
		{"run with --rm", ContainerExpect{AutoRemove: ptr(false)}, web(func(c *ContainerInfo) { c.AutoRemove = true }), StatusFail,
			[]string{"it was run with --rm"}},
		{"run without --rm", ContainerExpect{AutoRemove: ptr(true)}, web(nil), StatusFail,
			[]string{"it was run without --rm"}},
		{"named volume", ContainerExpect{Mounts: []MountExpect{{Type: "volume", Name: "site-data", Destination: "/usr/share/nginx/html"}}},
			web(func(c *ContainerInfo) {
				c.Mounts = []Mount{{Type: "volume", Name: "site-data", Destination: "/usr/share/nginx/html/"}}
			}), StatusPass, []string{"the volume site-data at /usr/share/nginx/html"}},
		{"bind mount for a volume", ContainerExpect{Mounts: []MountExpect{{Type: "volume", Name: "site-data", Destination: "/usr/share/nginx/html"}}},
			web(func(c *ContainerInfo) {
				c.Mounts = []Mount{{Type: "bind", Source: "site-data", Destination: "/usr/share/nginx/html"}}
			}), StatusFail, []string{"at /usr/share/nginx/html it has a bind mount of site-data, a folder of the host, not the volume site-data"}},
		{"anonymous volume", ContainerExpect{Mounts: []MountExpect{{Type: "volume", Name: "db-data", Destination: "/data"}}},
			web(func(c *ContainerInfo) {
				c.Mounts = []Mount{{Type: "volume", Name: "3f2a", Anonymous: true, Destination: "/data"}}
			}),
			StatusFail, []string{"an anonymous volume, not the volume db-data: name it (-v db-data:/data)"}},
		{"nothing mounted", ContainerExpect{Mounts: []MountExpect{{Type: "volume", Name: "db-data", Destination: "/data"}}}, web(nil),
			StatusFail, []string{"nothing is mounted at /data (docker run -v db-data:/data)"}},
		{"volume for a bind mount", ContainerExpect{Mounts: []MountExpect{{Type: "bind", Source: "site", Destination: "/usr/share/nginx/html"}}},
			web(func(c *ContainerInfo) {
				c.Mounts = []Mount{{Type: "volume", Name: "site", Destination: "/usr/share/nginx/html"}}
			}),
			StatusFail, []string{"the volume site, not the folder site: a bare name before the colon makes a volume", `-v "$(pwd)/site":/usr/share/nginx/html`}},
		{"bind mount of another folder", ContainerExpect{Mounts: []MountExpect{{Type: "bind", Source: "./site/", Destination: "/usr/share/nginx/html"}}},
			web(func(c *ContainerInfo) {
				c.Mounts = []Mount{{Type: "bind", Source: "src", Destination: "/usr/share/nginx/html"}}
			}),
			StatusFail, []string{"a bind mount of src, not of site"}},
		{"bind mount", ContainerExpect{Mounts: []MountExpect{{Type: "bind", Source: "site", Destination: "/usr/share/nginx/html"}}},
			web(func(c *ContainerInfo) {
				c.Mounts = []Mount{{Type: "bind", Source: "./site", Destination: "/usr/share/nginx/html"}}
			}),
			StatusPass, nil},
		{"default network", ContainerExpect{Networks: []string{"my-app-net"}}, web(nil), StatusFail,
			[]string{"it is on Docker's default bridge network, not on my-app-net (docker run --network my-app-net, or docker network connect my-app-net my-web-server)"}},
		{"on its network", ContainerExpect{Networks: []string{"my-app-net"}}, web(func(c *ContainerInfo) { c.Networks = []string{"my-app-net"} }), StatusPass,
			[]string{"on my-app-net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Container{Name: "my-web-server", Expect: tt.expect}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			target := &dockerFake{containers: tt.containers, fake: fake{logs: "[emerg] 1#1: bind() failed\n"}}
			want(t, c.Run(context.Background(), target), tt.status, tt.frags...)
		})
	}
	want(t, (&Container{Name: "x"}).Run(context.Background(), bare{}), StatusError, "cannot inspect")
}

func TestContainerValidate(t *testing.T) {
	tests := []struct {
		name  string
		check Container
		field string
	}{
		{"fine", Container{Name: "my-web-server", Expect: ContainerExpect{Ports: []string{"8080:80", "53:53/udp"}, Restart: "no",
			Mounts: []MountExpect{{Type: "bind", Source: ".", Destination: "/app"}, {Type: "volume", Name: "v", Destination: "/data"}}}}, ""},
		{"no name", Container{}, "name"},
		{"bad name", Container{Name: "my web"}, "name"},
		{"bad status", Container{Name: "w", Expect: ContainerExpect{Status: "up"}}, "expect.status"},
		{"one port", Container{Name: "w", Expect: ContainerExpect{Ports: []string{"8080"}}}, "expect.ports"},
		{"a port too big", Container{Name: "w", Expect: ContainerExpect{Ports: []string{"80:70000"}}}, "expect.ports"},
		{"sctp", Container{Name: "w", Expect: ContainerExpect{Ports: []string{"80:80/sctp"}}}, "expect.ports"},
		{"bad restart", Container{Name: "w", Expect: ContainerExpect{Restart: "sometimes"}}, "expect.restart"},
		{"volume without a name", Container{Name: "w", Expect: ContainerExpect{Mounts: []MountExpect{{Type: "volume", Destination: "/data"}}}}, "expect.mounts.0.name"},
		{"volume with a source", Container{Name: "w", Expect: ContainerExpect{Mounts: []MountExpect{{Type: "volume", Name: "v", Source: "x", Destination: "/data"}}}}, "expect.mounts.0.source"},
		{"bind outside", Container{Name: "w", Expect: ContainerExpect{Mounts: []MountExpect{{Type: "bind", Source: "../x", Destination: "/data"}}}}, "expect.mounts.0.source"},
		{"relative destination", Container{Name: "w", Expect: ContainerExpect{Mounts: []MountExpect{{Type: "volume", Name: "v", Destination: "data"}}}}, "expect.mounts.0.destination"},
		{"tmpfs", Container{Name: "w", Expect: ContainerExpect{Mounts: []MountExpect{{Type: "tmpfs", Destination: "/data"}}}}, "expect.mounts.0.type"},
		{"bad network", Container{Name: "w", Expect: ContainerExpect{Networks: []string{""}}}, "expect.networks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(t, tt.check.Validate()); got != tt.field {
				t.Errorf("Validate names %q, want %q", got, tt.field)
			}
		})
	}
}

func TestNormalImage(t *testing.T) {
	tests := []struct{ in, out string }{
		{"nginx", "docker.io/library/nginx:latest"},
		{"nginx:latest", "docker.io/library/nginx:latest"},
		{"docker.io/library/nginx:latest", "docker.io/library/nginx:latest"},
		{"library/nginx", "docker.io/library/nginx:latest"},
		{"index.docker.io/library/nginx", "docker.io/library/nginx:latest"},
		{"nginx:1.23-alpine", "docker.io/library/nginx:1.23-alpine"},
		{"bitnami/redis", "docker.io/bitnami/redis:latest"},
		{"localhost:5000/my-app:1.0", "localhost:5000/my-app:1.0"},
		{"localhost:5000/my-app", "localhost:5000/my-app:latest"},
		{"ghcr.io/a/b", "ghcr.io/a/b:latest"},
		{"nginx@sha256:abcd", "docker.io/library/nginx@sha256:abcd"},
	}
	for _, tt := range tests {
		if got := normalImage(tt.in); got != tt.out {
			t.Errorf("normalImage(%q) = %q, want %q", tt.in, got, tt.out)
		}
	}
	if normalImage("nginx") == normalImage("httpd") || normalImage("nginx") == normalImage("nginx:1.23") {
		t.Error("different images compare equal")
	}
}
