package checks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Vulnerabilities grades the built image's known vulnerabilities (course
// 8.2, scanning) with trivy: the check fails on a finding of severity
// max_severity or above (default HIGH: HIGH and CRITICAL fail).
//
// grade never downloads anything while grading, so trivy runs offline: it
// must be on PATH on the grading machine with its vulnerability database
// already in its cache (TRIVY_CACHE_DIR, else ~/.cache/trivy; fetch it
// beforehand with `trivy image --download-db-only`). Without trivy, without
// the database, or when trivy cannot scan offline, the check is skipped
// with that reason, never passed: an image nobody scanned is not an image
// without vulnerabilities. So is an image in which trivy found neither an
// operating system nor any package (RUN rm -rf /var/lib/dpkg leaves
// nothing to look up, not nothing vulnerable).
//
// trivy runs on the grading machine (the host), not in a container, over
// a docker save archive of the image (ImageSaver) written to a temporary
// file, so a remote engine works too. It gets a temporary cache folder of
// its own that links to the database in the shared cache: the per-layer
// scan results trivy keeps in its cache go there and are removed with it,
// instead of piling up in the shared cache image after image.
type Vulnerabilities struct {
	// MaxSeverity is the lowest severity that fails the check.
	MaxSeverity string `yaml:"max_severity" jsonschema:"enum=CRITICAL,enum=HIGH,enum=MEDIUM,enum=LOW,enum=UNKNOWN"`
	// IgnoreUnfixed leaves out vulnerabilities with no fixed version yet.
	IgnoreUnfixed bool `yaml:"ignore_unfixed"`

	tool *trivyTool // nil: the trivy on PATH
}

// severities in rising order, as trivy names them.
var severities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

const (
	// maxSavedImage bounds the archive written for trivy.
	maxSavedImage = 4 << 30
	// maxTrivyReport bounds trivy's JSON report read.
	maxTrivyReport = 32 << 20
	// vulnsListed is how many findings the outcome lists.
	vulnsListed = 10
)

// trivyTool is how the check finds and runs trivy; tests replace it.
type trivyTool struct {
	lookPath func(file string) (string, error)
	// cacheDir is trivy's cache directory, where its database is.
	cacheDir func() string
	run      func(ctx context.Context, bin string, args, env []string, stdout, stderr io.Writer) error
}

// systemTrivy is the trivy on PATH.
var systemTrivy = &trivyTool{lookPath: exec.LookPath, cacheDir: trivyCacheDir, run: runCommand}

// trivyCacheDir is where trivy keeps its database by default.
func trivyCacheDir() string {
	if d := os.Getenv("TRIVY_CACHE_DIR"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "trivy")
}

// runCommand runs bin to completion, killed when ctx ends.
func runCommand(ctx context.Context, bin string, args, env []string, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 5 * time.Second
	return cmd.Run()
}

// Requires reports that vulnerabilities needs the built image.
func (*Vulnerabilities) Requires() Requirement { return NeedsImage }

// Validate checks the severity.
func (c *Vulnerabilities) Validate() error {
	if c.MaxSeverity != "" && !slices.Contains(severities, c.MaxSeverity) {
		return fieldErr("max_severity", "%q is not a severity; give one of %s", c.MaxSeverity, strings.Join(severities, ", "))
	}
	return nil
}

// failing lists the severities that fail the check, highest first.
func (c *Vulnerabilities) failing() []string {
	from := slices.Index(severities, c.MaxSeverity)
	if from < 0 {
		from = slices.Index(severities, "HIGH")
	}
	out := slices.Clone(severities[from:])
	slices.Reverse(out)
	return out
}

// scanSkipped is the outcome of a scan that could not be made.
func scanSkipped(expected, reason string) Outcome {
	return Outcome{Status: StatusSkipped, Expected: expected, Message: reason}
}

// Run saves the image, scans it with trivy offline and reads its report.
func (c *Vulnerabilities) Run(ctx context.Context, t Target) Outcome {
	failing := c.failing()
	level := failing[len(failing)-1]
	if len(failing) > 1 {
		level += " or above"
	}
	expected := fmt.Sprintf("no known vulnerability of severity %s in the image's packages (trivy, offline)", level)
	if c.IgnoreUnfixed {
		expected += ", counting only those with a fixed version"
	}
	saver, ok := t.(ImageSaver)
	if !ok {
		return capErr(expected, "save images")
	}
	tool := c.tool
	if tool == nil {
		tool = systemTrivy
	}
	bin, err := tool.lookPath("trivy")
	if err != nil {
		return scanSkipped(expected, "trivy is not installed on the grading machine (not on PATH), so the image was not scanned; "+
			"install trivy and its database (trivy image --download-db-only) to grade this check")
	}
	cache := tool.cacheDir()
	db := filepath.Join(cache, "db", "trivy.db")
	if _, err := os.Stat(db); err != nil {
		return scanSkipped(expected, fmt.Sprintf("trivy has no vulnerability database at %s, so the image was not scanned "+
			"(grade scans offline and never downloads it); run `trivy image --download-db-only` on the grading machine first", db))
	}
	tmp, err := os.MkdirTemp("", "grade-trivy-*")
	if err != nil {
		return Errored(expected, fmt.Errorf("preparing trivy's cache: %w", err))
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	runCache, err := linkCache(cache, filepath.Join(tmp, "cache"))
	if err != nil {
		return Errored(expected, fmt.Errorf("preparing trivy's cache: %w", err))
	}
	archive, err := os.Create(filepath.Join(tmp, "image.tar"))
	if err != nil {
		return Errored(expected, fmt.Errorf("saving the image for trivy: %w", err))
	}
	lw := &limitedWriter{w: archive, n: maxSavedImage}
	err = saver.SaveImage(ctx, lw)
	if cerr := archive.Close(); err == nil {
		err = cerr
	}
	switch {
	case lw.over:
		return scanSkipped(expected, fmt.Sprintf("the image is larger than the %s grade saves for trivy; it was not scanned", Size(maxSavedImage)))
	case err != nil:
		return engineOutcome(expected, err)
	}
	args := []string{"image", "--input", archive.Name(), "--offline-scan", "--skip-db-update", "--cache-dir", runCache,
		"--format", "json", "--severity", strings.Join(failing, ","), "--exit-code", "0", "--quiet"}
	if c.IgnoreUnfixed {
		args = append(args, "--ignore-unfixed")
	}
	// Settings some trivy versions lack go in the environment, which
	// trivy reads for every flag and ignores when it knows no such flag.
	env := append(os.Environ(), "TRIVY_SCANNERS=vuln", "TRIVY_SECURITY_CHECKS=vuln", "TRIVY_SKIP_JAVA_DB_UPDATE=true",
		"TRIVY_SKIP_CHECK_UPDATE=true", "TRIVY_SKIP_VERSION_CHECK=true", "TRIVY_DISABLE_TELEMETRY=true", "TRIVY_NO_PROGRESS=true")
	stdout, stderr := &limitedWriter{w: &bytes.Buffer{}, n: maxTrivyReport}, &limitedWriter{w: &bytes.Buffer{}, n: 64 << 10, drop: true}
	err = tool.run(ctx, bin, args, env, stdout, stderr)
	switch {
	case ctx.Err() != nil:
		return scanSkipped(expected, "trivy did not finish within the check's time limit; give the check a longer timeout")
	case stdout.over:
		return scanSkipped(expected, fmt.Sprintf("trivy's report is larger than the %s grade reads", Size(maxTrivyReport)))
	case err != nil:
		return scanSkipped(expected, "trivy could not scan the image offline: "+lastLines(stderr.String(), 3, err))
	}
	report, err := parseTrivy([]byte(stdout.String()))
	if err != nil {
		return scanSkipped(expected, "trivy's report could not be read: "+err.Error())
	}
	if report.os == "" && report.targets == 0 {
		return scanSkipped(expected, "trivy found neither an operating system nor any package in the image, so nothing was "+
			"looked up: the image was not scanned (a Dockerfile that deletes the package database, such as /var/lib/dpkg, "+
			"hides the packages from scanners, not their vulnerabilities)")
	}
	vulns := slices.DeleteFunc(report.vulns, func(v vuln) bool {
		return !slices.Contains(failing, v.Severity) || (c.IgnoreUnfixed && v.FixedVersion == "")
	})
	scanned := "trivy found none"
	if d := dbDate(cache); d != "" {
		scanned += " (its database is of " + d + ")"
	}
	if len(vulns) == 0 {
		return Pass(expected, scanned)
	}
	lines := make([]string, len(vulns))
	for i, v := range vulns {
		lines[i] = v.String()
	}
	listed := lines[:min(len(lines), vulnsListed)]
	if len(lines) > vulnsListed {
		listed = append(slices.Clip(listed), fmt.Sprintf("and %d more", len(lines)-vulnsListed))
	}
	n := "1 vulnerability"
	if len(vulns) > 1 {
		n = fmt.Sprintf("%d vulnerabilities", len(vulns))
	}
	o := Fail(expected, fmt.Sprintf("%s of severity %s: %s", n, level, strings.Join(listed, "; ")),
		"the image's packages have known vulnerabilities: build from a current, smaller base image (a newer tag, -slim or alpine) "+
			"and upgrade the listed packages to their fixed versions (8.2)")
	if len(lines) > vulnsListed {
		o.Detail = "every vulnerability found:\n" + strings.Join(lines[:min(len(lines), 200)], "\n")
	}
	return o
}

// vuln is one finding of trivy's report.
type vuln struct {
	VulnerabilityID  string
	PkgName          string
	InstalledVersion string
	FixedVersion     string
	Severity         string
}

func (v vuln) String() string {
	s := fmt.Sprintf("%s in %s %s (%s", v.VulnerabilityID, v.PkgName, v.InstalledVersion, v.Severity)
	if v.FixedVersion != "" {
		return s + ", fixed in " + v.FixedVersion + ")"
	}
	return s + ", no fix yet)"
}

// trivyResult is one target of trivy's JSON report (an OS's packages, a
// lock file, a binary).
type trivyResult struct {
	Target          string
	Vulnerabilities []vuln
}

// trivyOutput is what the check reads of trivy's report.
type trivyOutput struct {
	// os is the operating system trivy detected ("debian 12.5"), "" when
	// none (or the report is too old to say).
	os string
	// targets counts the results: what trivy found packages in (an OS's
	// package database, a lock file, a binary).
	targets int
	// vulns come highest severity first, each package's vulnerability once.
	vulns []vuln
}

// parseTrivy reads trivy's JSON report: {"SchemaVersion": 2, "Metadata":
// {"OS": …}, "Results": […]} (a bare list of results before trivy 0.20).
func parseTrivy(data []byte) (trivyOutput, error) {
	var results []trivyResult
	var out trivyOutput
	data = bytes.TrimSpace(data)
	if bytes.HasPrefix(data, []byte("[")) {
		if err := json.Unmarshal(data, &results); err != nil {
			return trivyOutput{}, err
		}
	} else {
		var report struct {
			SchemaVersion int
			Metadata      struct {
				OS *struct{ Family, Name string }
			}
			Results []trivyResult
		}
		if err := json.Unmarshal(data, &report); err != nil {
			return trivyOutput{}, err
		}
		if report.SchemaVersion == 0 {
			return trivyOutput{}, errors.New("no SchemaVersion: not a trivy JSON report")
		}
		results = report.Results
		if o := report.Metadata.OS; o != nil && o.Family != "" {
			out.os = strings.TrimSpace(o.Family + " " + o.Name)
		}
	}
	out.targets = len(results)
	seen := map[string]bool{}
	for _, r := range results {
		for _, v := range r.Vulnerabilities {
			key := v.VulnerabilityID + "\x00" + v.PkgName + "\x00" + v.InstalledVersion
			if v.VulnerabilityID == "" || seen[key] {
				continue
			}
			seen[key] = true
			if !slices.Contains(severities, v.Severity) {
				v.Severity = "UNKNOWN"
			}
			out.vulns = append(out.vulns, v)
		}
	}
	slices.SortStableFunc(out.vulns, func(a, b vuln) int {
		if d := slices.Index(severities, b.Severity) - slices.Index(severities, a.Severity); d != 0 {
			return d
		}
		if a.PkgName != b.PkgName {
			return strings.Compare(a.PkgName, b.PkgName)
		}
		return strings.Compare(a.VulnerabilityID, b.VulnerabilityID)
	})
	return out, nil
}

// linkCache makes dir a cache folder for one trivy run: every entry of the
// shared cache (the vulnerability database in db/, the Java index …) is
// linked into it, except fanal/, trivy's scan cache, which trivy then
// creates in dir. It returns dir.
func linkCache(shared, dir string) (string, error) {
	shared, err := filepath.Abs(shared)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(shared)
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.Name() == "fanal" {
			continue
		}
		if err := os.Symlink(filepath.Join(shared, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// dbDate reads when trivy's database was built, "" when unknown.
func dbDate(cache string) string {
	b, err := os.ReadFile(filepath.Join(cache, "db", "metadata.json"))
	if err != nil {
		return ""
	}
	var meta struct{ UpdatedAt time.Time }
	if json.Unmarshal(b, &meta) != nil || meta.UpdatedAt.IsZero() {
		return ""
	}
	return meta.UpdatedAt.Format("2006-01-02")
}

// lastLines returns the last n non-empty lines of s, or err's text.
func lastLines(s string, n int, err error) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return err.Error()
	}
	return strings.Join(lines[max(0, len(lines)-n):], " / ")
}

// errWriteLimit stops a writer past its limit.
var errWriteLimit = errors.New("over the size limit")

// limitedWriter passes on the first n bytes, then notes that there were
// more and fails (or, with drop, drops the rest).
type limitedWriter struct {
	w    io.Writer
	n    int64
	drop bool
	over bool
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		l.over = true
		if l.drop {
			return len(p), nil
		}
		return 0, errWriteLimit
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

func (l *limitedWriter) String() string {
	if b, ok := l.w.(*bytes.Buffer); ok {
		return b.String()
	}
	return ""
}

// Stack reports that vulnerabilities grades the image built from the Dockerfile.
func (*Vulnerabilities) Stack() string { return StackImage }
