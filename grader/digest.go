package grader

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// digestLimit caps how much of a submission is hashed.
const digestLimit = 256 << 20

// digestDir returns a digest of a submission folder's content: every regular
// file's path and bytes, and every link's path and target, in path order. It
// identifies exactly what was graded.
func digestDir(dir string) (string, error) {
	h := sha256.New()
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			_, _ = io.WriteString(h, "L "+filepath.ToSlash(rel)+"\x00"+target+"\x00")
		case d.Type().IsRegular():
			_, _ = io.WriteString(h, "F "+filepath.ToSlash(rel)+"\x00")
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			n, err := io.Copy(h, io.LimitReader(f, digestLimit-total))
			_ = f.Close()
			total += n
			if err != nil {
				return err
			}
			_, _ = io.WriteString(h, "\x00")
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
