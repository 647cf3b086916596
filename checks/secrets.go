package checks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Secrets grades that the built image holds no secrets (course 4.4 "no
// secrets in the image", 8.2 "scanning"): none in its ENV, none baked into
// its build history (ENV, ARG values, RUN lines such as curl -H
// "Authorization: Bearer …"), and no secret files (private keys, .env
// files, tokens in files). Anyone who can pull an image can read all three,
// even when a later step deletes the file.
//
// With plant, grade first puts files into the build context as if the
// student had left them in the submission folder: a working .dockerignore
// keeps them out, a missing one lets COPY . . bring them in.
//
// The files are those of every layer of the image, not only of its final
// filesystem: a file that a later step deletes (COPY . . then RUN rm .env)
// is still in the layer that added it, and the finding says so (a path
// found is looked up in the final image, FileReader, to tell). A scan
// that stops at grade's cap on files or bytes fails: an image too full to
// look through cannot be said to hold no secret.
//
// What a secret looks like is the small table secretFileRules and
// secretTextRules (formats that are secrets wherever they appear), plus
// NAME=value settings whose name says secret (assignmentRe). Every file is
// checked by name; which files are read for content is decided from the
// path and size alone, before anything is read (secretScan.want): not
// files over secretFileLimit, not dependency trees (node_modules,
// site-packages …), and not system and toolchain paths (skipContentPrefixes),
// whose files come with the base image and its packages, which ship sample
// keys there. Under those system paths, files are read all the same below
// the folders the student's own build writes to (contentRoots): the web
// roots of the nginx and caddy images (/usr/share/nginx/html), the image's
// WORKDIRs and the destination of every COPY and ADD step of its history
// other than /. The rule needs nothing but the image's config and history,
// which say where a build put files whatever its base; layer order cannot
// serve, since docker save gives the layers in no set order. A base image's
// own COPY into a system folder is read too, which costs little: base images
// copy entrypoint scripts, not sample keys.
type Secrets struct {
	// Plant maps paths in the build context to contents grade puts there
	// before the build (at most 10 files), e.g. .env: "API_TOKEN=…".
	Plant map[string]string `yaml:"plant"`
	// Ignore lists paths in the image (path.Match patterns, e.g.
	// /etc/nginx/certs/*.key) that may hold secrets.
	Ignore []string `yaml:"ignore" jsonschema:"uniqueItems=true"`
}

const (
	// maxPlants bounds the files a check may plant.
	maxPlants = 10
	// secretFileLimit is the largest file whose content is scanned.
	secretFileLimit = 1 << 20
	// binarySniff is how much of a file is looked at for NUL bytes.
	binarySniff = 8 << 10
	// secretsListed is how many findings the outcome lists.
	secretsListed = 10
)

// Requires reports that secrets needs the built image.
func (*Secrets) Requires() Requirement { return NeedsImage }

// Plants returns the files to put into the build context (Planter).
func (c *Secrets) Plants() map[string]string {
	if len(c.Plant) == 0 {
		return nil
	}
	out := make(map[string]string, len(c.Plant))
	for k, v := range c.Plant {
		out[k] = v
	}
	return out
}

// Validate checks the planted paths and the ignore patterns.
func (c *Secrets) Validate() error {
	if len(c.Plant) > maxPlants {
		return fieldErr("plant", "plants %d files; at most %d", len(c.Plant), maxPlants)
	}
	keys := make([]string, 0, len(c.Plant))
	for k := range c.Plant {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		// Keys hold dots (.env): the error names the key, not a field path.
		switch {
		case k == "" || path.IsAbs(k) || path.Clean(k) != k || k == "." || k == ".." || strings.HasPrefix(k, "../"):
			return fieldErr("plant", "%q must be a relative path inside the build context, like .env or keys/id_rsa", k)
		case k == ".dockerignore":
			return fieldErr("plant", "grade cannot plant .dockerignore: it is what the check grades")
		case c.Plant[k] == "":
			return fieldErr("plant", "%q is empty; give the file a content (a stand-in secret)", k)
		}
	}
	for i, p := range c.Ignore {
		if _, err := path.Match(p, "/"); err != nil || !path.IsAbs(p) {
			return fieldErr(fmt.Sprintf("ignore.%d", i), "%q must be an absolute path pattern in the image, like /etc/app/*.key", p)
		}
	}
	return nil
}

// secretRule is one format of secret: the words one of which must appear
// for the pattern to be worth running (a cheap filter), and the pattern,
// whose first non-empty group is the secret (the whole match without one).
type secretRule struct {
	what  string
	words []string
	re    *regexp.Regexp
	// hide prints nothing of the value (a private key's start says nothing).
	hide bool
}

// find returns the secrets rule r finds in b.
func (r secretRule) find(b []byte) []string {
	found := false
	for _, w := range r.words {
		if bytes.Contains(b, []byte(w)) {
			found = true
			break
		}
	}
	if !found {
		return nil
	}
	var out []string
	for _, m := range r.re.FindAllSubmatch(b, 20) {
		v := m[0]
		for _, g := range m[1:] {
			if len(g) > 0 {
				v = g
				break
			}
		}
		out = append(out, string(v))
	}
	return out
}

// secretFileRules find secrets in files, ENV and history: formats that are
// secrets wherever they appear. The private key comes first: it alone is
// looked for in .pem files under system paths.
var secretFileRules = []secretRule{
	{what: "a private key", words: []string{"PRIVATE KEY", "PuTTY-User-Key-File-"}, hide: true,
		re: regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d+:`)},
	{what: "an AWS access key id", words: []string{"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA", "A3T"},
		re: regexp.MustCompile(`(?:^|[^A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|A3T[A-Z0-9])[A-Z0-9]{16})(?:[^A-Za-z0-9]|$)`)},
	{what: "an AWS secret access key", words: []string{"aws_secret", "AWS_SECRET", "awsSecret", "AwsSecret", "aws_Secret"},
		re: regexp.MustCompile(`(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)`)},
	{what: "a GitHub token", words: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		re: regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})\b`)},
	{what: "a GitLab token", words: []string{"glpat-"}, re: regexp.MustCompile(`\b(glpat-[A-Za-z0-9_-]{20,})`)},
	{what: "a Slack token", words: []string{"xox", "hooks.slack.com"},
		re: regexp.MustCompile(`\b(xox[abeoprs]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+)`)},
	{what: "a Stripe key", words: []string{"k_live_", "k_test_"}, re: regexp.MustCompile(`\b([rs]k_(?:live|test)_[A-Za-z0-9]{20,})\b`)},
	{what: "a SendGrid key", words: []string{"SG."}, re: regexp.MustCompile(`\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})\b`)},
	{what: "an npm token", words: []string{"npm_", "_authToken"},
		re: regexp.MustCompile(`\b(npm_[A-Za-z0-9]{36})\b|_authToken\s*=\s*["']?([^\s"'$][^\s"']*)`)},
}

// secretTextRules find secrets in ENV and history too, where a line is one
// setting or command: credentials handed to a command.
var secretTextRules = append(slices.Clip(secretFileRules),
	secretRule{what: "a bearer token", words: []string{"earer", "EARER"},
		re: regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9._~+/-]{8,}=*)`)},
	secretRule{what: "a basic-auth credential", words: []string{"asic", "ASIC", "-u", "--user"},
		re: regexp.MustCompile(`(?i)authorization:\s*basic\s+([A-Za-z0-9+/]{8,}=*)|(?:^|\s)(?:-u|--user)[\s=]+["']?([^\s:"'$]+:[^\s"'$][^\s"']*)`)},
	secretRule{what: "a password in a URL", words: []string{"://"},
		re: regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@"']*:([^@\s/"']+)@`)},
	secretRule{what: "a JSON web token", words: []string{"eyJ"},
		re: regexp.MustCompile(`\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)`)},
)

// assignmentRe finds settings whose name says secret: NAME=value,
// --password=value, "name": value. The short names a password goes by
// (DB_PASS, DB_PWD, MYSQL_PW, PASS) count too, behind an underscore or
// alone, so that renaming DB_PASSWORD does not hide it; BYPASS, COMPASS and
// the shell's PWD (a folder) do not.
var assignmentRe = regexp.MustCompile(`(?i)(?:^|[\s"'|;&(])(?:export\s+)?(-{0,2}(?:[a-z0-9_.]*(?:token|secret|password|passwd|` +
	`api_?key|secret_?key|access_?key|private_?key|auth_?key|_pass|_pwd|_pw)|pass))["']?\s*[=:]\s*("[^"]*"|'[^']*'|[^\s"';&|]+)`)

// placeholderRe recognises values that stand for a secret without being one.
var placeholderRe = regexp.MustCompile(`(?i)^(?:change[-_]?(?:me|it)|placeholder|dummy|none|null|nil|undefined|false|true|` +
	`todo|tbd|redacted|secret_here|your[-_].*|.*example.*|<.*>|\{\{.*\}\}|\[.*\]|/run/secrets/.*)$`)

// isPlaceholder reports whether a found value is no real secret.
func isPlaceholder(v string) bool {
	v = strings.Trim(v, `"'`)
	if v == "" || strings.HasPrefix(v, "$") || strings.Contains(v, "${") || placeholderRe.MatchString(v) {
		return true
	}
	return strings.Count(v, v[:1]) == len(v) || uidGidRe.MatchString(v) // xxxxxxxx, ********; -u 1000:1000
}

var uidGidRe = regexp.MustCompile(`^\d+:\d+$`)

// textFinding is a secret found in a line of text.
type textFinding struct {
	what, value, show string
}

// scanText finds the secrets in one line of ENV or history.
func scanText(s string) []textFinding {
	var out []textFinding
	seen := map[string]bool{}
	add := func(what, value string, hide bool) {
		if seen[value] || isPlaceholder(value) {
			return
		}
		seen[value] = true
		show := mask(value)
		if hide {
			show = ""
		}
		out = append(out, textFinding{what: what, value: value, show: show})
	}
	for _, r := range secretTextRules {
		for _, v := range r.find([]byte(s)) {
			add(r.what, v, r.hide)
		}
	}
	for _, m := range assignmentRe.FindAllStringSubmatch(s, 20) {
		add(assignmentWhat(m[1]), strings.Trim(m[2], `"'`), false)
	}
	return out
}

// assignmentWhat names what a secret-named setting holds.
func assignmentWhat(key string) string {
	k := strings.ToLower(key)
	switch {
	case strings.Contains(k, "pass"), strings.HasSuffix(k, "_pwd"), strings.HasSuffix(k, "_pw"):
		return "a password"
	case strings.HasSuffix(k, "token"):
		return "a token"
	case strings.Contains(k, "key"):
		return "a key"
	}
	return "a secret"
}

// mask shows the start of a secret, never all of it: at most 4 characters
// and at most a third of it.
func mask(v string) string {
	r := []rune(strings.Trim(v, `"'`))
	n := min(4, len(r)/3)
	return string(r[:n]) + "…"
}

// secretFinding is one secret found, told where it is.
type secretFinding struct {
	text    string // for ENV and history: the whole finding
	arg     bool   // a build argument recorded in the history
	path    string // for a file: its path in the image
	desc    string // for a file: what it is or holds
	plant   string // for a planted file: its path in the build context
	deleted bool   // for a file: in a layer, not in the final image
}

// String tells the finding.
func (f secretFinding) String() string {
	if f.path == "" {
		return f.text
	}
	const gone = " is in a layer of the image, although a later step deletes it: it is still there for anyone who pulls the image"
	switch {
	case f.plant != "" && f.deleted:
		return fmt.Sprintf("%s%s; grade put %s in the build context to stand for a secret you keep beside your code, "+
			"and COPY brought it in; list it in .dockerignore (4.4)", f.path, gone, f.plant)
	case f.plant != "":
		return fmt.Sprintf("%s is in the image: grade put %s in the build context to stand for a "+
			"secret you keep beside your code, and COPY brought it in; list it in .dockerignore (4.4)", f.path, f.plant)
	case f.deleted && strings.HasPrefix(f.desc, "holds "):
		return fmt.Sprintf("%s, which %s,%s", f.path, f.desc, gone)
	case f.deleted:
		return f.path + " " + f.desc + gone
	}
	return f.path + " " + f.desc
}

// secretScan gathers what the check found.
type secretScan struct {
	c        *Secrets
	findings []secretFinding
	files    int
	// roots are folders read for content even under system paths.
	roots []string
	// plantSizes are the sizes of the planted files: a file of one of
	// them is read to be compared.
	plantSizes map[int64]bool
	// reported are the file paths found already (a path is in several
	// layers when several steps changed it).
	reported map[string]bool
}

// maxDeletedLookups bounds the files looked up in the final image to tell
// whether a later step deleted them.
const maxDeletedLookups = 100

// Run scans the image's ENV, history and the files of its layers.
func (c *Secrets) Run(ctx context.Context, t Target) Outcome {
	expected := "no secrets in the image: none in its ENV, its build history or the files of its layers " +
		"(private keys, .env files, tokens, passwords)"
	ins, ok := t.(ImageInspector)
	if !ok {
		return capErr(expected, "inspect images")
	}
	hr, ok := t.(HistoryReader)
	if !ok {
		return capErr(expected, "read image history")
	}
	w, ok := t.(ImageWalker)
	if !ok {
		return capErr(expected, "walk image files")
	}
	cfg, err := ins.InspectImage(ctx)
	if err != nil {
		return engineOutcome(expected, err)
	}
	history, err := hr.History(ctx)
	if err != nil {
		return engineOutcome(expected, err)
	}
	s := &secretScan{c: c, roots: contentRoots(cfg.WorkingDir, history), plantSizes: map[int64]bool{}, reported: map[string]bool{}}
	for _, v := range c.Plant {
		s.plantSizes[int64(len(v))] = true
	}
	var fileFindings []secretFinding
	walkErr := w.WalkImage(ctx, s.want, func(f File) error {
		if found, ok := s.file(f); ok {
			fileFindings = append(fileFindings, found)
		}
		return nil
	})
	capped := errors.Is(walkErr, ErrWalkLimit)
	switch {
	case capped:
	case walkErr != nil && ctx.Err() != nil:
		return Errored(expected, fmt.Errorf("the image's files could not all be read within the check's time limit "+
			"(%d files read); give the check a longer timeout", s.files))
	case walkErr != nil:
		return engineOutcome(expected, walkErr)
	}
	if fr, ok := t.(FileReader); ok {
		for i := range fileFindings[:min(len(fileFindings), maxDeletedLookups)] {
			_, err := fr.ReadFile(ctx, fileFindings[i].path, 0)
			fileFindings[i].deleted = errors.Is(err, ErrNotExist)
		}
	}
	// Planted files first: they are what the scenario set out to test.
	slices.SortStableFunc(fileFindings, func(a, b secretFinding) int {
		switch {
		case (a.plant != "") == (b.plant != ""):
			return 0
		case a.plant != "":
			return -1
		}
		return 1
	})
	seen := map[string]bool{}
	s.env(cfg.Env, seen)
	s.history(history, seen)
	s.findings = slices.Concat(fileFindings, s.findings)
	if capped {
		return s.capped(expected, walkErr)
	}
	if len(s.findings) == 0 {
		return Pass(expected, fmt.Sprintf("no secret found in %d ENV variables, %d history entries and %d files of its layers",
			len(cfg.Env), len(history), s.files))
	}
	n, listed, all := s.list()
	o := Fail(expected, n+" found: "+listed, s.cause())
	o.Detail = all
	return o
}

// list says how many secrets were found, lists the first secretsListed
// and, when there are more, all of them for the detail.
func (s *secretScan) list() (n, listed, all string) {
	texts := make([]string, 0, secretsListed+1)
	for i, f := range s.findings {
		if i == secretsListed {
			texts = append(texts, fmt.Sprintf("and %d more", len(s.findings)-secretsListed))
			break
		}
		texts = append(texts, f.String())
	}
	n = "1 secret"
	if len(s.findings) != 1 {
		n = fmt.Sprintf("%d secrets", len(s.findings))
	}
	if len(s.findings) > secretsListed {
		lines := make([]string, len(s.findings))
		for i, f := range s.findings {
			lines[i] = f.String()
		}
		all = "every secret found:\n" + strings.Join(lines, "\n")
	}
	return n, strings.Join(texts, "; "), all
}

// capped is the outcome of a walk stopped at grade's cap: a failure,
// whatever was found, since the rest of the image was not looked through.
func (s *secretScan) capped(expected string, walkErr error) Outcome {
	actual := fmt.Sprintf("the image holds too many files or too much data for grade to look through (%v), "+
		"so it cannot be said to hold no secret; in the %d files grade went through it found ", walkErr, s.files)
	msg := "an image this full is a problem in itself, and hides what is in it from any review: keep data, caches, " +
		"generated and test files out of it (.dockerignore, a multi-stage build, deleting temporary files in the same RUN " +
		"step that makes them, since files a later step deletes stay in the image's layers) (4.4)"
	var all string
	if len(s.findings) == 0 {
		actual += "no secret"
	} else {
		n, listed, a := s.list()
		actual += n + ": " + listed
		msg = s.cause() + "; " + msg
		all = a
	}
	o := Fail(expected, actual, msg)
	o.Detail = all
	return o
}

// cause explains why the findings matter and what to do, for what was found.
func (s *secretScan) cause() string {
	var planted, arg bool
	for _, f := range s.findings {
		planted = planted || f.plant != ""
		arg = arg || f.arg
	}
	msg := "anyone who can pull the image can read these, even when a later step deletes a file (it stays in the layer that added it); " +
		"give secrets to the container when it runs (environment, a mounted secret file), never with ENV, ARG or COPY"
	if arg {
		msg += "; build arguments (ARG) are recorded in the image's history, where docker history shows them"
	}
	if planted {
		msg += "; keep secret files out of the build context with .dockerignore"
	}
	return msg + " (4.4)"
}

// env scans the image's environment.
func (s *secretScan) env(env []string, seen map[string]bool) {
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		var whats, shows []string
		for _, f := range scanText(kv) {
			if seen[f.value] {
				continue
			}
			seen[f.value] = true
			whats = append(whats, f.what)
			shows = append(shows, f.show)
		}
		if len(whats) > 0 {
			s.findings = append(s.findings, secretFinding{text: fmt.Sprintf("ENV %s holds %s", name, describe(whats, shows))})
		}
	}
}

// history scans the build history, oldest first; a secret already reported
// (from ENV, or an earlier entry) is not reported again.
func (s *secretScan) history(layers []Layer, seen map[string]bool) {
	for _, l := range layers {
		var whats, shows, values []string
		for _, f := range scanText(l.CreatedBy) {
			if seen[f.value] {
				continue
			}
			seen[f.value] = true
			whats, shows, values = append(whats, f.what), append(shows, f.show), append(values, f.value)
		}
		if len(whats) == 0 {
			continue
		}
		instr, args := historyInstruction(l.CreatedBy)
		shown := instr
		if args != "" {
			shown += " (build arguments " + args + ")"
		}
		for i, v := range values {
			shown = strings.ReplaceAll(shown, v, shows[i])
		}
		arg := strings.HasPrefix(instr, "ARG ")
		for _, v := range values {
			arg = arg || strings.Contains(args, v)
		}
		s.findings = append(s.findings, secretFinding{
			text: fmt.Sprintf("history: %s holds %s", clip(shown, 120), describe(whats, shows)),
			arg:  arg,
		})
	}
}

// historyArgsRe matches the build arguments the classic builder records
// before a RUN: "|2 A=1 B=2 /bin/sh -c …".
var historyArgsRe = regexp.MustCompile(`^\|\d+ (.*?) ?(/bin/sh -c .*)$`)

// historyInstruction turns a history entry back into the Dockerfile
// instruction, with the build arguments it recorded.
func historyInstruction(createdBy string) (instr, args string) {
	s := strings.TrimSpace(createdBy)
	if m := historyArgsRe.FindStringSubmatch(s); m != nil {
		args, s = m[1], m[2]
	}
	if rest, ok := strings.CutPrefix(s, "/bin/sh -c "); ok {
		if nop, ok := strings.CutPrefix(rest, "#(nop) "); ok {
			return strings.TrimSpace(nop), args
		}
		return "RUN " + rest, args
	}
	return s, args
}

// describe joins what was found with what may be shown of each.
func describe(whats, shows []string) string {
	parts := make([]string, len(whats))
	for i, w := range whats {
		parts[i] = w
		if shows[i] != "" {
			parts[i] += " (" + shows[i] + ")"
		}
	}
	return strings.Join(parts, " and ")
}

// want decides from a file's path and size alone how much of its content
// to read (ImageWalker's read): none for paths the check does not read,
// files over secretFileLimit and dependency trees, so that grade's budget
// goes to the files that may hold a secret.
func (s *secretScan) want(f File) int64 {
	p := f.Path
	switch {
	case s.ignored(p):
		return 0
	case s.plantSizes[f.Size]:
		return f.Size // compared with what grade planted
	case f.Size > secretFileLimit || inDependencyTree(p):
		return 0
	case s.skipContent(p) && !strings.HasSuffix(p, ".pem"):
		return 0
	}
	return f.Size
}

// ignored reports whether the check's ignore patterns cover p.
func (s *secretScan) ignored(p string) bool {
	for _, g := range s.c.Ignore {
		if ok, _ := path.Match(g, p); ok {
			return true
		}
	}
	return false
}

// file looks at one file of a layer of the image; a path found already
// (in another layer) is not looked at again.
func (s *secretScan) file(f File) (secretFinding, bool) {
	s.files++
	p := f.Path
	if s.reported[p] || s.ignored(p) {
		return secretFinding{}, false
	}
	found := func(desc, plant string) (secretFinding, bool) {
		s.reported[p] = true
		return secretFinding{path: p, desc: desc, plant: plant}, true
	}
	if plant := s.planted(f); plant != "" {
		return found("", plant)
	}
	if inDependencyTree(p) {
		return secretFinding{}, false
	}
	if what := secretName(f); what != "" {
		return found("("+what+")", "")
	}
	if f.Size > secretFileLimit || f.Truncated || bytes.IndexByte(f.Content[:min(len(f.Content), binarySniff)], 0) >= 0 {
		return secretFinding{}, false
	}
	rules := secretFileRules
	if s.skipContent(p) {
		if !strings.HasSuffix(p, ".pem") {
			return secretFinding{}, false
		}
		rules = secretFileRules[:1] // a private key in a .pem anywhere
	}
	var whats, shows []string
	for _, r := range rules {
		for _, v := range r.find(f.Content) {
			if isPlaceholder(v) || slices.Contains(whats, r.what) {
				continue
			}
			show := mask(v)
			if r.hide {
				show = ""
			}
			whats, shows = append(whats, r.what), append(shows, show)
		}
	}
	if len(whats) == 0 {
		return secretFinding{}, false
	}
	return found("holds "+describe(whats, shows), "")
}

// skipContent reports whether p's content goes unread: under a system path
// and not below a folder the build wrote to (contentRoots).
func (s *secretScan) skipContent(p string) bool {
	if !systemPath(p) {
		return false
	}
	for _, r := range s.roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return false
		}
	}
	return true
}

// planted returns the plant path whose content f has, or "".
func (s *secretScan) planted(f File) string {
	if f.Truncated || len(s.c.Plant) == 0 {
		return ""
	}
	for k, v := range s.c.Plant {
		if int64(len(v)) == f.Size && string(f.Content) == v {
			return k
		}
	}
	return ""
}

// secretName says what a file named like a secret is, or "".
func secretName(f File) string {
	base := path.Base(f.Path)
	switch {
	case base == ".env" || strings.HasPrefix(base, ".env."):
		if f.Size == 0 {
			return ""
		}
		switch strings.TrimPrefix(base, ".env.") {
		case "example", "sample", "template", "dist":
			return ""
		}
		return "a .env file"
	case base == "id_rsa" || base == "id_dsa" || base == "id_ecdsa" || base == "id_ed25519":
		return "an SSH private key file"
	}
	return ""
}

// skipContentPrefixes are system and toolchain paths whose files come
// from the base image and its packages: Debian keeps sample keys and
// certificates there, Go's source tree test keys, the bin folders the
// distribution's programs. Names are still checked there, and content
// below contentRoots is read.
var skipContentPrefixes = []string{
	"/usr/share/", "/usr/lib/", "/usr/libexec/", "/usr/include/", "/usr/local/lib/", "/usr/local/include/",
	"/usr/local/share/", "/usr/local/go/", "/lib/", "/etc/ssl/", "/etc/pki/", "/etc/ca-certificates/",
	"/var/lib/dpkg/", "/var/lib/apt/", "/var/cache/", "/proc/", "/sys/",
	"/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/",
}

// systemPath reports whether p is under skipContentPrefixes.
func systemPath(p string) bool {
	for _, prefix := range skipContentPrefixes {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// webRoots are the folders base images serve files from, where a build
// puts its pages: nginx's and caddy's, under /usr/share.
var webRoots = []string{"/usr/share/nginx/html", "/usr/share/caddy"}

// contentRoots are the folders whose files are read for content even under
// system paths: the web roots, the image's WORKDIR, and where the history
// says a WORKDIR, COPY or ADD step put files (a destination of / left out:
// it is how base images add their whole filesystem).
func contentRoots(workdir string, history []Layer) []string {
	roots := slices.Clone(webRoots)
	add := func(p string) {
		if p != "/" && p != "" && !slices.Contains(roots, p) {
			roots = append(roots, p)
		}
	}
	wd := "/"
	resolve := func(p string) string {
		if strings.ContainsAny(p, "$*?[") {
			return ""
		}
		if !path.IsAbs(p) {
			p = path.Join(wd, p)
		}
		return path.Clean(p)
	}
	for _, l := range history {
		instr, _ := historyInstruction(l.CreatedBy)
		instr = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(instr), "# buildkit"))
		name, args, _ := strings.Cut(instr, " ")
		switch strings.ToUpper(name) {
		case "WORKDIR":
			if p := resolve(strings.TrimSpace(args)); p != "" {
				wd = p
				add(p)
			}
		case "COPY", "ADD":
			if d := copyDest(args); d != "" {
				add(resolve(d))
			}
		}
	}
	if workdir != "" {
		add(resolve(workdir))
	}
	return roots
}

// copyDest reads the destination of a COPY or ADD step of the history, its
// last operand: the classic builder records "dir:<hash> in <dest>",
// BuildKit the instruction as written, flags and all (or its JSON form).
func copyDest(args string) string {
	args = strings.TrimSpace(args)
	if strings.HasPrefix(args, "[") {
		var list []string
		if json.Unmarshal([]byte(args), &list) != nil || len(list) < 2 {
			return ""
		}
		return list[len(list)-1]
	}
	var operands []string
	for _, f := range strings.Fields(args) {
		if !strings.HasPrefix(f, "--") {
			operands = append(operands, f)
		}
	}
	if len(operands) < 2 || strings.HasPrefix(operands[0], "<<") {
		return ""
	}
	return operands[len(operands)-1]
}

// dependencyDirs hold what package managers and toolchains installed:
// their own files (test keys in Go's source tree, a package's test
// fixtures or stray .env), not the student's. Nothing under them is
// reported.
var dependencyDirs = []string{"/node_modules/", "/site-packages/", "/dist-packages/", "/go/pkg/mod/",
	"/usr/local/go/", "/usr/lib/go-", "/usr/share/go-"}

func inDependencyTree(p string) bool {
	for _, d := range dependencyDirs {
		if strings.Contains(p, d) {
			return true
		}
	}
	return false
}

// Stack reports that secrets grades the image built from the Dockerfile.
func (*Secrets) Stack() string { return StackImage }
