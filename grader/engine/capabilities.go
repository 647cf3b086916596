package engine

import "github.com/gradeproject/grade/checks"

// The capabilities (package checks) a Job gives the checks, asserted here so
// that a missing or renamed method fails the build, not a grading: the
// checks find them by type assertion at run time. Grouped by the stacks
// whose checks use them (image, compose, commands); some serve several.
var (
	// Every stack.
	_ checks.Target             = (*Job)(nil)
	_ checks.Memo               = (*Job)(nil)
	_ checks.SourceReader       = (*Job)(nil)
	_ checks.Execer             = (*Job)(nil)
	_ checks.PortPublisher      = (*Job)(nil)
	_ checks.Dialer             = (*Job)(nil)
	_ checks.ContainerInspector = (*Job)(nil)
	_ checks.ListenerProber     = (*Job)(nil)

	// Image stacks: the built image and what was built.
	_ checks.BuildReporter  = (*Job)(nil)
	_ checks.ImageInspector = (*Job)(nil)
	_ checks.FileReader     = (*Job)(nil)
	_ checks.Runner         = (*Job)(nil)
	_ checks.HistoryReader  = (*Job)(nil)
	_ checks.ImageWalker    = (*Job)(nil)
	_ checks.Rebuilder      = (*Job)(nil)
	_ checks.ImageSaver     = (*Job)(nil)
	_ checks.ScriptRunner   = (*Job)(nil)
	_ checks.RegistryReader = (*Job)(nil)

	// Compose stacks.
	_ checks.StackReporter  = (*Job)(nil)
	_ checks.StackCycler    = (*Job)(nil)
	_ checks.MountInspector = (*Job)(nil)

	// Commands stacks: the student's own objects.
	_ checks.ObjectInspector = (*Job)(nil)
	_ checks.VolumeReader    = (*Job)(nil)
	_ checks.HostPorts       = (*Job)(nil)
	_ checks.Lifecycle       = (*Job)(nil)
	_ checks.NameResolver    = (*Job)(nil)
	_ checks.WorkspaceEditor = (*Job)(nil)
)
