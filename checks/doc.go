// Package checks defines what a check is, what it reports, and every check kind
// grade knows, one file per kind.
//
// A check talks to the world only through the small capability interfaces
// declared in target.go (ImageInspector, FileReader, Runner, Execer,
// PortPublisher, ContainerInspector, ListenerProber, BuildReporter, Memo). The
// package grader/engine implements them on a real Docker engine; tests
// implement them with fakes. This package imports no Docker, testcontainers,
// viper or cobra code.
//
// Adding a kind: one file here with its spec struct (its YAML keys) and its
// Run method, one line in Kinds (kinds.go), its table test, and the
// scenarios that use it.
package checks
