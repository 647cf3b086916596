// grpcbuild: the buildx "docker" driver way: a full BuildKit client over the
// engine's POST /grpc (hijacked to h2c), Solve with the dockerfile.v0
// frontend, exporter "moby" into the engine's image store. Shows whether
// errors carry Dockerfile source locations (errdefs.Sources).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/moby/moby/client"
	"github.com/tonistiigi/fsutil"
)

func main() {
	dir := flag.String("dir", ".", "context")
	tag := flag.String("t", "bkexp-test:grpc", "tag")
	syntax := flag.String("syntax", "", "BUILDKIT_SYNTAX")
	flag.Parse()
	ctx := context.Background()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		panic(err)
	}
	bk, err := bkclient.New(ctx, "",
		bkclient.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return cli.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		bkclient.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return cli.DialHijack(ctx, "/session", proto, meta)
		}))
	if err != nil {
		panic(err)
	}
	if info, err := bk.Info(ctx); err == nil {
		fmt.Printf("buildkit info: %+v\n", info.BuildkitVersion)
	} else {
		fmt.Printf("buildkit Info: %v\n", err)
	}
	ctxFS, _ := fsutil.NewFS(*dir)
	dfFS, _ := fsutil.NewFS(filepath.Join(*dir))
	attrs := map[string]string{"filename": "Dockerfile", "label:grade.job": "bkexp-grpc"}
	if *syntax != "" {
		attrs["build-arg:BUILDKIT_SYNTAX"] = *syntax
	}
	ch := make(chan *bkclient.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d, _ := progressui.NewDisplay(os.Stdout, progressui.PlainMode)
		_, _ = d.UpdateFrom(context.Background(), ch)
	}()
	res, err := bk.Solve(ctx, nil, bkclient.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS},
		Exports:       []bkclient.ExportEntry{{Type: "moby", Attrs: map[string]string{"name": *tag}}},
	}, ch)
	<-done
	if err != nil {
		fmt.Printf("solve error: %v\n", err)
		for _, s := range errdefs.Sources(err) {
			for _, r := range s.Ranges {
				fmt.Printf("  source %s lines %d-%d\n", s.Info.Filename, r.Start.Line, r.End.Line)
			}
		}
		return
	}
	fmt.Printf("exporter response: %v\n", res.ExporterResponse)
}
