package checks

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// FileCheck grades a path in the built image: that it exists (or is absent),
// and what it contains. The file is read from the image; the app is not
// started.
type FileCheck struct {
	Path   string     `yaml:"path" jsonschema:"required"`
	Expect FileExpect `yaml:"expect"`
}

// FileExpect is what the path must be. Exists defaults to true.
type FileExpect struct {
	Exists   *bool   `yaml:"exists"`
	Contains string  `yaml:"contains"`
	Matches  string  `yaml:"matches"`
	Equals   *string `yaml:"equals"`
}

// fileReadLimit caps how much of a file a check reads.
const fileReadLimit = 1 << 20

// Requires reports that file needs the image.
func (*FileCheck) Requires() Requirement { return NeedsImage }

func (c *FileCheck) text() TextExpect {
	return TextExpect{Contains: c.Expect.Contains, Matches: c.Expect.Matches, Equals: c.Expect.Equals}
}

func (c *FileCheck) exists() bool { return c.Expect.Exists == nil || *c.Expect.Exists }

// Validate checks the path and the expectation.
func (c *FileCheck) Validate() error {
	if !path.IsAbs(c.Path) {
		return fieldErr("path", "%q must be an absolute path in the image, like /app/app.js", c.Path)
	}
	if !c.exists() && c.text().set() {
		return fieldErr("expect", "exists: false cannot be combined with contains, matches or equals")
	}
	return c.text().validate("expect")
}

// Run reads the path from the image.
func (c *FileCheck) Run(ctx context.Context, t Target) Outcome {
	expected := c.Path + " exists in the image"
	if d := c.text().describe("with content"); d != "" {
		expected += ", " + d
	}
	if !c.exists() {
		expected = c.Path + " is absent from the image"
	}
	fr, ok := t.(FileReader)
	if !ok {
		return capErr(expected, "read files from images")
	}
	f, err := fr.ReadFile(ctx, c.Path, fileReadLimit)
	switch {
	case errors.Is(err, ErrNotExist):
		if !c.exists() {
			return Pass(expected, c.Path+" is not in the image")
		}
		return Fail(expected, c.Path+" is not in the image", "")
	case err != nil:
		return engineOutcome(expected, err)
	}
	found := fmt.Sprintf("%s is in the image (%s, %d bytes)", c.Path, f.Mode.Type().String(), f.Size)
	if f.Mode.IsRegular() {
		found = fmt.Sprintf("%s is in the image (%d bytes)", c.Path, f.Size)
	}
	if !c.exists() {
		return Fail(expected, found, "")
	}
	if !c.text().set() {
		return Pass(expected, found)
	}
	if !f.Mode.IsRegular() {
		return Fail(expected, found, c.Path+" is not a regular file")
	}
	content := string(f.Content)
	if !utf8.ValidString(content) {
		content = strings.ToValidUTF8(content, "\uFFFD")
	}
	if msg := c.text().check("the content", content); msg != "" {
		return Fail(expected, found+": "+quote(content, 200), msg)
	}
	return Pass(expected, found)
}

// Stack reports that file grades the image built from the Dockerfile.
func (*FileCheck) Stack() string { return StackImage }
