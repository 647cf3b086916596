package engine

import "github.com/gradeproject/grade/checks"

// The capabilities (package checks) each stack's job gives the checks,
// asserted here so that a missing or renamed method fails the build, not a
// grading: the checks find them by type assertion at run time. What every
// stack has comes from base (job.go, helperctr.go, source.go); the builds
// of image and compose stacks from builder (build.go); the rest is the
// stack's own type's. A capability is added to one stack by a method of its
// type and a line here.
var (
	// Every stack.
	_ checks.Target             = (*base)(nil)
	_ checks.Memo               = (*base)(nil)
	_ checks.SourceReader       = (*base)(nil)
	_ checks.Execer             = (*base)(nil)
	_ checks.PortPublisher      = (*base)(nil)
	_ checks.Dialer             = (*base)(nil)
	_ checks.ContainerInspector = (*base)(nil)
	_ checks.ListenerProber     = (*base)(nil)
	_ StackJob                  = (*ImageJob)(nil)
	_ StackJob                  = (*ComposeJob)(nil)
	_ StackJob                  = (*CommandsJob)(nil)

	// Image stacks: the built image and what was built; the registry step.
	_ checks.BuildReporter  = (*ImageJob)(nil)
	_ checks.Rebuilder      = (*ImageJob)(nil)
	_ checks.ImageInspector = (*ImageJob)(nil)
	_ checks.FileReader     = (*ImageJob)(nil)
	_ checks.Runner         = (*ImageJob)(nil)
	_ checks.HistoryReader  = (*ImageJob)(nil)
	_ checks.ImageWalker    = (*ImageJob)(nil)
	_ checks.ImageSaver     = (*ImageJob)(nil)
	_ checks.ScriptRunner   = (*ImageJob)(nil)
	_ checks.RegistryReader = (*ImageJob)(nil)

	// Compose stacks.
	_ checks.StackReporter  = (*ComposeJob)(nil)
	_ checks.StackCycler    = (*ComposeJob)(nil)
	_ checks.MountInspector = (*ComposeJob)(nil)

	// Commands stacks: the student's own objects.
	_ checks.ScriptRunner    = (*CommandsJob)(nil)
	_ checks.ObjectInspector = (*CommandsJob)(nil)
	_ checks.VolumeReader    = (*CommandsJob)(nil)
	_ checks.HostPorts       = (*CommandsJob)(nil)
	_ checks.Lifecycle       = (*CommandsJob)(nil)
	_ checks.NameResolver    = (*CommandsJob)(nil)
	_ checks.WorkspaceEditor = (*CommandsJob)(nil)
	_ checks.MountInspector  = (*CommandsJob)(nil)
)
