package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// Removed counts what a clean-up removed.
type Removed struct {
	Containers, Networks, Volumes, Images int
}

// Total is the number of objects removed.
func (r Removed) Total() int { return r.Containers + r.Networks + r.Volumes + r.Images }

func (r Removed) String() string {
	return fmt.Sprintf("%d containers, %d networks, %d volumes, %d images", r.Containers, r.Networks, r.Volumes, r.Images)
}

// cleanupTimeout bounds one clean-up.
const cleanupTimeout = 2 * time.Minute

// lateCommit is how long Close waits for the image of an aborted build.
const lateCommit = 3 * time.Second

// close runs what was registered to run at the job's close, stops its
// helper, runs the stack's before (if any), removes every object of the
// job's by label, then runs the stack's after with those labels.
func (j *base) close(before func(ctx context.Context), after func(ctx context.Context, f client.Filters) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	j.endWarm() // what it made is the job's, removed below
	j.mu.Lock()
	closers := j.closers
	j.closers = nil
	j.mu.Unlock()
	var closeErr error
	for i := len(closers) - 1; i >= 0; i-- {
		closeErr = errors.Join(closeErr, closers[i]())
	}
	j.hmu.Lock()
	h := j.helper
	j.helper = nil
	j.hmu.Unlock()
	j.e.closeHelper(h)
	if before != nil {
		before(ctx)
	}
	f := client.Filters{}.Add("label", LabelRun+"="+j.e.runID).Add("label", LabelJob+"="+j.name)
	_, err := j.e.removeLabelled(ctx, f, false)
	if after != nil {
		err = errors.Join(err, after(ctx, f))
	}
	return errors.Join(closeErr, err)
}

// afterSweep hands the untagged images the builds created to the run, and,
// when a build was cut off, removes the image it may still commit.
func (j *builder) afterSweep(ctx context.Context, f client.Filters) error {
	j.mu.Lock()
	aborted := j.aborted
	j.mu.Unlock()
	var err error
	if aborted {
		// A build cut off mid-way can still commit its image a moment later.
		time.Sleep(lateCommit)
		_, err = j.e.removeLabelled(ctx, f, false)
	}
	j.mu.Lock()
	created := j.created
	j.created = nil
	j.mu.Unlock()
	j.e.mu.Lock()
	j.e.intermediate = append(j.e.intermediate, created...)
	j.e.mu.Unlock()
	return err
}

// removeIntermediate removes the untagged images this run's builds created,
// newest first (children before parents). An image still in use (a parent of
// something, tagged since) is left alone.
func (e *Engine) removeIntermediate(ctx context.Context) {
	e.mu.Lock()
	ids := e.intermediate
	e.intermediate = nil
	e.mu.Unlock()
	e.removeUntagged(ctx, ids)
}

// removeUntagged removes the images of ids that are still untagged, newest
// first, and returns how many it removed.
func (e *Engine) removeUntagged(ctx context.Context, ids []string) int {
	n := 0
	// Jobs share cached steps, so a parent may come before its child in
	// this list: repeat while a pass removes something.
	for removed := true; removed && len(ids) > 0; {
		removed = false
		var left []string
		for i := len(ids) - 1; i >= 0; i-- {
			ins, err := e.cli.ImageInspect(ctx, ids[i])
			if err != nil || len(ins.RepoTags) > 0 {
				continue // gone, or tagged since: not ours to remove
			}
			if _, err := e.cli.ImageRemove(ctx, ids[i], client.ImageRemoveOptions{}); err != nil {
				left = append([]string{ids[i]}, left...)
				continue
			}
			removed = true
			n++
		}
		ids = left
	}
	return n
}

// CleanRun removes everything labelled with this run, whatever job made it.
// What the run's builds share with other runs' (untagged parent images,
// BuildKit's cache records) goes only when no other run on this engine is
// live; else it stays in the journal, marked ended, for the last run to
// end (or `grade clean`).
func (e *Engine) CleanRun() (Removed, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	e.endJournal()
	last := !e.otherRunsLive()
	r, err := e.removeLabelled(ctx, client.Filters{}.Add("label", LabelRun+"="+e.runID), last)
	e.removeHelperImage(ctx)
	if e.cgroups != nil {
		e.cgroups.sweep(e.runID + "-")
	}
	if !last {
		return r, err
	}
	e.removeIntermediate(ctx)
	err = errors.Join(err, e.pruneCache(ctx))
	r.Images += e.sweepJournals(ctx)
	e.dropJournal()
	return r, err
}

// Sweep removes what grade runs left behind. Without all, only runs whose
// process is gone are swept (runs on this machine whose pid no longer
// exists); with all, every object labelled grade.managed is removed. The
// registry step's folders in the temp dir go only when their run is dead.
func (e *Engine) Sweep(ctx context.Context, all bool) (Removed, error) {
	runs, err := e.leftoverRuns(ctx)
	if err != nil {
		return Removed{}, err
	}
	var total Removed
	var errs []error
	if e.cgroups != nil {
		e.cgroups.sweep("") // only empty ones go: a live build's stays
	}
	// What live runs' builds may share stays while they are live.
	shared := !e.otherRunsLive()
	for run, owner := range runs {
		if run == e.runID || (!all && !e.dead(owner)) {
			continue
		}
		r, err := e.removeLabelled(ctx, client.Filters{}.Add("label", LabelRun+"="+run), shared)
		total.Containers += r.Containers
		total.Networks += r.Networks
		total.Volumes += r.Volumes
		total.Images += r.Images
		errs = append(errs, err)
	}
	// After the labelled images: the untagged ones are their parents.
	if shared {
		total.Images += e.sweepJournals(ctx)
	}
	total.Images += e.sweepHelperImages(ctx)
	// The registry step's folders of dead runs (a grade killed mid-job).
	errs = append(errs, e.sweepSessionDirs())
	return total, errors.Join(errs...)
}

// owner is the "<hostname>/<pid>" of a run's grade process.
type owner string

// leftoverRuns lists the runs that own objects on the engine.
func (e *Engine) leftoverRuns(ctx context.Context) (map[string]owner, error) {
	runs := map[string]owner{}
	err := e.eachManaged(ctx, func(_, _ string, l map[string]string) { runs[l[LabelRun]] = owner(l[LabelOwner]) })
	return runs, err
}

// eachManaged calls fn for every container, network, volume and image
// labelled grade.managed=true, with its kind, a short name and its labels.
func (e *Engine) eachManaged(ctx context.Context, fn func(kind, name string, labels map[string]string)) error {
	f := client.Filters{}.Add("label", LabelManaged+"=true")
	cs, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	for _, c := range cs.Items {
		fn("container", c.ID[:12], c.Labels)
	}
	ns, err := e.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("listing networks: %w", err)
	}
	for _, n := range ns.Items {
		fn("network", n.Name, n.Labels)
	}
	vs, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("listing volumes: %w", err)
	}
	for _, v := range vs.Items {
		fn("volume", v.Name, v.Labels)
	}
	is, err := e.cli.ImageList(ctx, client.ImageListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("listing images: %w", err)
	}
	for _, i := range is.Items {
		fn("image", i.ID, i.Labels)
	}
	return nil
}

// dead reports whether the run's process is known to be gone: it ran on
// this machine and its pid no longer exists.
func (e *Engine) dead(o owner) bool {
	host, p, ok := strings.Cut(string(o), "/")
	if !ok || host != e.self {
		return false
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return false
	}
	return processGone(pid)
}

// removeLabelled removes every container, network, volume and image
// matching the filters, in that order. prune also removes the images'
// untagged parents (the build cache); only safe when no build may use them.
func (e *Engine) removeLabelled(ctx context.Context, f client.Filters, prune bool) (Removed, error) {
	var r Removed
	var errs []error
	cs, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	errs = append(errs, err)
	if err == nil {
		for _, c := range cs.Items {
			if _, err := e.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("removing container %s: %w", c.ID[:12], err))
				continue
			}
			r.Containers++
		}
	}
	ns, err := e.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	errs = append(errs, err)
	if err == nil {
		for _, n := range ns.Items {
			if _, err := e.cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("removing network %s: %w", n.Name, err))
				continue
			}
			r.Networks++
		}
	}
	vs, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	errs = append(errs, err)
	if err == nil {
		for _, v := range vs.Items {
			if _, err := e.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("removing volume %s: %w", v.Name, err))
				continue
			}
			r.Volumes++
		}
	}
	is, err := e.cli.ImageList(ctx, client.ImageListOptions{All: true, Filters: f})
	errs = append(errs, err)
	if err == nil {
		for _, i := range is.Items {
			if _, err := e.cli.ImageRemove(ctx, i.ID, client.ImageRemoveOptions{Force: true, PruneChildren: prune}); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("removing image %s: %w", i.ID, err))
				continue
			}
			r.Images++
		}
	}
	return r, errors.Join(errs...)
}

// Leftovers lists the objects labelled grade.managed on the engine (with
// runs, only those of these runs: other grade processes may be grading on
// the same engine); tests use it to assert that nothing is left.
func (e *Engine) Leftovers(ctx context.Context, runs ...string) ([]string, error) {
	var out []string
	err := e.eachManaged(ctx, func(kind, name string, l map[string]string) {
		if len(runs) == 0 || slices.Contains(runs, l[LabelRun]) {
			out = append(out, kind+" "+name+" "+l[LabelJob])
		}
	})
	return out, err
}

// DanglingVolumes lists the volumes no container uses, labelled or not: an
// anonymous volume a job left behind carries no label for Leftovers to see.
func (e *Engine) DanglingVolumes(ctx context.Context) ([]string, error) {
	res, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.Add("dangling", "true")})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range res.Items {
		out = append(out, v.Name)
	}
	return out, nil
}
