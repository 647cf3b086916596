// Package scenarios holds the bundled scenarios, one YAML file per course
// exercise, embedded into the grade binary.
package scenarios

import "embed"

// FS holds the bundled scenario files (*.yaml).
//
//go:embed *.yaml
var FS embed.FS
