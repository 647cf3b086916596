package main

import (
	"errors"
	"fmt"
)

// Exit codes (docs/reports.md, "Exit codes").
const (
	exitOK          = 0  // every graded check passed
	exitFailed      = 1  // graded, and something failed
	exitUsage       = 2  // the command line is wrong
	exitEnvironment = 3  // no engine, or grade itself failed
	exitScenario    = 78 // a scenario file is invalid (EX_CONFIG)
	exitInterrupted = 130
)

// exitError carries an exit code and a message for the user.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func envErr(err error) error { return &exitError{code: exitEnvironment, err: err} }

// codeOf maps an error to the exit code; the one place that decides it.
func codeOf(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitEnvironment
}
