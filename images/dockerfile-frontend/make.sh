#!/usr/bin/env bash
# make.sh IMAGE: BuildKit's Dockerfile frontend as an image of its one static
# binary, built offline from the moby/buildkit module that grade's go.mod pins
# (its `tool` line), the way BuildKit documents a frontend: an ordinary image
# whose entrypoint speaks the gateway API. grade passes it to every BuildKit
# build (BUILDKIT_SYNTAX), so that files written for today's Dockerfile syntax
# (heredocs, RUN --mount, COPY --chmod) build on engines whose built-in
# frontend is older (20.10's), with no registry.
set -euo pipefail
image=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v go >/dev/null 2>&1 || { echo "images: $image needs Go to build (the frontend is built from the module proxy)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/grade-frontend.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
(cd "$root" && CGO_ENABLED=0 go build -trimpath -tags "netgo static_build osusergo" -ldflags "-s -w" \
	-o "$tmp/bin/dockerfile-frontend" github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend)
caps=moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts
tar -C "$tmp" -c bin | docker import \
	-c 'ENTRYPOINT ["/bin/dockerfile-frontend"]' \
	-c 'LABEL moby.buildkit.frontend.network.none="true"' \
	-c "LABEL moby.buildkit.frontend.caps=\"$caps\"" \
	- "$image" >/dev/null
