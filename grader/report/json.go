package report

import (
	"encoding/json"
	"io"
)

// JSON writes the run as indented JSON (format documented in docs/reports.md, "JSON results").
func JSON(w io.Writer, r *Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
