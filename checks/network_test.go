package checks

import (
	"context"
	"testing"
)

func TestNetwork(t *testing.T) {
	on := func(name string, networks ...string) ContainerInfo {
		c := running(name, "redis")
		c.Networks = networks
		return c
	}
	both := map[string]ContainerInfo{"my-db": on("my-db", "my-app-net"), "my-app": on("my-app", "my-app-net")}
	net := func(members map[string][]string) map[string]NetworkInfo {
		return map[string]NetworkInfo{"my-app-net": {Name: "my-app-net", Driver: "bridge", Containers: members}}
	}
	expect := NetworkExpect{Containers: []string{"my-db", "my-app"}}
	tests := []struct {
		name       string
		expect     NetworkExpect
		networks   map[string]NetworkInfo
		containers map[string]ContainerInfo
		status     Status
		frags      []string
	}{
		{"both on it", expect, net(map[string][]string{"my-db": nil, "my-app": nil}), both, StatusPass,
			[]string{"a network named my-app-net (driver bridge) with my-db, my-app on it", "on it: my-app, my-db"}},
		{"no network", expect, nil, both, StatusFail,
			[]string{"there is no network named my-app-net: create it with docker network create my-app-net"}},
		{"one on the default bridge", expect, net(map[string][]string{"my-app": nil}),
			map[string]ContainerInfo{"my-db": on("my-db", "bridge"), "my-app": on("my-app", "my-app-net")}, StatusFail,
			[]string{"my-db is on Docker's default bridge network, not on my-app-net: run it with --network my-app-net (or docker network connect my-app-net my-db)"}},
		{"one on another network", expect, net(map[string][]string{"my-app": nil}),
			map[string]ContainerInfo{"my-db": on("my-db", "db-net"), "my-app": on("my-app", "my-app-net")}, StatusFail,
			[]string{"my-db is on db-net, not on my-app-net"}},
		{"no such container", expect, net(map[string][]string{"my-app": nil}), map[string]ContainerInfo{"my-app": on("my-app", "my-app-net")}, StatusFail,
			[]string{"there is no container named my-db"}},
		{"alias", NetworkExpect{Aliases: map[string][]string{"my-db": {"db"}}}, net(map[string][]string{"my-db": {"db"}}), both, StatusPass,
			[]string{"my-db answering to db there", "my-db (aliases db)"}},
		{"no alias", NetworkExpect{Aliases: map[string][]string{"my-db": {"db"}}}, net(map[string][]string{"my-db": nil}), both, StatusFail,
			[]string{"my-db does not answer to db on my-app-net: run it with --network my-app-net --network-alias db"}},
		{"another driver", NetworkExpect{Driver: "overlay"}, net(nil), both, StatusFail, []string{"its driver is bridge, not overlay"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &NetworkCheck{Name: "my-app-net", Expect: tt.expect}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			want(t, c.Run(context.Background(), &dockerFake{networks: tt.networks, containers: tt.containers}), tt.status, tt.frags...)
		})
	}
	want(t, (&NetworkCheck{Name: "n"}).Run(context.Background(), bare{}), StatusError, "cannot inspect")
	for _, tt := range []struct {
		name  string
		check NetworkCheck
		field string
	}{
		{"fine", NetworkCheck{Name: "my-app-net", Expect: NetworkExpect{Containers: []string{"a"}, Aliases: map[string][]string{"a": {"db"}}}}, ""},
		{"no name", NetworkCheck{}, "name"},
		{"bad container", NetworkCheck{Name: "n", Expect: NetworkExpect{Containers: []string{"a b"}}}, "expect.containers"},
		{"no alias", NetworkCheck{Name: "n", Expect: NetworkExpect{Aliases: map[string][]string{"a": nil}}}, "expect.aliases.a"},
		{"bad alias", NetworkCheck{Name: "n", Expect: NetworkExpect{Aliases: map[string][]string{"a": {"d b"}}}}, "expect.aliases.a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(t, tt.check.Validate()); got != tt.field {
				t.Errorf("Validate names %q, want %q", got, tt.field)
			}
		})
	}
}
