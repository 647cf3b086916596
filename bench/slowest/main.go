// Command slowest runs go test with the arguments it is given, prints what
// go test prints without -v (the failed tests' output in full), then the ten slowest tests (top-level and
// subtests), and exits with go test's status. make test runs through it.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"
)

// event is one line of go test -json.
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// timing is one test's time.
type timing struct {
	name    string
	elapsed float64
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	goCmd := os.Getenv("GO") // make's $(GO)
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.Command(goCmd, append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "slowest:", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "slowest:", err)
		return 2
	}
	times := read(bufio.NewReader(out), os.Stdout)
	err = cmd.Wait()
	print10(times)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "slowest:", err)
	return 2
}

// read copies to w what go test without -v prints (the packages' lines,
// and the output of the tests that failed) and gathers the time of every
// test that ended.
func read(r *bufio.Reader, w *os.File) []timing {
	var times []timing
	held := map[string][]string{} // a running test's output, until it ends
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var e event
			switch {
			case json.Unmarshal(line, &e) != nil:
				_, _ = w.Write(line) // not an event: the build's own output
			case e.Test == "":
				_, _ = w.WriteString(e.Output)
			default:
				key := e.Package + " " + e.Test
				switch e.Action {
				case "output":
					held[key] = append(held[key], e.Output)
				case "pass", "fail", "skip":
					if e.Action == "fail" {
						for _, o := range held[key] {
							_, _ = w.WriteString(o)
						}
					}
					delete(held, key)
					if e.Action != "skip" {
						times = append(times, timing{name: key, elapsed: e.Elapsed})
					}
				}
			}
		}
		if err != nil {
			return times
		}
	}
}

// print10 prints the ten slowest tests.
func print10(times []timing) {
	if len(times) == 0 {
		return
	}
	sort.SliceStable(times, func(i, j int) bool { return times[i].elapsed > times[j].elapsed })
	fmt.Println("the ten slowest tests:")
	for _, t := range times[:min(10, len(times))] {
		fmt.Printf("  %8s  %s\n", time.Duration(t.elapsed*float64(time.Second)).Round(100*time.Millisecond), t.name)
	}
}
