// cachetool: list the engine's BuildKit cache records, and prune by filters.
//
//	cachetool ls
//	cachetool prune [-all] key=value ...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/moby/moby/client"
)

func main() {
	all := flag.Bool("all", false, "all=1")
	flag.Parse()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	switch flag.Arg(0) {
	case "ls":
		du, err := cli.DiskUsage(ctx, client.DiskUsageOptions{BuildCache: true, Verbose: true})
		if err != nil {
			panic(err)
		}
		for _, r := range du.BuildCache.Items {
			last := "-"
			if r.LastUsedAt != nil {
				last = r.LastUsedAt.Format("15:04:05")
			}
			fmt.Printf("%s %-12s inuse=%-5v shared=%-5v size=%-6d created=%s last=%s parents=%v %q\n",
				r.ID, r.Type, r.InUse, r.Shared, r.Size, r.CreatedAt.Format("15:04:05"), last, r.Parents, r.Description)
		}
	case "prune":
		f := client.Filters{}
		for _, a := range flag.Args()[1:] {
			k, v, _ := strings.Cut(a, "=")
			f.Add(k, v)
		}
		res, err := cli.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: *all, Filters: f})
		if err != nil {
			fmt.Println("prune error:", err)
			os.Exit(1)
		}
		fmt.Printf("pruned %d records, %d bytes: %v\n", len(res.Report.CachesDeleted), res.Report.SpaceReclaimed, res.Report.CachesDeleted)
	}
}
