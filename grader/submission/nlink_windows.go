//go:build windows

package submission

import (
	"io/fs"

	"golang.org/x/sys/windows"
)

// linkCount is how many names the file has (more than one: a hard link,
// which may name a file outside the submission). Windows keeps the count
// in the file's record, read through a handle; a file that cannot be
// opened counts as linked, so that it is refused rather than read.
func linkCount(path string, _ fs.FileInfo) int {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 2
	}
	h, err := windows.CreateFile(p, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return 2
	}
	defer windows.CloseHandle(h)
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &fi); err != nil {
		return 2
	}
	return int(fi.NumberOfLinks)
}
