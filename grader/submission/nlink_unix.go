//go:build unix

package submission

import (
	"io/fs"
	"syscall"
)

// linkCount is how many names the file has (more than one: a hard link,
// which may name a file outside the submission).
func linkCount(_ string, info fs.FileInfo) int {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Nlink)
	}
	return 1
}
