package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Status is the verdict of one check.
type Status string

// The verdicts a check can get.
const (
	// StatusPass means the submission did what the check expects.
	StatusPass Status = "pass"
	// StatusFail means the submission did not; the feedback says why.
	StatusFail Status = "fail"
	// StatusSkipped means the check could not run because something it needs
	// failed first (the image did not build, a required file is missing).
	StatusSkipped Status = "skipped"
	// StatusError means grade itself could not run the check (the engine
	// failed, the grader timed out). It is not the student's fault and is
	// reported apart from failures.
	StatusError Status = "error"
)

// Requirement says what must exist before a check can run.
type Requirement int

const (
	// NeedsNothing checks run whatever happened before (the build check).
	NeedsNothing Requirement = iota
	// NeedsImage checks need the submission's image to have been built.
	NeedsImage
	// NeedsContainer checks need the submission's container running.
	NeedsContainer
)

// Check is one configured check: a kind's spec, decoded from a scenario.
type Check interface {
	// Requires says what the check needs; the grader skips it when that failed.
	Requires() Requirement
	// Run grades the target. It never panics on bad input and always returns
	// an outcome; ctx carries the check's time limit.
	Run(ctx context.Context, t Target) Outcome
}

// Validator is implemented by checks that validate their own fields beyond
// what the scenario schema says. It runs when a scenario is loaded.
type Validator interface {
	Validate() error
}

// The stacks a scenario can have (StackUser).
const (
	// StackImage is one image built from the submission's Dockerfile.
	StackImage = "image"
	// StackCompose is a compose stack from the submission's compose file.
	StackCompose = "compose"
	// StackCommands is what the student's docker commands make: a script
	// run against grade's API guard (course parts 3, 5, 6).
	StackCommands = "commands"
)

// StackChecker is implemented by checks whose keys depend on the stack
// (e.g. a container addressed as service in a compose stack and as
// container in a commands one): CheckStack returns a *FieldError when the
// check's spec does not fit a scenario whose stack is stack.
type StackChecker interface {
	CheckStack(stack string) error
}

// StackUser is implemented by checks that grade one kind of stack only; the
// scenario loader refuses them in a scenario with the other kind.
type StackUser interface {
	Stack() string
}

// Outcome is what one run of a check found.
type Outcome struct {
	Status Status
	// Score is the fraction of the check's points earned, in [0, 1]. It is
	// 1 for a pass and 0 otherwise unless the kind gives partial credit.
	Score float64
	// Expected and Actual say what the check wanted and what it saw.
	Expected string
	Actual   string
	// Message is the cause in a sentence, where Expected/Actual are not enough.
	Message string
	// Detail is longer supporting text: a log excerpt, a build log.
	Detail string
	// Hint, when set, is about this outcome's own cause and replaces the
	// scenario's hint for the check (a build stopped at its time limit is
	// not helped by a hint about the Dockerfile's lines).
	Hint Text
}

// Pass returns a passing outcome.
func Pass(expected, actual string) Outcome {
	return Outcome{Status: StatusPass, Score: 1, Expected: expected, Actual: actual}
}

// Fail returns a failing outcome with its cause.
func Fail(expected, actual, message string) Outcome {
	return Outcome{Status: StatusFail, Expected: expected, Actual: actual, Message: message}
}

// Errored returns the outcome of a check that grade could not run.
func Errored(expected string, err error) Outcome {
	return Outcome{Status: StatusError, Expected: expected, Message: err.Error()}
}

// FieldError is a problem with one field of a check's spec. Field is the YAML
// path below the check, e.g. "expect.body_matches".
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// fieldErr builds a *FieldError.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// LimitError is returned by a capability when the submission's container
// ran into a sandbox limit (e.g. no process could be started in it because
// it holds its limit of processes): the submission's result, not grade's.
type LimitError struct{ Err error }

func (e *LimitError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *LimitError) Unwrap() error { return e.Err }

// RefusedError is returned by a capability when the submission holds a file
// grade does not take (a hard link, which may be another name of a file
// outside the submission): the submission's result, not grade's.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *RefusedError) Unwrap() error { return e.Err }

// StartError is returned by a capability when the container under test could
// not be started. It is the submission's fault (a missing executable, a bad
// entrypoint), so checks report it as a failure, not an error.
type StartError struct {
	Service string
	Err     error
}

func (e *StartError) Error() string {
	return "the container did not start: " + e.Err.Error()
}

func (e *StartError) Unwrap() error { return e.Err }

// capErr is the outcome of a check whose target lacks a capability: a bug in
// the scenario/engine wiring, never the student's fault.
func capErr(expected, capability string) Outcome {
	return Errored(expected, fmt.Errorf("this target cannot %s", capability))
}

// engineOutcome turns an error from a capability into an outcome: a start
// failure is the submission's, anything else is grade's.
func engineOutcome(expected string, err error) Outcome {
	var se *StartError
	if errors.As(err, &se) {
		return Fail(expected, se.Error(), "")
	}
	var le *LimitError
	if errors.As(err, &le) {
		return Fail(expected, le.Error(), "")
	}
	var re *RefusedError
	if errors.As(err, &re) {
		return Fail(expected, re.Error(), "")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Fail(expected, "no result within the check's time limit", "")
	}
	return Errored(expected, err)
}

// quote shows s for a message: quoted, one line, at most n runes.
func quote(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	r := []rune(s)
	if len(r) > n {
		return fmt.Sprintf("%q… (%d more characters)", string(r[:n]), len(r)-n)
	}
	return fmt.Sprintf("%q", s)
}

// quoteEnd shows the end of s for a message: quoted, at most n runes.
func quoteEnd(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	r := []rune(s)
	if len(r) > n {
		return fmt.Sprintf("(%d characters before) …%q", len(r)-n, string(r[len(r)-n:]))
	}
	return fmt.Sprintf("%q", s)
}
