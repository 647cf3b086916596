package checks

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// TextExpect is what a piece of text (a body, stdout, a file) must satisfy.
// Empty fields are not checked.
type TextExpect struct {
	Contains string
	Matches  string
	Equals   *string
	// EqualsName names where Equals comes from ("the submission's
	// index.html"), shown instead of the text itself.
	EqualsName string
}

// set reports whether the expectation checks anything.
func (e TextExpect) set() bool { return e.Contains != "" || e.Matches != "" || e.Equals != nil }

// validate compiles the pattern; field is the YAML key prefix ("body").
func (e TextExpect) validate(prefix string) error {
	if e.Matches == "" {
		return nil
	}
	if _, err := regexp.Compile(e.Matches); err != nil {
		return fieldErr(prefix+"_matches", "not a valid regular expression: %v", err)
	}
	return nil
}

// describe says what is expected, e.g. `body containing "Hello"`.
func (e TextExpect) describe(what string) string {
	var parts []string
	if e.Equals != nil {
		parts = append(parts, fmt.Sprintf("%s equal to %s", what, quote(*e.Equals, 80)))
	}
	if e.Contains != "" {
		parts = append(parts, fmt.Sprintf("%s containing %q", what, e.Contains))
	}
	if e.Matches != "" {
		parts = append(parts, fmt.Sprintf("%s matching /%s/", what, e.Matches))
	}
	return strings.Join(parts, ", ")
}

// check returns "" when s satisfies e, else what is wrong.
func (e TextExpect) check(what, s string) string {
	if e.Equals != nil && strings.TrimRight(s, "\r\n") != strings.TrimRight(*e.Equals, "\r\n") {
		if e.EqualsName != "" {
			return fmt.Sprintf("%s is not %s", what, e.EqualsName)
		}
		return fmt.Sprintf("%s is not %s", what, quote(*e.Equals, 80))
	}
	if e.Contains != "" && !strings.Contains(s, e.Contains) {
		return fmt.Sprintf("%s does not contain %q", what, e.Contains)
	}
	if e.Matches != "" {
		re, err := regexp.Compile(e.Matches)
		if err != nil || !re.MatchString(s) {
			return fmt.Sprintf("%s does not match /%s/", what, e.Matches)
		}
	}
	return ""
}

// expand replaces ${name} with vars[name] in every field.
func (e TextExpect) expand(vars map[string]string) TextExpect {
	f := func(s string) string { return os.Expand(s, func(k string) string { return vars[k] }) }
	out := TextExpect{Contains: f(e.Contains), Matches: e.Matches}
	if e.Equals != nil {
		v := f(*e.Equals)
		out.Equals = &v
	}
	return out
}

// unknownVars returns the ${names} in s that are not in known.
func unknownVars(s string, known ...string) []string {
	var bad []string
	os.Expand(s, func(k string) string {
		for _, n := range known {
			if k == n {
				return ""
			}
		}
		bad = append(bad, k)
		return ""
	})
	return bad
}

// OutputExpect is what a process must print and how it must exit; shared by
// the exec and run kinds.
type OutputExpect struct {
	ExitCode       *int    `yaml:"exit_code"`
	StdoutContains string  `yaml:"stdout_contains"`
	StdoutMatches  string  `yaml:"stdout_matches"`
	StdoutEquals   *string `yaml:"stdout_equals"`
	StderrContains string  `yaml:"stderr_contains"`
	StderrMatches  string  `yaml:"stderr_matches"`
	// OutputContains looks in stdout and stderr together.
	OutputContains string `yaml:"output_contains"`
}

func (o OutputExpect) stdout() TextExpect {
	return TextExpect{Contains: o.StdoutContains, Matches: o.StdoutMatches, Equals: o.StdoutEquals}
}

func (o OutputExpect) stderr() TextExpect {
	return TextExpect{Contains: o.StderrContains, Matches: o.StderrMatches}
}

func (o OutputExpect) exitCode() int {
	if o.ExitCode == nil {
		return 0
	}
	return *o.ExitCode
}

func (o OutputExpect) validate() error {
	if err := o.stdout().validate("expect.stdout"); err != nil {
		return err
	}
	return o.stderr().validate("expect.stderr")
}

func (o OutputExpect) describe() string {
	parts := []string{fmt.Sprintf("exit code %d", o.exitCode())}
	if d := o.stdout().describe("stdout"); d != "" {
		parts = append(parts, d)
	}
	if d := o.stderr().describe("stderr"); d != "" {
		parts = append(parts, d)
	}
	if o.OutputContains != "" {
		parts = append(parts, fmt.Sprintf("output containing %q", o.OutputContains))
	}
	return strings.Join(parts, ", ")
}

// check returns "" when out satisfies o, else the first thing wrong.
func (o OutputExpect) check(out Output) string {
	if out.ExitCode != o.exitCode() {
		return fmt.Sprintf("exit code is %d, not %d", out.ExitCode, o.exitCode())
	}
	if msg := o.stdout().check("stdout", out.Stdout); msg != "" {
		return msg
	}
	if msg := o.stderr().check("stderr", out.Stderr); msg != "" {
		return msg
	}
	if o.OutputContains != "" && !strings.Contains(out.Stdout+out.Stderr, o.OutputContains) {
		return fmt.Sprintf("the output does not contain %q", o.OutputContains)
	}
	return ""
}

// showOutput describes what a process did, for Actual.
func showOutput(out Output) string {
	var b strings.Builder
	fmt.Fprintf(&b, "exit code %d", out.ExitCode)
	if out.OOMKilled {
		b.WriteString(" (" + OOMMessage(out.MemoryLimit) + ")")
	}
	fmt.Fprintf(&b, ", stdout %s", quote(out.Stdout, 200))
	if strings.TrimSpace(out.Stderr) != "" {
		// Its end: an error's cause is on the last line of a traceback.
		fmt.Fprintf(&b, ", stderr %s", quoteEnd(out.Stderr, 300))
	}
	return b.String()
}
