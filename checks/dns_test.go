package checks

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDNS(t *testing.T) {
	on := func(name string, networks ...string) ContainerInfo {
		c := running(name, "redis")
		c.Networks = networks
		return c
	}
	userNet := map[string]ContainerInfo{"my-app": on("my-app", "my-app-net"), "my-db": on("my-db", "my-app-net")}
	bridge := map[string]ContainerInfo{"my-app": on("my-app", "bridge"), "my-db": on("my-db", "bridge")}
	found := func(reached bool) func(string, string, int) (Resolution, error) {
		return func(string, string, int) (Resolution, error) {
			return Resolution{Addrs: []string{"10.0.3.2"}, Reached: reached, Output: "Name: my-db\nAddress: 10.0.3.2\n"}, nil
		}
	}
	// hostsOnly: nslookup finds nothing, /etc/hosts has an entry.
	hostsOnly := func(string, string, int) (Resolution, error) {
		return Resolution{Addrs: []string{"172.17.0.2"}, Reached: true, Output: "** server can't find my-db: NXDOMAIN"}, nil
	}
	notFound := func(string, string, int) (Resolution, error) {
		return Resolution{Output: "nslookup: can't resolve 'my-db': Name does not resolve\n" + strings.Repeat("x", 500)}, nil
	}
	tests := []struct {
		name       string
		check      DNS
		containers map[string]ContainerInfo
		resolve    func(string, string, int) (Resolution, error)
		status     Status
		frags      []string
	}{
		{"found and reached", DNS{Port: 6379}, userNet, found(true), StatusPass,
			[]string{"my-db resolves from inside my-app, and port 6379 answers there", "my-db resolves to 10.0.3.2 from my-app, and port 6379 answered"}},
		{"found", DNS{}, userNet, found(false), StatusPass, nil},
		{"default bridge", DNS{Port: 6379}, bridge, notFound, StatusFail,
			[]string{"my-db does not resolve from my-app: containers find each other by name only on a network of their own", "(6.3)",
				"my-app and my-db are both on Docker's default bridge network", "can't resolve 'my-db'", "more characters"}},
		{"apart", DNS{}, map[string]ContainerInfo{"my-app": on("my-app", "a-net"), "my-db": on("my-db", "b-net")}, notFound, StatusFail,
			[]string{"my-app is on a-net and my-db on b-net: they share no network of their own"}},
		{"no such container to find", DNS{}, map[string]ContainerInfo{"my-app": on("my-app", "my-app-net")}, notFound, StatusFail,
			[]string{"no container is named my-db"}},
		{"nothing answers", DNS{Port: 6379}, userNet, found(false), StatusFail,
			[]string{"my-db resolves to 10.0.3.2, but nothing answered on port 6379", "listen on port 6379, on all its interfaces"}},
		{"the target exited", DNS{Port: 6379}, map[string]ContainerInfo{"my-app": on("my-app", "my-app-net"),
			"my-db": {Name: "my-db", Status: "exited", ExitCode: 1, Networks: []string{"my-app-net"}}}, found(false), StatusFail,
			[]string{"nothing answered on port 6379: my-db is not running: it exited with code 1"}},
		{"must not resolve", DNS{Resolves: ptr(false)}, bridge, notFound, StatusPass, []string{"my-db does not resolve from inside my-app"}},
		{"resolves where it must not", DNS{Resolves: ptr(false)}, userNet, found(false), StatusFail,
			[]string{"my-db resolves to 10.0.3.2 from my-app, and the exercise wants it not found there: both are on my-app-net"}},
		{"no container to look from", DNS{}, map[string]ContainerInfo{}, found(true), StatusFail,
			[]string{"there is no container named my-app: did your script run docker run with --name my-app?"}},
		{"looking from a stopped container", DNS{}, map[string]ContainerInfo{"my-app": {Name: "my-app", Status: "exited", ExitCode: 137}}, found(true), StatusFail,
			[]string{"my-app is not running: it exited with code 137"}},
		{"on the network", DNS{Port: 6379, Network: "my-app-net"}, userNet, found(true), StatusPass,
			[]string{"my-db resolves from inside my-app through Docker's DNS on my-app-net, and port 6379 answers there"}},
		{"an /etc/hosts entry on the default bridge", DNS{Port: 6379, Network: "my-app-net"}, bridge, hostsOnly, StatusFail,
			[]string{"my-db resolves from my-app, but not on my-app-net: my-app and my-db are both on Docker's default bridge network",
				"an entry in my-app's /etc/hosts (--add-host)", "Put both on my-app-net (--network my-app-net)"}},
		{"the db off the network", DNS{Port: 6379, Network: "my-app-net"}, map[string]ContainerInfo{"my-app": on("my-app", "my-app-net", "other-net"),
			"my-db": on("my-db", "other-net")}, found(true), StatusFail,
			[]string{"but not on my-app-net: my-db is on other-net; the address does not come from Docker's DNS on my-app-net"}},
		{"the network's db gone", DNS{Network: "my-app-net"}, map[string]ContainerInfo{"my-app": on("my-app", "my-app-net")}, hostsOnly, StatusFail,
			[]string{"no container is named my-db"}},
		{"grade's failure", DNS{}, userNet, func(string, string, int) (Resolution, error) { return Resolution{}, errors.New("helper image missing") },
			StatusError, []string{"helper image missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.check
			c.From, c.Name = "my-app", "my-db"
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, c.Run(context.Background(), &dockerFake{containers: tt.containers, resolve: tt.resolve}), tt.status, tt.frags...)
		})
	}
	want(t, (&DNS{From: "a", Name: "b"}).Run(context.Background(), bare{}), StatusError, "cannot look names up")
	for _, tt := range []struct {
		name  string
		check DNS
		field string
	}{
		{"fine", DNS{From: "my-app", Name: "my-db", Port: 5432}, ""},
		{"no from", DNS{Name: "my-db"}, "from"},
		{"bad name", DNS{From: "a", Name: "my db"}, "name"},
		{"a port where nothing resolves", DNS{From: "a", Name: "b", Port: 80, Resolves: ptr(false)}, "port"},
		{"a network", DNS{From: "a", Name: "b", Network: "my-app-net"}, ""},
		{"a network where nothing resolves", DNS{From: "a", Name: "b", Network: "my-app-net", Resolves: ptr(false)}, "network"},
		{"the default bridge as the network", DNS{From: "a", Name: "b", Network: "bridge"}, "network"},
		{"a bad network name", DNS{From: "a", Name: "b", Network: "my net"}, "network"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(t, tt.check.Validate()); got != tt.field {
				t.Errorf("Validate names %q, want %q", got, tt.field)
			}
		})
	}
}
