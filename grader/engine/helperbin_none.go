//go:build !embedhelper

package engine

import "io/fs"

// helperFS: this build embeds no helper (see helperbin_embed.go); grade's
// own executable must be one.
func helperFS() fs.FS { return nil }
