// Command grade grades Docker course assignments: it builds each student's
// submission on a real Docker engine, runs a scenario's checks against it,
// scores them, cleans up and prints the scores.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
