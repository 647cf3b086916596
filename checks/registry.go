package checks

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/docker/go-units"
)

// RegistryCheck grades what a script pushed to the job's registry (course
// 8.3): the image is there under the name the exercise asks for, its
// manifest can be read, and the engine pulls it back and runs it (docker
// pull, then docker run IMAGE ARGS…). The image is named as the student
// names it, e.g. localhost:5000/my-app:1.0; the registry is the one the
// job's script check pushed to.
type RegistryCheck struct {
	// Image is the pushed image as the student names it: registry
	// address, repository and tag.
	Image string `yaml:"image" jsonschema:"required"`
	// Args replace the image's CMD when the pulled image is run.
	Args   []string     `yaml:"args"`
	Expect OutputExpect `yaml:"expect"`
}

// Requires reports that the registry check needs the image the script pushes.
func (*RegistryCheck) Requires() Requirement { return NeedsImage }

// pushedRef is an image reference split into its parts.
type pushedRef struct{ registry, repo, tag string }

func (r pushedRef) String() string { return r.registry + "/" + r.repo + ":" + r.tag }

// parsePushed splits "localhost:5000/my-app:1.0"; the tag defaults to latest.
func parsePushed(s string) (pushedRef, error) {
	reg, rest, ok := strings.Cut(s, "/")
	if !ok || !registryAddrRe.MatchString(reg) || (!strings.ContainsAny(reg, ".:") && reg != "localhost") {
		return pushedRef{}, fmt.Errorf("%q does not start with a registry address (like localhost:5000/my-app:1.0)", s)
	}
	if strings.Contains(rest, "@") || !imageNameRe.MatchString(rest) {
		return pushedRef{}, fmt.Errorf("%q is not an image name with a registry in front (like localhost:5000/my-app:1.0)", s)
	}
	repo, tag := rest, "latest"
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		repo, tag = rest[:i], rest[i+1:]
	}
	return pushedRef{registry: reg, repo: repo, tag: tag}, nil
}

// Validate checks the image name and the output expectation.
func (c *RegistryCheck) Validate() error {
	if _, err := parsePushed(c.Image); err != nil {
		return fieldErr("image", "%v", err)
	}
	return c.Expect.validate()
}

func (c *RegistryCheck) command(ref pushedRef) string {
	return dockerRunLine(nil, ref.String(), c.Args)
}

// dockerRunLine shows a docker run line: docker run [--entrypoint E] IMAGE
// ARGS…, an argument with spaces or quotes (or empty) quoted. (Run.command
// builds the same line with IMAGE for the image.)
func dockerRunLine(entrypoint []string, image string, args []string) string {
	var b strings.Builder
	b.WriteString("docker run")
	if entrypoint != nil {
		fmt.Fprintf(&b, " --entrypoint %s", strings.Join(entrypoint, " "))
	}
	b.WriteString(" " + image)
	for _, a := range args {
		if strings.ContainsAny(a, " \t\"'") || a == "" {
			a = fmt.Sprintf("%q", a)
		}
		b.WriteString(" " + a)
	}
	return b.String()
}

// Run reads the registry, then pulls the image back and runs it.
func (c *RegistryCheck) Run(ctx context.Context, t Target) Outcome {
	ref, err := parsePushed(c.Image)
	if err != nil {
		return Errored(c.Image, err)
	}
	expected := fmt.Sprintf("%s holds %s:%s; pulled back, `%s` gives %s", ref.registry, ref.repo, ref.tag, c.command(ref), c.Expect.describe())
	rr, ok := t.(RegistryReader)
	if !ok {
		return capErr(expected, "read a registry")
	}
	tags, err := rr.RegistryTags(ctx)
	if err != nil {
		return registryErr(expected, err)
	}
	if !slices.Contains(tags[ref.repo], ref.tag) {
		return c.missing(expected, ref, tags)
	}
	m, err := rr.RegistryManifest(ctx, ref.repo, ref.tag)
	if err != nil {
		return registryErr(expected, err)
	}
	held := fmt.Sprintf("%s holds %s:%s (%s, %d layers, %s)", ref.registry, ref.repo, ref.tag, shortDigest(m.Digest), m.Layers,
		units.HumanSize(float64(m.Size)))
	out, err := rr.RunFromRegistry(ctx, ref.repo, ref.tag, RunSpec{Args: c.Args})
	if err != nil {
		o := registryErr(expected, err)
		if o.Status == StatusFail {
			o.Actual = held + "; " + o.Actual
		}
		return o
	}
	if out.TimedOut {
		return Fail(expected, held+"; pulled back and run, it was still running at the time limit; stdout so far "+quote(out.Stdout, 200),
			"the pushed image's container did not exit by itself")
	}
	actual := held + "; pulled back and run: " + showOutput(out)
	if msg := c.Expect.check(out); msg != "" {
		return Fail(expected, actual, "the image pulled from the registry ran, but its "+msg)
	}
	return Pass(expected, actual)
}

// missing says what the registry holds when it lacks the expected image.
func (c *RegistryCheck) missing(expected string, ref pushedRef, tags map[string][]string) Outcome {
	var held []string
	repos := make([]string, 0, len(tags))
	for r := range tags {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	for _, r := range repos {
		ts := append([]string(nil), tags[r]...)
		sort.Strings(ts)
		for _, t := range ts {
			held = append(held, r+":"+t)
		}
	}
	want := ref.repo + ":" + ref.tag
	if len(held) == 0 {
		return Fail(expected, "nothing was pushed to "+ref.registry,
			fmt.Sprintf("the registry %s is empty: tag the image %s (the registry's address in front of the name) and push that name",
				ref.registry, ref))
	}
	shown := strings.Join(held, ", ")
	if len(held) > 8 {
		shown = strings.Join(held[:8], ", ") + fmt.Sprintf(" and %d more", len(held)-8)
	}
	actual := fmt.Sprintf("%s holds %s, not %s", ref.registry, shown, want)
	msg := fmt.Sprintf("the registry has no %s: push the image as %s", want, ref)
	if ts, ok := tags[ref.repo]; ok {
		msg = fmt.Sprintf("%s was pushed with the tag %s, not %s: tag the image %s (the tag after the colon) and push that",
			ref.repo, strings.Join(ts, ", "), ref.tag, ref)
	}
	return Fail(expected, actual, msg)
}

// registryErr turns an error of the registry capability into an outcome.
func registryErr(expected string, err error) Outcome {
	return engineOutcome(expected, err)
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

// Stack reports that registry grades the image built from the Dockerfile.
func (*RegistryCheck) Stack() string { return StackImage }
