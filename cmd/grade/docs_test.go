package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// The README and the pages of docs/ (docs/design.md, "Documentation:
// runnable blocks"): a short README that links every page, links that
// resolve, and the commands of the blocks marked `sh runnable` run as
// written.

const (
	repoRoot       = "../.."
	readmeMaxLines = 250
)

// mdLine is a line of a Markdown file, numbered from 1.
type mdLine struct {
	n    int
	text string
}

// mdBlock is a fenced code block.
type mdBlock struct {
	info  string   // the info string after the fence, trimmed
	start int      // the line of the opening fence
	lines []mdLine // the lines inside the fences
}

// mdDoc is a Markdown file split into its prose (every line outside fenced
// blocks) and its fenced blocks.
type mdDoc struct {
	path   string
	prose  []mdLine
	blocks []mdBlock
}

var fenceRe = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})(.*)$")

// parseMarkdown splits src into prose and fenced blocks the way CommonMark
// fences work: a block closes at a fence of the same character at least as
// long as the one that opened it, so a block of four backticks can show a
// block of three without it counting.
func parseMarkdown(path, src string) mdDoc {
	d := mdDoc{path: path}
	var open string // the opening fence, while in a block
	var cur mdBlock
	for i, l := range strings.Split(src, "\n") {
		n := i + 1
		m := fenceRe.FindStringSubmatch(l)
		switch {
		case open == "" && m != nil && (m[1][0] != '`' || !strings.Contains(m[2], "`")):
			open = m[1]
			cur = mdBlock{info: strings.TrimSpace(m[2]), start: n}
		case open != "" && m != nil && m[1][0] == open[0] && len(m[1]) >= len(open) && strings.TrimSpace(m[2]) == "":
			d.blocks = append(d.blocks, cur)
			open = ""
		case open != "":
			cur.lines = append(cur.lines, mdLine{n, l})
		default:
			d.prose = append(d.prose, mdLine{n, l})
		}
	}
	if open != "" { // an unclosed block runs to the end, as in CommonMark
		d.blocks = append(d.blocks, cur)
	}
	return d
}

func readMarkdown(t *testing.T, path string) mdDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return parseMarkdown(path, string(b))
}

// markdownFiles lists README.md and docs/*.md, relative to the root.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no docs/*.md")
	}
	files := []string{"README.md"}
	for _, p := range pages {
		rel, err := filepath.Rel(repoRoot, p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	return files
}

var (
	headingRe  = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	codeSpanRe = regexp.MustCompile("`+[^`]*`+")
	// [text](target "title") and ![alt](target); the text may span lines.
	linkRe    = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLinkRe = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	schemeRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	inlineRe  = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// anchors returns the anchors GitHub makes of a page's headings: lower
// case, spaces as hyphens, every other character but letters, digits, _
// and - dropped; a repeated one gets -1, -2, …
func (d mdDoc) anchors() map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, l := range d.prose {
		m := headingRe.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		text := inlineRe.ReplaceAllString(m[1], "$1")
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if k := seen[a]; k > 0 {
			out[fmt.Sprintf("%s-%d", a, k)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// links returns the link targets of the page's prose (code spans and
// fenced blocks are not links).
func (d mdDoc) links() []string {
	var b strings.Builder
	for _, l := range d.prose {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	prose := codeSpanRe.ReplaceAllString(b.String(), "")
	var out []string
	for _, re := range []*regexp.Regexp{linkRe, refLinkRe} {
		for _, m := range re.FindAllStringSubmatch(prose, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestREADMELength: the README is what each user needs first; the
// reference is in docs/.
func TestREADMELength(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.TrimRight(string(b), "\n"), "\n") + 1; n > readmeMaxLines {
		t.Errorf("README.md has %d lines, more than %d: move reference material into docs/", n, readmeMaxLines)
	}
}

// TestDocsLinks: the README links every page of docs/, and every relative
// link of the README and of docs/ points at a file that exists and, with
// an anchor, at one of its headings.
func TestDocsLinks(t *testing.T) {
	files := markdownFiles(t)
	docs := map[string]mdDoc{}
	for _, f := range files {
		docs[f] = readMarkdown(t, f)
	}
	linked := map[string]bool{}
	for _, f := range files {
		d := docs[f]
		for _, target := range d.links() {
			if schemeRe.MatchString(target) {
				continue // http:, https:, mailto:
			}
			path, anchor, _ := strings.Cut(target, "#")
			to := f
			if path != "" {
				to = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(f), path)))
				if _, err := os.Stat(filepath.Join(repoRoot, to)); err != nil {
					t.Errorf("%s: link %q: %s does not exist", f, target, to)
					continue
				}
			}
			if f == "README.md" {
				linked[to] = true
			}
			if anchor == "" || !strings.HasSuffix(to, ".md") {
				continue
			}
			td, ok := docs[to]
			if !ok {
				td = readMarkdown(t, to)
				docs[to] = td
			}
			if !td.anchors()[anchor] {
				t.Errorf("%s: link %q: %s has no heading with the anchor #%s", f, target, to, anchor)
			}
		}
	}
	for _, f := range files[1:] {
		if !linked[f] {
			t.Errorf("README.md does not link %s", f)
		}
	}
}

// runnableLine is a command of a `sh runnable` block.
type runnableLine struct {
	file string
	n    int
	cmd  string
	exit int // the exit code it must end with
}

var exitRe = regexp.MustCompile(`(?:^|\s)#\s*exit\s+(\d+)\b`)

// runnable returns the commands of the page's `sh runnable` blocks: each
// line on its own (a line ending in \ goes on on the next), without blank
// lines and lines that are only a comment; the exit code is 0 unless a
// trailing comment says "# exit N".
func (d mdDoc) runnable() ([]runnableLine, error) {
	var out []runnableLine
	for _, b := range d.blocks {
		f := strings.Fields(b.info)
		if len(f) == 0 || f[0] != "sh" || !contains(f[1:], "runnable") {
			continue
		}
		for i := 0; i < len(b.lines); i++ {
			l := runnableLine{file: d.path, n: b.lines[i].n}
			text := b.lines[i].text
			for strings.HasSuffix(text, `\`) && i+1 < len(b.lines) {
				i++
				text = strings.TrimSuffix(text, `\`) + "\n" + b.lines[i].text
			}
			if s := strings.TrimSpace(text); s == "" || strings.HasPrefix(s, "#") {
				continue
			}
			l.cmd = text
			if m := exitRe.FindStringSubmatch(text); m != nil {
				code, err := strconv.Atoi(m[1])
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %w", d.path, l.n, err)
				}
				l.exit = code
			}
			out = append(out, l)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// gitStatus is the work tree's status, or "" where git cannot tell (not a
// checkout).
func gitStatus(t *testing.T) (string, bool) {
	t.Helper()
	cmd := exec.Command("git", "status", "--porcelain", "--untracked-files=all")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Logf("git status: %v: not checking that the runnable blocks leave the work tree alone", err)
		return "", false
	}
	return string(out), true
}

// runLine runs a runnable line as the docs promise: sh -c from the root,
// the grade under test first on PATH, TMPDIR a fresh folder, no engine.
// It returns the exit code and the combined output.
func runLine(t *testing.T, l runnableLine) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", l.cmd)
	cmd.Dir = repoRoot
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "TMPDIR", "DOCKER_HOST", "DOCKER_CONTEXT", "NO_COLOR", "LANG", "LC_ALL":
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TMPDIR="+t.TempDir(),
		"DOCKER_HOST=unix:///nonexistent/grade-docs-test/docker.sock", // a runnable block needs no engine
		"NO_COLOR=1", "LANG=C.UTF-8")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s:%d: %s: still running after %v (a runnable block must finish in seconds)\n%s", l.file, l.n, l.cmd, time.Minute, out)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("%s:%d: running sh: %v", l.file, l.n, err)
	return 0, ""
}

// TestDocsRunnable runs every command of the README's and docs' blocks
// marked `sh runnable`, with the grade built by TestMain, and requires the
// exit code each states (0 unless "# exit N"), and the work tree unchanged.
func TestDocsRunnable(t *testing.T) {
	var lines []runnableLine
	inREADME := 0
	for _, f := range markdownFiles(t) {
		ls, err := readMarkdown(t, f).runnable()
		if err != nil {
			t.Fatal(err)
		}
		if f == "README.md" {
			inREADME = len(ls)
		}
		lines = append(lines, ls...)
	}
	if inREADME == 0 {
		t.Error("README.md has no `sh runnable` block: nothing of it is run")
	}
	before, tracked := gitStatus(t)
	for _, l := range lines {
		t.Run(fmt.Sprintf("%s:%d", l.file, l.n), func(t *testing.T) {
			code, out := runLine(t, l)
			if code != l.exit {
				t.Errorf("%s:%d: %s\nexited %d, want %d; output:\n%s", l.file, l.n, l.cmd, code, l.exit, out)
			}
		})
	}
	if after, ok := gitStatus(t); tracked && ok && after != before {
		t.Errorf("the runnable blocks changed the work tree (write into \"$(mktemp -d)\" instead):\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestDocsParse holds the parsing the other tests rely on: fences within
// fences, continuations, exit codes, links spanning lines, anchors.
func TestDocsParse(t *testing.T) {
	src := strings.Join([]string{
		"# A page, `grade` and more",
		"See [the other\npage](other.md#a-b) and `[not](a-link.md)`.",
		"````md",
		"```sh runnable",
		"not run: inside a four-backtick block",
		"```",
		"````",
		"```sh runnable",
		"grade version",
		"",
		"# a comment",
		`grade lint \`,
		"  --scenarios x   # exit 78: invalid",
		"```",
		"```sh",
		"grade --all",
		"```",
		"## A b",
		"## A b",
	}, "\n")
	d := parseMarkdown("p.md", src)
	ls, err := d.runnable()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range ls {
		got = append(got, fmt.Sprintf("%d:%d:%s", l.n, l.exit, l.cmd))
	}
	want := []string{"10:0:grade version", "13:78:grade lint \n  --scenarios x   # exit 78: invalid"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("runnable lines:\n got %q\nwant %q", got, want)
	}
	if links := d.links(); len(links) != 1 || links[0] != "other.md#a-b" {
		t.Errorf("links: %q, want [other.md#a-b]", links)
	}
	a := d.anchors()
	for _, want := range []string{"a-page-grade-and-more", "a-b", "a-b-1"} {
		if !a[want] {
			t.Errorf("no anchor %q in %v", want, a)
		}
	}
}
