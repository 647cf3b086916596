//go:build embedhelper

package engine

import (
	"embed"
	"io/fs"
)

// embeddedHelpers holds static Linux builds of grade (make helpers), one
// per engine architecture: a grade for macOS or Windows, or a dynamically
// linked one, makes its helper's image from them.
//
//go:embed helperbin/grade-linux-*
var embeddedHelpers embed.FS

func helperFS() fs.FS { return embeddedHelpers }
