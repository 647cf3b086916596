// Package engine is grade's Docker side: it builds submissions, starts and
// probes containers, reads images, and removes everything it created.
//
// It talks to the engine through the Docker API only (github.com/moby/moby
// client, and testcontainers-go for the application container), never through
// paths on grade's own filesystem: the engine may be remote (GitLab's
// docker:dind). Every object it creates carries the labels grade.managed=true,
// grade.run=<run id> and grade.job=<student>/<scenario>, so that a job's
// clean-up, the end of a run and `grade clean` find it.
//
// A Job implements the capability interfaces of package checks.
package engine
