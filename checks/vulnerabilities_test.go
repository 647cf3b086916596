package checks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// trivyReport is a trimmed trivy 0.50 report of a Debian image with a
// node app (schema version 2).
const trivyReport = `{
  "SchemaVersion": 2,
  "CreatedAt": "2024-05-02T10:11:12.345678+00:00",
  "ArtifactName": "/tmp/grade-image-123.tar",
  "ArtifactType": "container_image",
  "Metadata": {"OS": {"Family": "debian", "Name": "12.5"}, "ImageID": "sha256:9f3e"},
  "Results": [
    {
      "Target": "/tmp/grade-image-123.tar (debian 12.5)",
      "Class": "os-pkgs",
      "Type": "debian",
      "Vulnerabilities": [
        {"VulnerabilityID": "CVE-2024-2961", "PkgID": "libc6@2.36-9+deb12u4", "PkgName": "libc6", "InstalledVersion": "2.36-9+deb12u4",
         "FixedVersion": "2.36-9+deb12u7", "Status": "fixed", "Layer": {"DiffID": "sha256:52ec"}, "SeveritySource": "nvd",
         "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-2961", "Title": "glibc: Out of bounds write in iconv may lead to remote code execution",
         "Severity": "HIGH", "CVSS": {"nvd": {"V3Score": 7.3}}},
        {"VulnerabilityID": "CVE-2023-45853", "PkgName": "zlib1g", "InstalledVersion": "1:1.2.13.dfsg-1", "Status": "will_not_fix",
         "Severity": "CRITICAL", "Title": "zlib: integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_6"},
        {"VulnerabilityID": "CVE-2024-2961", "PkgName": "libc6", "InstalledVersion": "2.36-9+deb12u4", "FixedVersion": "2.36-9+deb12u7", "Severity": "HIGH"},
        {"VulnerabilityID": "CVE-2024-28085", "PkgName": "util-linux", "InstalledVersion": "2.38.1-5+b1", "FixedVersion": "2.38.1-5+deb12u1", "Severity": "MEDIUM"},
        {"VulnerabilityID": "CVE-2011-3374", "PkgName": "apt", "InstalledVersion": "2.6.1", "Severity": "LOW"}
      ]
    },
    {
      "Target": "app/package-lock.json",
      "Class": "lang-pkgs",
      "Type": "npm",
      "Vulnerabilities": [
        {"VulnerabilityID": "CVE-2024-29041", "PkgName": "express", "InstalledVersion": "4.17.1", "FixedVersion": "4.19.2, 5.0.0-beta.3", "Severity": "MEDIUM"},
        {"VulnerabilityID": "GHSA-rv95-896h-c2vc", "PkgName": "express", "InstalledVersion": "4.17.1", "FixedVersion": "4.19.2", "Severity": "HIGH"}
      ]
    },
    {"Target": "usr/local/bin/node", "Class": "lang-pkgs", "Type": "gobinary"}
  ]
}`

func TestParseTrivy(t *testing.T) {
	report, err := parseTrivy([]byte(trivyReport))
	if err != nil {
		t.Fatal(err)
	}
	if report.os != "debian 12.5" || report.targets != 3 {
		t.Errorf("os %q, %d targets", report.os, report.targets)
	}
	var lines []string
	for _, v := range report.vulns {
		lines = append(lines, v.String())
	}
	want := []string{
		"CVE-2023-45853 in zlib1g 1:1.2.13.dfsg-1 (CRITICAL, no fix yet)",
		"GHSA-rv95-896h-c2vc in express 4.17.1 (HIGH, fixed in 4.19.2)",
		"CVE-2024-2961 in libc6 2.36-9+deb12u4 (HIGH, fixed in 2.36-9+deb12u7)",
		"CVE-2024-29041 in express 4.17.1 (MEDIUM, fixed in 4.19.2, 5.0.0-beta.3)",
		"CVE-2024-28085 in util-linux 2.38.1-5+b1 (MEDIUM, fixed in 2.38.1-5+deb12u1)",
		"CVE-2011-3374 in apt 2.6.1 (LOW, no fix yet)",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	old, err := parseTrivy([]byte(`[{"Target": "x (alpine 3.7.1)", "Vulnerabilities": [{"VulnerabilityID": "CVE-2018-16840", "PkgName": "curl",
		"InstalledVersion": "7.61.0-r0", "FixedVersion": "7.61.1-r1", "Severity": "HIGH"}]}]`))
	if err != nil || len(old.vulns) != 1 || old.vulns[0].PkgName != "curl" || old.targets != 1 {
		t.Errorf("the pre-0.20 report: %+v %v", old, err)
	}
	empty, err := parseTrivy([]byte(`{"SchemaVersion": 2, "ArtifactName": "x.tar", "ArtifactType": "container_image", "Metadata": {"ImageID": "sha256:1"}}`))
	if err != nil || empty.os != "" || empty.targets != 0 {
		t.Errorf("a report of nothing found: %+v %v", empty, err)
	}
	for _, bad := range []string{"", "not json", `{"Results": []}`, "2024-05-02T10:11:12Z INFO Vulnerability scanning is enabled"} {
		if _, err := parseTrivy([]byte(bad)); err == nil {
			t.Errorf("%q was read as a report", bad)
		}
	}
}

// saverFake is a target that saves its image.
type saverFake struct {
	fake
	saved   string
	saveErr error
}

func (f *saverFake) SaveImage(_ context.Context, w io.Writer) error {
	if f.saveErr != nil {
		return f.saveErr
	}
	_, err := io.WriteString(w, f.saved)
	return err
}

// fakeTrivy is a trivy with a database in a temporary cache that prints
// report, and records how it was run.
func fakeTrivy(t *testing.T, report string, runErr error) (*trivyTool, *[]string) {
	t.Helper()
	cache := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cache, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"trivy.db": "bolt", "metadata.json": `{"Version": 2, "UpdatedAt": "2024-05-01T06:09:40Z"}`} {
		if err := os.WriteFile(filepath.Join(cache, "db", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	return &trivyTool{
		lookPath: func(string) (string, error) { return "/opt/bin/trivy", nil },
		cacheDir: func() string { return cache },
		run: func(_ context.Context, bin string, args, _ []string, stdout, stderr io.Writer) error {
			got = append([]string{bin}, args...)
			i := slices.Index(args, "--input")
			b, err := os.ReadFile(args[i+1])
			if err != nil {
				return err
			}
			if string(b) != "image archive" {
				return fmt.Errorf("the archive given to trivy holds %q", b)
			}
			// trivy reads its database from --cache-dir and keeps its
			// scan cache there.
			dir := args[slices.Index(args, "--cache-dir")+1]
			if db, err := os.ReadFile(filepath.Join(dir, "db", "trivy.db")); err != nil || string(db) != "bolt" {
				return fmt.Errorf("no database in the cache dir %s (%q): %w", dir, db, err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "fanal"), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "fanal", "fanal.db"), []byte("scan cache"), 0o644); err != nil {
				return err
			}
			if runErr != nil {
				_, _ = io.WriteString(stderr, "2024-05-02T10:11:12Z\tINFO\tstarting\n2024-05-02T10:11:12Z\tFATAL\t"+runErr.Error()+"\n")
				return runErr
			}
			_, err = io.WriteString(stdout, report)
			return err
		},
	}, &got
}

func TestVulnerabilities(t *testing.T) {
	target := &saverFake{saved: "image archive"}
	t.Run("findings at or above HIGH fail", func(t *testing.T) {
		tool, args := fakeTrivy(t, trivyReport, nil)
		c := &Vulnerabilities{tool: tool}
		want(t, c.Run(context.Background(), target), StatusFail, "severity HIGH or above",
			"3 vulnerabilities of severity HIGH or above: CVE-2023-45853 in zlib1g 1:1.2.13.dfsg-1 (CRITICAL, no fix yet); GHSA-rv95-896h-c2vc",
			"CVE-2024-2961 in libc6", "smaller base image")
		joined := strings.Join(*args, " ")
		for _, a := range []string{"/opt/bin/trivy image --input ", "--offline-scan", "--skip-db-update", "--format json", "--severity CRITICAL,HIGH", "--cache-dir "} {
			if !strings.Contains(joined, a) {
				t.Errorf("trivy was run without %q: %s", a, joined)
			}
		}
		for _, flag := range []string{"--input", "--cache-dir"} {
			if i := slices.Index(*args, flag); i < 0 {
				t.Errorf("no %s", flag)
			} else if _, err := os.Lstat((*args)[i+1]); !os.IsNotExist(err) {
				t.Errorf("the %s %s was left behind", flag, (*args)[i+1])
			}
		}
		shared := tool.cacheDir()
		if (*args)[slices.Index(*args, "--cache-dir")+1] == shared {
			t.Error("trivy's scan cache is the shared cache")
		}
		if _, err := os.Stat(filepath.Join(shared, "fanal")); !os.IsNotExist(err) {
			t.Errorf("trivy's scan cache is in the shared cache: %v", err)
		}
		if _, err := os.Stat(filepath.Join(shared, "db", "trivy.db")); err != nil {
			t.Errorf("the shared database is gone: %v", err)
		}
	})
	t.Run("CRITICAL only, fixed only", func(t *testing.T) {
		tool, args := fakeTrivy(t, trivyReport, nil)
		c := &Vulnerabilities{MaxSeverity: "CRITICAL", IgnoreUnfixed: true, tool: tool}
		want(t, c.Run(context.Background(), target), StatusPass, "severity CRITICAL in", "with a fixed version", "trivy found none (its database is of 2024-05-01)")
		if !slices.Contains(*args, "--ignore-unfixed") || !slices.Contains(*args, "CRITICAL") {
			t.Errorf("args %v", *args)
		}
	})
	t.Run("MEDIUM lists more", func(t *testing.T) {
		tool, _ := fakeTrivy(t, trivyReport, nil)
		want(t, (&Vulnerabilities{MaxSeverity: "MEDIUM", tool: tool}).Run(context.Background(), target), StatusFail, "5 vulnerabilities of severity MEDIUM or above")
	})
	t.Run("many are capped", func(t *testing.T) {
		var vs []string
		for i := range 25 {
			vs = append(vs, fmt.Sprintf(`{"VulnerabilityID": "CVE-2024-%04d", "PkgName": "openssl", "InstalledVersion": "3.0.11-1", "Severity": "HIGH"}`, i))
		}
		tool, _ := fakeTrivy(t, `{"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": [`+strings.Join(vs, ",")+`]}]}`, nil)
		want(t, (&Vulnerabilities{tool: tool}).Run(context.Background(), target), StatusFail, "25 vulnerabilities", "and 15 more",
			"every vulnerability found:\n", "CVE-2024-0024")
	})
	t.Run("clean image", func(t *testing.T) {
		tool, _ := fakeTrivy(t, `{"SchemaVersion": 2, "ArtifactName": "x.tar", "Results": [{"Target": "x (alpine 3.19.1)", "Class": "os-pkgs", "Type": "alpine"}]}`, nil)
		want(t, (&Vulnerabilities{tool: tool}).Run(context.Background(), target), StatusPass, "trivy found none")
	})
	t.Run("nothing to scan", func(t *testing.T) {
		tool, _ := fakeTrivy(t, `{"SchemaVersion": 2, "ArtifactName": "x.tar", "ArtifactType": "container_image", "Metadata": {"ImageID": "sha256:1"}}`, nil)
		want(t, (&Vulnerabilities{tool: tool}).Run(context.Background(), target), StatusSkipped,
			"trivy found neither an operating system nor any package in the image", "/var/lib/dpkg")
	})
	t.Run("an OS without findings", func(t *testing.T) {
		tool, _ := fakeTrivy(t, `{"SchemaVersion": 2, "Metadata": {"OS": {"Family": "alpine", "Name": "3.19.1"}}}`, nil)
		want(t, (&Vulnerabilities{tool: tool}).Run(context.Background(), target), StatusPass, "trivy found none")
	})
	t.Run("no trivy", func(t *testing.T) {
		tool, _ := fakeTrivy(t, trivyReport, nil)
		tool.lookPath = func(string) (string, error) {
			return "", errors.New(`exec: "trivy": executable file not found in $PATH`)
		}
		want(t, (&Vulnerabilities{tool: tool}).Run(context.Background(), target), StatusSkipped, "trivy is not installed")
	})
	t.Run("no database", func(t *testing.T) {
		tool, _ := fakeTrivy(t, trivyReport, nil)
		empty := t.TempDir()
		tool.cacheDir = func() string { return empty }
		want(t, (&Vulnerabilities{tool: tool}).Run(context.Background(), target), StatusSkipped,
			"no vulnerability database at "+filepath.Join(empty, "db", "trivy.db"), "trivy image --download-db-only")
	})
	t.Run("trivy cannot run offline", func(t *testing.T) {
		tool, _ := fakeTrivy(t, "", errors.New("init error: DB error: failed to download vulnerability DB: offline"))
		want(t, (&Vulnerabilities{tool: tool}).Run(context.Background(), target), StatusSkipped,
			"trivy could not scan the image offline:", "FATAL\tinit error: DB error")
	})
	t.Run("not a report", func(t *testing.T) {
		tool, _ := fakeTrivy(t, "Vulnerability scanning is enabled", nil)
		want(t, (&Vulnerabilities{tool: tool}).Run(context.Background(), target), StatusSkipped, "trivy's report could not be read")
	})
	t.Run("out of time", func(t *testing.T) {
		tool, _ := fakeTrivy(t, trivyReport, nil)
		ctx, cancel := context.WithCancel(context.Background())
		run := tool.run
		tool.run = func(ctx2 context.Context, bin string, args, env []string, stdout, stderr io.Writer) error {
			cancel()
			_ = run(ctx2, bin, args, env, stdout, stderr)
			return ctx2.Err()
		}
		want(t, (&Vulnerabilities{tool: tool}).Run(ctx, target), StatusSkipped, "did not finish within the check's time limit")
	})
	t.Run("saving fails", func(t *testing.T) {
		tool, _ := fakeTrivy(t, trivyReport, nil)
		want(t, (&Vulnerabilities{tool: tool}).Run(context.Background(), &saverFake{saveErr: errors.New("save: boom")}), StatusError, "boom")
	})
	t.Run("no saver", func(t *testing.T) {
		want(t, (&Vulnerabilities{}).Run(context.Background(), &fake{}), StatusError, "cannot save images")
	})
}

func TestVulnerabilitiesValidate(t *testing.T) {
	for _, s := range []string{"", "LOW", "CRITICAL"} {
		if err := (&Vulnerabilities{MaxSeverity: s}).Validate(); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if err := (&Vulnerabilities{MaxSeverity: "high"}).Validate(); err == nil {
		t.Error("a lower-case severity was accepted")
	}
	if got := (&Vulnerabilities{}).failing(); !slices.Equal(got, []string{"CRITICAL", "HIGH"}) {
		t.Errorf("default failing = %v", got)
	}
}

func TestRunCommandCapsAndKills(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	out := &limitedWriter{w: &strings.Builder{}, n: 10}
	err := runCommand(context.Background(), "/bin/sh", []string{"-c", "yes | head -c 100000"}, nil, out, io.Discard)
	if !out.over || err == nil {
		t.Errorf("a report over the cap: over=%v err=%v", out.over, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100e6)
	defer cancel()
	if err := runCommand(ctx, "/bin/sh", []string{"-c", "exec sleep 30"}, nil, io.Discard, io.Discard); err == nil {
		t.Error("a command past its deadline ended well")
	}
}
