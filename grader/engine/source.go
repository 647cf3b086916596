package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gradeproject/grade/checks"
)

// ReadSource reads a file of the submission as the student wrote it, at
// most limit bytes. The path must stay inside the submission, links
// followed; a missing file is checks.ErrNotExist.
func (j *base) ReadSource(p string, limit int64) ([]byte, error) {
	if j.dir == "" {
		return nil, errors.New("this job has no submission folder")
	}
	clean := path.Clean(p)
	if path.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("%s is not a path inside the submission", p)
	}
	full := filepath.Join(j.dir, filepath.FromSlash(clean))
	if _, err := os.Lstat(full); errors.Is(err, fs.ErrNotExist) {
		return nil, checks.ErrNotExist
	}
	if !insideReal(j.dir, full) {
		return nil, fmt.Errorf("%s leads outside the submission", p)
	}
	// Stat first: opening a named pipe would block.
	if st, err := os.Stat(full); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	f, err := os.OpenFile(full, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p) // swapped since
	}
	return io.ReadAll(io.LimitReader(f, limit))
}
