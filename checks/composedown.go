package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// ComposeDown grades `docker compose down` (course 7.4): grade takes the
// stack down, keeping volumes, and requires that no container of the
// project is left and that the named volumes listed survive it (their data
// is what a stack keeps between down and up). It then brings the stack up
// again, so that later checks find it running.
type ComposeDown struct {
	Expect ComposeDownExpect `yaml:"expect"`
}

// ComposeDownExpect says what down must leave.
type ComposeDownExpect struct {
	// Keeps lists named volumes of the compose file that must still exist
	// after down.
	Keeps []string `yaml:"keeps" jsonschema:"uniqueItems=true"`
}

// Requires reports that compose-down needs the stack up.
func (*ComposeDown) Requires() Requirement { return NeedsImage }

// Run takes the stack down, looks at what is left, and brings it up again.
func (c *ComposeDown) Run(ctx context.Context, t Target) Outcome {
	expected := "`docker compose down` removes every container of the stack"
	if len(c.Expect.Keeps) > 0 {
		expected += " and keeps the named volume(s) " + strings.Join(c.Expect.Keeps, ", ")
	}
	sc, ok := t.(StackCycler)
	if !ok {
		return capErr(expected, "take a compose stack down")
	}
	info, err := sc.Down(ctx)
	if err != nil {
		return engineOutcome(expected, err)
	}
	actual := fmt.Sprintf("down took %s; containers left: %s; volumes left: %s", info.Duration.Round(100_000_000),
		listOrNone(info.Containers), listOrNone(info.Volumes))
	var bad []string
	if len(info.Containers) > 0 {
		bad = append(bad, "the containers of "+strings.Join(info.Containers, ", ")+" are still there after down")
	}
	for _, v := range c.Expect.Keeps {
		if !slices.Contains(info.Volumes, v) {
			bad = append(bad, fmt.Sprintf("no volume named %s is left after down, so what the stack stored is gone: "+
				"declare it under the top-level volumes: key and mount it by that name (%s:/path)", v, v))
		}
	}
	up, err := sc.UpAgain(ctx)
	if err != nil {
		return engineOutcome(expected, err)
	}
	if !up.OK {
		bad = append(bad, "the stack did not come up again after down: "+up.Error)
	}
	if len(bad) > 0 {
		return Fail(expected, actual, strings.Join(bad, "; "))
	}
	return Pass(expected, actual)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// Stack reports that compose-down grades a compose stack.
func (*ComposeDown) Stack() string { return StackCompose }
