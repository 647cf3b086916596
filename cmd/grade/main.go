// Command grade grades Docker course assignments: it builds each student's
// submission on a real Docker engine, runs a scenario's checks against it,
// scores them, cleans up and prints the scores.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gradeproject/grade/grader/helper"
)

func main() {
	// In a helper container on the engine, grade's own executable is the
	// helper (package helper): that mode never returns.
	helper.RunIfHelper()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopNotice := context.AfterFunc(ctx, func() {
		fmt.Fprintln(os.Stderr, "grade: interrupted; removing what this run started (Ctrl-C again to quit at once)")
		stop() // a second signal ends the process the default way
	})
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopNotice()
	stop()
	os.Exit(code)
}
