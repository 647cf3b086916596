package engine

import (
	"context"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/guard"
)

// What a job's objects are made with: the networks and volumes of every
// stack, and the sandbox a script's guard (package guard) makes its
// objects in.

// inhibitIPv4 is the bridge driver's option (Docker 20.10 and later) that
// gives the engine's host no address on the bridge.
const inhibitIPv4 = "com.docker.network.bridge.inhibit_ipv4"

// networkCreate is how the job's networks are made: bridges with the job's
// labels, internal (no way out) unless the scenario lets the job out. grade
// reaches the containers from its helper on the same networks.
func networkCreate(j *base) client.NetworkCreateOptions {
	o := client.NetworkCreateOptions{Driver: "bridge", Internal: !j.outbound, Labels: j.e.labels(j.name)}
	if o.Internal {
		// The engine's host gets no address on the bridge: an internal
		// network only stops forwarded traffic, and without this a
		// container reaches every service of the host through the
		// network's gateway (and docker0, and the host's own addresses).
		o.Options = map[string]string{inhibitIPv4: "true"}
	}
	return o
}

// volumeCreate is how the job's named volumes are made.
func volumeCreate(j *base, name string) client.VolumeCreateOptions {
	return client.VolumeCreateOptions{Name: name, Driver: "local", Labels: j.e.labels(j.name)}
}

// jobSandbox is a job as the guard of its script sees it (guard.Sandbox).
type jobSandbox struct{ j *base }

var _ guard.Sandbox = jobSandbox{}

func (s jobSandbox) Name() string                                { return s.j.name }
func (s jobSandbox) Labels() map[string]string                   { return s.j.e.labels(s.j.name) }
func (s jobSandbox) Limits() checks.Limits                       { return s.j.limits }
func (s jobSandbox) HostConfig() *container.HostConfig           { return s.j.hostConfig() }
func (s jobSandbox) NetworkOptions() client.NetworkCreateOptions { return networkCreate(s.j) }
func (s jobSandbox) VolumeOptions(name string) client.VolumeCreateOptions {
	return volumeCreate(s.j, name)
}
func (s jobSandbox) FolderVolume(ctx context.Context, dir, rel string) (string, error) {
	return s.j.folderVolume(ctx, dir, rel)
}
func (s jobSandbox) FolderVolumeName(rel string) string       { return s.j.folderVolumeName(rel) }
func (s jobSandbox) BoundFolder(volume string) (string, bool) { return s.j.boundFolder(volume) }
func (s jobSandbox) EditFolders(ctx context.Context, p string, content []byte) error {
	return s.j.editFolders(ctx, p, content)
}

// removeVolume removes a run's volume on a fresh context.
func (j *base) removeVolume(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = j.e.cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true})
}

// making is the context an object of the job's is made in, and its
// release: the caller's, never cut off by it (a creation interrupted
// mid-way may still complete on the engine after the job's clean-up looked
// for what to remove), bounded by makeTimeout.
func making(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), makeTimeout)
}

// makeTimeout bounds the creation of one object.
const makeTimeout = 30 * time.Second
