package report

import (
	"encoding/json"
	"io"
)

// JSON writes the run as indented JSON (format documented in README.md).
func JSON(w io.Writer, r *Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
