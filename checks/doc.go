// Package checks defines what a check is, what it reports, and every check kind
// grade knows, one file per kind.
//
// A check talks to the world only through the small capability interfaces
// declared in target.go (ImageInspector, FileReader, Runner, Execer,
// PortPublisher, ContainerInspector, ListenerProber, BuildReporter, Memo,
// and, for what a student's docker commands made, ObjectInspector,
// VolumeReader, HostPorts, Lifecycle, NameResolver, WorkspaceEditor). The
// package grader/engine implements them on a real Docker engine; tests
// implement them with fakes. This package imports no Docker, testcontainers,
// viper or cobra code.
//
// Adding a kind: one file here with its spec struct (its YAML keys) and its
// Run method, one line in Kinds (kinds.go), its table test, and the
// scenarios that use it. A kind that fits one kind of stack says which
// (StackUser); one whose keys depend on the stack checks them (StackChecker:
// a container is a service in a compose stack and a container in a commands
// stack).
package checks
