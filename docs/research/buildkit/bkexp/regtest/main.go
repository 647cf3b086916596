// regtest: serve the frontend image from an in-process registry on
// 127.0.0.1 and build with BUILDKIT_SYNTAX pointing at it.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	reg := registry.New(registry.Logger(log.New(os.Stderr, "registry: ", 0)))
	go http.Serve(ln, reg)
	addr := ln.Addr().String()

	layer, err := tarball.LayerFromFile("/tmp/bkexp/fe.tar")
	if err != nil {
		log.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		log.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/bin/dockerfile-frontend"}
	cf.Config.Labels = map[string]string{
		"moby.buildkit.frontend.network.none": "true",
		"moby.buildkit.frontend.caps":         "moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring",
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		log.Fatal(err)
	}
	ref, err := name.ParseReference(addr + "/bkexp-dockerfile:1.4")
	if err != nil {
		log.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed", ref)
	args := append(os.Args[1:], "-arg", "BUILDKIT_SYNTAX="+ref.String())
	cmd := exec.Command("/tmp/bkexp/bkexp", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	_ = cmd.Run()
}
