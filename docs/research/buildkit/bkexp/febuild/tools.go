//go:build tools

package febuild

import (
	_ "github.com/moby/buildkit/frontend/dockerfile/builder"
	_ "github.com/moby/buildkit/frontend/gateway/grpcclient"
	_ "github.com/moby/buildkit/util/appcontext"
	_ "github.com/moby/buildkit/util/grpcutil/encoding/proto"
	_ "github.com/moby/buildkit/util/stack"
)
