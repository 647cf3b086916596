//go:build windows

package engine

import (
	"io/fs"

	"golang.org/x/sys/windows"
)

// processGone reports whether no process of this machine has the pid: it
// cannot be opened, or it has exited.
func processGone(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return err == windows.ERROR_INVALID_PARAMETER // no such process
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return false
	}
	return code != 259 // STILL_ACTIVE
}

// ownedByMe reports whether grade's user owns the file: on Windows each
// user has their own temp folder, so every folder in it is.
func ownedByMe(fs.FileInfo) bool { return true }
