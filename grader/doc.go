// Package grader runs a grading: it discovers submissions, and for each
// student × scenario job builds the submission, starts it, runs the
// scenario's checks in order, scores them and cleans up, then hands the
// results to the renderers in grader/report.
//
// It depends on the engine through the small Engine and Job interfaces
// below, so that the orchestration is unit-tested with fakes.
package grader
