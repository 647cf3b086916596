// Package scenario loads and validates scenario files, format version 1.
//
// A scenario is validated completely before the engine is touched: the YAML
// is checked against a JSON Schema generated from the Go types here and from
// every check kind's spec (so unknown keys, wrong types, missing fields and
// zero checks are caught with their file:line:col), then each check validates
// its own fields (patterns compile, paths are absolute). Errors name YAML
// keys and positions, never Go types.
package scenario
