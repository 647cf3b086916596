package report

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
)

// Formats are the output formats Render knows.
var Formats = []string{"table", "json", "junit", "csv", "markdown", "gradescope", "html"}

// Options says how to render for a reader.
type Options struct {
	// Lang is "en" or "zh".
	Lang string
	// Color uses ANSI colours in the table (on a terminal only).
	Color bool
}

// Render writes r in format.
func Render(w io.Writer, format string, r *Run, o Options) error {
	switch format {
	case "table", "":
		return Table(w, r, TableOptions{Lang: o.Lang, Color: o.Color, Details: true})
	case "json":
		return JSON(w, r)
	case "junit":
		return JUnit(w, r, o.Lang)
	case "csv":
		return CSV(w, r)
	case "markdown":
		return Markdown(w, r, o.Lang)
	case "gradescope":
		return Gradescope(w, r, o.Lang)
	case "html":
		return HTML(w, r, o.Lang)
	}
	return fmt.Errorf("unknown format %q; known: %s", format, strings.Join(Formats, ", "))
}

// ParseTarget reads a --report value, FILE or FILE:FORMAT; without a format
// it is guessed from the file's extension.
func ParseTarget(s string) (file, format string, err error) {
	file, format = s, ""
	if i := strings.LastIndex(s, ":"); i > 0 && !strings.Contains(s[i+1:], "/") {
		file, format = s[:i], s[i+1:]
	}
	if file == "" {
		return "", "", fmt.Errorf("%q: give a file name, e.g. out/results.json or out/junit.xml:junit", s)
	}
	if format == "" {
		byExt := map[string]string{".json": "json", ".xml": "junit", ".csv": "csv", ".md": "markdown", ".html": "html", ".htm": "html", ".txt": "table"}
		f, ok := byExt[strings.ToLower(filepath.Ext(file))]
		if !ok {
			return "", "", fmt.Errorf("%q: say the format, FILE:FORMAT, one of %s", s, strings.Join(Formats, ", "))
		}
		format = f
	}
	i := sort.SearchStrings(sorted(), format)
	if i >= len(Formats) || sorted()[i] != format {
		return "", "", fmt.Errorf("%q: unknown format %q; known: %s", s, format, strings.Join(Formats, ", "))
	}
	return file, format, nil
}

func sorted() []string {
	s := append([]string(nil), Formats...)
	sort.Strings(s)
	return s
}
