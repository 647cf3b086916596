package checks

// Helpers shared by the kinds that grade what a student's docker commands
// made (a scenario whose stack is commands): names, the keys that address a
// container, and the messages for a container that is not there.

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// objectNameRe is a container, volume or network name as docker accepts it
// (--name, docker volume create, docker network create).
var objectNameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// objectName refuses a name docker would not accept; what is "container",
// "volume" or "network".
func objectName(field, what, name string) error {
	if name == "" {
		return fieldErr(field, "is required: the %s's name as the student's commands give it", what)
	}
	if !objectNameRe.MatchString(name) {
		return fieldErr(field, "%q is not a %s name (letters, digits, _ . and -, like my-web-server)", name, what)
	}
	return nil
}

// hostNameRe is a name looked up in DNS or given as a network alias.
var hostNameRe = regexp.MustCompile(`^[a-zA-Z0-9_]([a-zA-Z0-9_.-]*[a-zA-Z0-9_])?$`)

// containerPath refuses a path that is not absolute in a container.
func containerPath(field, p string) error {
	if !strings.HasPrefix(p, "/") {
		return fieldErr(field, "%q is not an absolute path in the container", p)
	}
	return nil
}

// samePath compares two container paths, ignoring a trailing slash.
func samePath(a, b string) bool { return path.Clean(a) == path.Clean(b) }

// containerKeys checks the keys that name the container a check runs
// against: service in a compose stack (optional in an image stack, whose one
// container needs no name), container (its --name) in a commands stack.
func containerKeys(stack, service, container string) error {
	switch stack {
	case StackCommands:
		if service != "" {
			return fieldErr("service", "is for a compose stack; in a commands stack name the container with container (as its docker run --name gives it)")
		}
		if container == "" {
			return fieldErr("container", "is required in a commands stack: the container's name as its docker run --name gives it")
		}
	case StackCompose:
		if container != "" {
			return fieldErr("container", "is for a commands stack; in a compose stack name the container with service")
		}
	default:
		if container != "" {
			return fieldErr("container", "is for a commands stack; in %s the check runs against the one container of the image", aStack(stack))
		}
	}
	return nil
}

// serviceOrContainer refuses both keys at once and a bad container name;
// CheckStack says which one the scenario's stack wants.
func serviceOrContainer(service, container string) error {
	if container == "" {
		return nil
	}
	if service != "" {
		return fieldErr("container", "give service (a compose stack) or container (a commands stack), not both")
	}
	return objectName("container", "container", container)
}

// aStack names a stack with its article: "an image stack", "a compose stack".
func aStack(stack string) string {
	if stack == StackImage {
		return "an image stack"
	}
	return "a " + stack + " stack"
}

// noContainer says that the student's commands made no container of that name.
func noContainer(name string) string {
	return fmt.Sprintf("there is no container named %s: did your script run docker run with --name %s? (3.2)", name, name)
}

// commandsOutcome turns an error from a capability into an outcome, as
// engineOutcome does, and a container the student's commands did not make
// (ErrNotExist) into a failure.
func commandsOutcome(expected, container string, err error) Outcome {
	if errors.Is(err, ErrNotExist) {
		return Fail(expected, "no container named "+container, orRefused(err, "container", container, noContainer(container)))
	}
	return engineOutcome(expected, err)
}

// orRefused explains an object the student's commands did not make: when
// grade refused some of their calls, that is the likely cause; otherwise
// advice.
func orRefused(err error, what, name, advice string) string {
	var nm *NotMadeError
	if errors.As(err, &nm) && nm.Failed != "" {
		return fmt.Sprintf("there is no %s named %s: the script's docker run --name %s failed: %s", what, name, name, clip(nm.Failed, 300))
	}
	if errors.As(err, &nm) && nm.Refused > 0 {
		return fmt.Sprintf("there is no %s named %s: grade refused a call of your script (see the script's check), and what a refused call asks for is never made", what, name)
	}
	return advice
}

// showStatus says what state a container is in, e.g. "exited with code 1".
func showStatus(info ContainerInfo) string {
	switch status := containerStatus(info); status {
	case "exited":
		return fmt.Sprintf("exited with code %d", info.ExitCode)
	case "created":
		return "created but never started"
	default:
		return status
	}
}

// containerStatus is the engine's status, or what Running says when it gave
// none.
func containerStatus(info ContainerInfo) string {
	switch {
	case info.Status != "":
		return info.Status
	case info.Running:
		return "running"
	}
	return "exited"
}

// lookUpContainer inspects a container of the student's commands when the
// target can. done reports a failure (no such container; not running
// when running is asked for) or an error, in o; ok reports that info was
// read.
func lookUpContainer(ctx context.Context, t Target, expected, name string, running bool) (info ContainerInfo, ok bool, o Outcome, done bool) {
	oi, can := t.(ObjectInspector)
	if !can {
		return ContainerInfo{}, false, Outcome{}, false
	}
	info, err := oi.Container(ctx, name)
	if err != nil {
		return ContainerInfo{}, false, commandsOutcome(expected, name, err), true
	}
	if running && !info.Running {
		o := Fail(expected, name+": "+showStatus(info), notRunning(name, info))
		o.Detail = containerLog(ctx, t, name)
		return info, true, o, true
	}
	return info, true, Outcome{}, false
}

// notRunning explains a container that is not running.
func notRunning(name string, info ContainerInfo) string {
	switch containerStatus(info) {
	case "exited":
		return fmt.Sprintf("%s is not running: it exited with code %d, and a container runs only as long as its main process (docker logs %s says why it ended)", name, info.ExitCode, name)
	case "created":
		return fmt.Sprintf("%s was created but never started (docker create without docker start, or docker run could not start it)", name)
	case "restarting":
		return fmt.Sprintf("%s keeps restarting: its main process exits (last with code %d) and its restart policy starts it again", name, info.ExitCode)
	case "paused":
		return fmt.Sprintf("%s is paused (docker unpause %s)", name, name)
	}
	return fmt.Sprintf("%s is not running (%s)", name, showStatus(info))
}

// containerLog returns the end of a container's log for feedback, "" when
// there is none or it cannot be read.
func containerLog(ctx context.Context, t Target, name string) string {
	ci, ok := t.(ContainerInspector)
	if !ok {
		return ""
	}
	s, err := ci.Logs(ctx, name, 64<<10)
	if err != nil || strings.TrimSpace(s) == "" {
		return ""
	}
	return "container log:\n" + logTail(s, 10)
}

// showBinding writes a published port as the student's -p did.
func showBinding(b PortBinding) string {
	s := fmt.Sprintf("-p %d:%d", b.HostPort, b.ContainerPort)
	if b.Proto != "" && b.Proto != "tcp" {
		s += "/" + b.Proto
	}
	return s
}

// showMount describes a mount, e.g. "the volume site-data at /data".
func showMount(m Mount) string {
	switch {
	case m.Type == "volume" && m.Anonymous:
		return "an anonymous volume at " + m.Destination
	case m.Type == "volume":
		return fmt.Sprintf("the volume %s at %s", m.Name, m.Destination)
	case m.Type == "bind":
		return fmt.Sprintf("a bind mount of %s at %s", m.Source, m.Destination)
	}
	return fmt.Sprintf("a %s mount at %s", m.Type, m.Destination)
}

// mountAt returns the mount at dest.
func mountAt(mounts []Mount, dest string) (Mount, bool) {
	for _, m := range mounts {
		if samePath(m.Destination, dest) {
			return m, true
		}
	}
	return Mount{}, false
}

// onDefaultBridge reports a container on Docker's default network only.
func onDefaultBridge(networks []string) bool {
	return len(networks) == 1 && networks[0] == "bridge"
}

// showNetworks names the networks a container is on, for a message.
func showNetworks(networks []string) string {
	switch {
	case len(networks) == 0:
		return "no network"
	case onDefaultBridge(networks):
		return "Docker's default bridge network"
	}
	return strings.Join(networks, ", ")
}
