package checks

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HTTP grades a request to a container port, sent through the port the
// engine published on its host. It polls until the app answers or the check's
// time limit nears; when nothing answers it looks inside the container's
// network namespace and says what listens there, and on which address.
//
// In a commands stack the request goes, as the student's curl
// localhost:HOST_PORT would, to the host port the student's docker run -p
// published (host_port), of the container named by container.
type HTTP struct {
	// Service is the container to reach; empty means the scenario's app
	// (image and compose stacks).
	Service string `yaml:"service"`
	// Container is the container to reach, as the student's docker run
	// --name gave it (commands stack).
	Container string `yaml:"container"`
	// Port is the container port (not a host port); image and compose
	// stacks.
	Port int `yaml:"port" jsonschema:"minimum=1,maximum=65535"`
	// HostPort is the host port the student published (-p HOST_PORT:…);
	// commands stack, in place of port.
	HostPort int `yaml:"host_port" jsonschema:"minimum=1,maximum=65535"`
	// Path is the request path; default "/".
	Path string `yaml:"path"`
	// Method is the HTTP method; default GET.
	Method  string            `yaml:"method" jsonschema:"enum=GET,enum=POST,enum=PUT,enum=DELETE,enum=HEAD,enum=PATCH"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	// Repeat sends the request this many times (default 1); every answer must
	// meet the expectation.
	Repeat int `yaml:"repeat" jsonschema:"minimum=1,maximum=20"`
	// Before runs a command in a container of the stack before the
	// request, to put there a state that only a working app shows: e.g.
	// set the count kept in redis to a number grade makes up, which the
	// page must go on from. A count kept anywhere else cannot show it.
	Before *HTTPBefore `yaml:"before"`
	Expect HTTPExpect  `yaml:"expect"`
}

// HTTPBefore is a command grade runs before the request. ${number} in it is
// a number grade makes up for the job (six digits); the expectation may
// use ${number} and ${next} (number + 1). A command that exits non-zero
// fails the check with its output (the state it looked for is not there).
type HTTPBefore struct {
	// Service is the container to run in; empty means the scenario's app.
	Service string `yaml:"service"`
	// Container is the container to run in, as the student's docker run
	// --name gave it (commands stack).
	Container string `yaml:"container"`
	// Command is the command and its arguments, run without a shell
	// ([sh, -c, "…"] for one); it must use ${number}.
	Command []string `yaml:"command" jsonschema:"required,minItems=1"`
	// Does says in a few words what the command does, for the student's
	// "expected" line (e.g. "sets every number redis holds to ${number}");
	// without it the command is shown.
	Does string `yaml:"does"`
}

// HTTPExpect is what the answer must be.
type HTTPExpect struct {
	// Status is the expected status code; default 200.
	Status       int     `yaml:"status" jsonschema:"minimum=100,maximum=599"`
	BodyContains string  `yaml:"body_contains"`
	BodyMatches  string  `yaml:"body_matches"`
	BodyEquals   *string `yaml:"body_equals"`
	// BodyEqualsFile requires the body to be this file of the submission,
	// byte for byte (a static site serving the student's own page).
	BodyEqualsFile string `yaml:"body_equals_file"`
	// Increasing requires the number captured by body_matches' first group to
	// grow from one repeated request to the next (a hit counter).
	Increasing bool `yaml:"increasing"`
}

// httpVars are the ${names} an HTTP expectation may use.
var httpVars = []string{"hostname", "number", "next"}

// httpBodyLimit caps how much of an answer is read.
const httpBodyLimit = 1 << 20

// Requires reports that http needs the running container.
func (*HTTP) Requires() Requirement { return NeedsContainer }

// name is the container the check reaches: the service's or the student's.
func (c *HTTP) name() string {
	if c.Container != "" {
		return c.Container
	}
	return c.Service
}

// CheckStack requires container and host_port in a commands stack, and
// port (with an optional service) in the others.
func (c *HTTP) CheckStack(stack string) error {
	if err := containerKeys(stack, c.Service, c.Container); err != nil {
		return err
	}
	if c.Before != nil {
		if err := containerKeys(stack, c.Before.Service, c.Before.Container); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				fe.Field = "before." + fe.Field
			}
			return err
		}
	}
	if stack == StackCommands {
		if c.Port != 0 {
			return fieldErr("port", "is a container port; in a commands stack give host_port, the host port the student's docker run -p published")
		}
		if c.HostPort == 0 {
			return fieldErr("host_port", "is required in a commands stack: the host port the student's docker run -p published (8080 for -p 8080:80)")
		}
		return nil
	}
	if c.HostPort != 0 {
		return fieldErr("host_port", "is for a commands stack; in %s give port, the container port", aStack(stack))
	}
	if c.Port == 0 {
		return fieldErr("port", "is required: the container port the app listens on")
	}
	return nil
}

func (c *HTTP) path() string {
	if c.Path == "" {
		return "/"
	}
	return c.Path
}

func (c *HTTP) method() string {
	if c.Method == "" {
		return http.MethodGet
	}
	return c.Method
}

func (c *HTTP) status() int {
	if c.Expect.Status == 0 {
		return http.StatusOK
	}
	return c.Expect.Status
}

func (c *HTTP) repeat() int {
	if c.Repeat < 1 {
		return 1
	}
	return c.Repeat
}

func (c *HTTP) body() TextExpect {
	return TextExpect{Contains: c.Expect.BodyContains, Matches: c.Expect.BodyMatches, Equals: c.Expect.BodyEquals}
}

// Validate checks the ports, the path, the patterns and the ${variables}.
func (c *HTTP) Validate() error {
	switch {
	case c.Port == 0 && c.HostPort == 0:
		return fieldErr("port", "is required: the container port the app listens on (in a commands stack, host_port: the host port the student published)")
	case c.Port != 0 && c.HostPort != 0:
		return fieldErr("host_port", "give port (a container port) or host_port (the host port the student published), not both")
	case c.Port < 0 || c.Port > 65535:
		return fieldErr("port", "%d is not a port", c.Port)
	case c.HostPort < 0 || c.HostPort > 65535:
		return fieldErr("host_port", "%d is not a port", c.HostPort)
	}
	if err := serviceOrContainer(c.Service, c.Container); err != nil {
		return err
	}
	if !strings.HasPrefix(c.path(), "/") {
		return fieldErr("path", "%q must start with /", c.Path)
	}
	if err := c.body().validate("expect.body"); err != nil {
		return err
	}
	for key, s := range map[string]string{"expect.body_contains": c.Expect.BodyContains, "expect.body_equals": deref(c.Expect.BodyEquals)} {
		if bad := unknownVars(s, httpVars...); len(bad) > 0 {
			return fieldErr(key, "unknown variable ${%s}; known: ${%s}", bad[0], strings.Join(httpVars, "}, ${"))
		}
	}
	if f := c.Expect.BodyEqualsFile; f != "" {
		if err := submissionPath("expect.body_equals_file", f); err != nil {
			return err
		}
	}
	if err := c.validateBefore(); err != nil {
		return err
	}
	if c.Expect.Increasing {
		re, err := regexp.Compile(c.Expect.BodyMatches)
		if c.Expect.BodyMatches == "" || err != nil || re.NumSubexp() < 1 {
			return fieldErr("expect.increasing", "needs body_matches with a group capturing the number, like 'seen (\\d+) times'")
		}
		if c.repeat() < 2 {
			return fieldErr("expect.increasing", "needs repeat: 2 or more")
		}
	}
	return nil
}

// validateBefore requires ${number} in before's command, and before for
// ${number} and ${next} in the expectation (without it they would be
// empty, and match anything).
func (c *HTTP) validateBefore() error {
	uses := false
	for _, m := range bracedVarRe.FindAllStringSubmatch(c.Expect.BodyContains+deref(c.Expect.BodyEquals), -1) {
		uses = uses || m[1] == "number" || m[1] == "next"
	}
	if c.Before == nil {
		if uses {
			return fieldErr("expect", "${number} and ${next} are the number grade sets with before:, and this check has no before")
		}
		return nil
	}
	b := c.Before
	if len(b.Command) == 0 {
		return fieldErr("before.command", "is required: the command grade runs before the request")
	}
	if err := serviceOrContainer(b.Service, b.Container); err != nil {
		return err
	}
	cmd := strings.Join(b.Command, " ")
	if !strings.Contains(cmd, "${number}") {
		return fieldErr("before.command", "does not use ${number}, the value the page must then show")
	}
	// Only ${…} is grade's: $k and $((n+1)) are the shell's.
	for _, m := range bracedVarRe.FindAllStringSubmatch(cmd, -1) {
		if m[1] != "number" {
			return fieldErr("before.command", "unknown variable ${%s}; only ${number} is known (the shell's variables: $name, without braces)", m[1])
		}
	}
	if !uses {
		return fieldErr("expect", "does not use ${number} or ${next}: with before, the page must show the state grade set")
	}
	if c.repeat() > 1 {
		return fieldErr("repeat", "with before, the check sends one request (every request changes what the page shows)")
	}
	return nil
}

var bracedVarRe = regexp.MustCompile(`\$\{([^}]*)\}`)

// where names the container before's command runs in.
func (b *HTTPBefore) where() string {
	if w := b.Service + b.Container; w != "" {
		return w
	}
	return "the app's container"
}

// runBefore runs before's command with ${number} set, and records number
// and next in vars; it returns expected with them in place (the student
// reads the number grade set, not a placeholder). done reports a failure.
func (c *HTTP) runBefore(ctx context.Context, t Target, expected string, vars map[string]string) (string, Outcome, bool) {
	ex, ok := t.(Execer)
	if !ok {
		return expected, capErr(expected, "run commands in a container"), true
	}
	n := 100000 + mrand.IntN(900000)
	vars["number"], vars["next"] = strconv.Itoa(n), strconv.Itoa(n+1)
	expected = strings.NewReplacer("${number}", vars["number"], "${next}", vars["next"]).Replace(expected)
	cmd := make([]string, len(c.Before.Command))
	for i, a := range c.Before.Command {
		cmd[i] = strings.ReplaceAll(a, "${number}", vars["number"])
	}
	name := c.Before.Service + c.Before.Container // one of them, or neither: the app
	out, err := ex.Exec(ctx, name, ExecSpec{Cmd: cmd})
	switch {
	case err != nil && c.Before.Container != "":
		return expected, commandsOutcome(expected, c.Before.Container, err), true
	case err != nil:
		return expected, engineOutcome(expected, err), true
	case out.ExitCode != 0:
		did := fmt.Sprintf("ran `%s` in %s to set the state the page must show", strings.Join(c.Before.Command, " "), c.Before.where())
		if c.Before.Does != "" {
			did = strings.ReplaceAll(c.Before.Does, "${number}", vars["number"]) + " (in " + c.Before.where() + ")"
		}
		return expected, Fail(expected, showOutput(out), fmt.Sprintf("before the request, grade %s, and it failed: %s",
			did, strings.TrimSpace(out.Stdout+" "+out.Stderr))), true
	}
	return expected, Outcome{}, false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// describe says what the check expects.
func (c *HTTP) describe() string {
	s := fmt.Sprintf("%s %s on container port %d answers %d", c.method(), c.path(), c.Port, c.status())
	if c.HostPort != 0 {
		s = fmt.Sprintf("%s %s on host port %d (localhost:%d%s), published by %s, answers %d",
			c.method(), c.path(), c.HostPort, c.HostPort, c.path(), c.Container, c.status())
	}
	if d := c.body().describe("with a body"); d != "" {
		s += ", " + d
	}
	if c.Expect.BodyEqualsFile != "" {
		s += ", with the submission's " + c.Expect.BodyEqualsFile + " as its body"
	}
	if c.Before != nil {
		did := fmt.Sprintf("runs `%s` in %s", strings.Join(c.Before.Command, " "), c.Before.where())
		if c.Before.Does != "" {
			did = c.Before.Does
		}
		s = fmt.Sprintf("after grade %s, %s", did, s)
	}
	if c.repeat() > 1 {
		s += fmt.Sprintf(", %d times", c.repeat())
		if c.Expect.Increasing {
			s += " with a growing count"
		}
	}
	return s
}

// answer is one HTTP response, or why there was none.
type answer struct {
	status int
	body   string
	err    error
}

func (a answer) String() string {
	if a.err != nil {
		return "no answer: " + a.err.Error()
	}
	return fmt.Sprintf("status %d, body %s", a.status, quote(a.body, 200))
}

// Timing of the readiness poll. Variables so tests can shorten them.
var (
	httpPollStart   = 100 * time.Millisecond
	httpPollMax     = time.Second
	httpRequestMax  = 5 * time.Second
	httpSettle      = 2 * time.Second  // how long a wrong answer may still change
	httpProbeEvery  = 2 * time.Second  // how often to look inside when nothing answers
	httpWrongPortOK = 10 * time.Second // how long listening elsewhere must last to conclude
	httpReserve     = 3 * time.Second  // kept back from the deadline for the diagnosis
)

// Run polls the endpoint until it answers as expected or the time runs out.
func (c *HTTP) Run(ctx context.Context, t Target) Outcome {
	expected := c.describe()
	p := &poller{c: c, t: t, ctx: ctx, name: c.name(), port: c.Port, hostPort: c.HostPort}
	var hostPort string
	if c.HostPort != 0 {
		var o Outcome
		var done bool
		if hostPort, o, done = c.hostEndpoint(ctx, t, p); done {
			return o
		}
	} else {
		pp, ok := t.(PortPublisher)
		if !ok {
			return capErr(expected, "publish container ports")
		}
		var err error
		hostPort, err = pp.Endpoint(ctx, c.Service, c.Port)
		if err != nil {
			o := engineOutcome(expected, err)
			if o.Status == StatusFail { // the app did not start: its log says why
				o.Detail = p.logs()
			}
			return o
		}
	}
	vars := map[string]string{}
	if c.Before != nil {
		var o Outcome
		var done bool
		if expected, o, done = c.runBefore(ctx, t, expected, vars); done {
			return o
		}
	}
	if c.usesVars() {
		ci, ok := t.(ContainerInspector)
		if !ok {
			return capErr(expected, "inspect containers")
		}
		st, err := ci.State(ctx, c.name())
		if err != nil {
			// Without the hostname, ${hostname} would match anything.
			return Errored(expected, fmt.Errorf("reading the container's hostname: %w", err))
		}
		vars["hostname"] = st.Hostname
	}
	body := c.body().expand(vars)
	if f := c.Expect.BodyEqualsFile; f != "" {
		sr, ok := t.(SourceReader)
		if !ok {
			return capErr(expected, "read the submission's files")
		}
		b, err := sr.ReadSource(f, httpBodyLimit+1)
		switch {
		case errors.Is(err, ErrNotExist):
			return Fail(expected, "", fmt.Sprintf("the submission has no %s to compare the page with", f))
		case err != nil:
			return Fail(expected, "", fmt.Sprintf("grade could not read the submission's %s to compare the page with: %v", f, err))
		case len(b) > httpBodyLimit:
			return Fail(expected, "", fmt.Sprintf("the submission's %s is larger than %s, more than grade compares", f, Size(httpBodyLimit)))
		}
		s := string(b)
		body.Equals, body.EqualsName = &s, "the submission's "+f
	}
	dial := (&net.Dialer{Timeout: httpRequestMax}).DialContext
	if d, ok := t.(Dialer); ok {
		dial = d.DialContext
	}
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true, DialContext: dial},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	url := "http://" + hostPort + c.path()

	if o, ok := c.knownDead(t, expected); ok {
		return o
	}
	if prev, ok := c.knownSilent(t); ok {
		// An earlier check of the job waited its whole time limit with
		// nothing listening: one more attempt, not another long wait.
		a := c.send(ctx, client, url)
		if a.err != nil {
			o := Fail(expected, a.String()+"; earlier: "+prev.Actual, prev.Message)
			o.Detail = prev.Detail
			return o
		}
	}
	p.start = time.Now()
	p.deadline = time.Now().Add(time.Hour)
	if d, ok := ctx.Deadline(); ok {
		p.deadline = d.Add(-min(httpReserve, time.Until(d)/4))
	}
	wait := httpPollStart
	var firstWrong time.Time
	for {
		a := c.send(ctx, client, url)
		if a.err == nil {
			msg := c.judge(a, body)
			if msg == "" {
				return c.more(ctx, client, url, body, a, expected)
			}
			if firstWrong.IsZero() {
				firstWrong = time.Now()
			}
			if time.Since(firstWrong) >= httpSettle || time.Now().After(p.deadline) {
				o := Fail(expected, a.String(), msg)
				if a.status >= 500 {
					o.Detail = p.logs() // the app's own account of the error
				}
				return o
			}
		} else if o, done := p.diagnose(expected, a); done {
			return c.dead(t, o)
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(p.deadline) {
			return p.giveUp(expected, a)
		}
		select {
		case <-ctx.Done():
			return p.giveUp(expected, a)
		case <-time.After(wait):
		}
		wait = min(wait*2, httpPollMax)
	}
}

// hostEndpoint finds where grade reaches the host port the student
// published (commands stack) and, from the container's published ports,
// the container port behind it (p.port). done reports a failure.
func (c *HTTP) hostEndpoint(ctx context.Context, t Target, p *poller) (string, Outcome, bool) {
	expected := c.describe()
	hp, ok := t.(HostPorts)
	if !ok {
		return "", capErr(expected, "reach the ports a student's container publishes"), true
	}
	info, known, o, done := lookUpContainer(ctx, t, expected, c.Container, true)
	if done {
		return "", o, true
	}
	if known {
		for _, b := range info.Ports {
			if b.HostPort == c.HostPort && (b.Proto == "" || b.Proto == "tcp") {
				p.port = b.ContainerPort
			}
		}
	}
	addr, err := hp.HostEndpoint(ctx, c.Container, c.HostPort)
	var npe *NotPublishedError
	switch {
	case errors.As(err, &npe):
		return "", Fail(expected, npe.Error(), notPublishedAdvice(npe)), true
	case err != nil:
		o := commandsOutcome(expected, c.Container, err)
		if o.Status == StatusFail && !errors.Is(err, ErrNotExist) {
			o.Detail = p.logs()
		}
		return "", o, true
	}
	return addr, Outcome{}, false
}

// notPublishedAdvice says how to publish the host port a check asked for.
func notPublishedAdvice(e *NotPublishedError) string {
	for _, b := range e.Ports {
		if b.ContainerPort == e.HostPort && b.HostPort != e.HostPort {
			return fmt.Sprintf("publish it with -p %d:%d: HOST:CONTAINER, the host port comes first", e.HostPort, b.HostPort)
		}
	}
	if len(e.Ports) == 1 {
		return fmt.Sprintf("publish it with -p %d:%d: HOST:CONTAINER", e.HostPort, e.Ports[0].ContainerPort)
	}
	return fmt.Sprintf("publish it with -p %d:PORT: HOST:CONTAINER, PORT being the port the app listens on inside the container", e.HostPort)
}

// usesVars reports whether the expectation refers to ${variables}.
func (c *HTTP) usesVars() bool {
	return strings.Contains(c.Expect.BodyContains+deref(c.Expect.BodyEquals), "${hostname}")
}

// portKey names the port the check reaches, for the job's memo.
func (c *HTTP) portKey() string {
	if c.HostPort != 0 {
		return fmt.Sprintf("%s:host %d", c.name(), c.HostPort)
	}
	return fmt.Sprintf("%s:%d", c.Service, c.Port)
}

// deadKey names, in the job's memo, a port found not to answer.
func (c *HTTP) deadKey() string { return "http-dead " + c.portKey() }

// dead remembers a certain cause for a port that does not answer (the
// container exited, the app listens only on loopback or steadily on other
// ports), so that the job's next check on it reports the cause at once
// instead of waiting again. A mere timeout is not remembered: another path
// or a longer limit may still get an answer.
func (c *HTTP) dead(t Target, o Outcome) Outcome {
	if m, ok := t.(Memo); ok && o.Status == StatusFail {
		m.Remember(c.deadKey(), o)
	}
	return o
}

// silentKey names, in the job's memo, a port where nothing listened for a
// whole check.
func (c *HTTP) silentKey() string { return "http-silent " + c.portKey() }

// knownSilent reports a port on which an earlier check of the job found
// nothing listening after waiting its whole time limit.
func (c *HTTP) knownSilent(t Target) (Outcome, bool) { return recall(t, c.silentKey()) }

// knownDead reports what an earlier check of the job found on this port.
func (c *HTTP) knownDead(t Target, expected string) (Outcome, bool) {
	prev, ok := recall(t, c.deadKey())
	if !ok {
		return Outcome{}, false
	}
	o := Fail(expected, prev.Actual, prev.Message)
	o.Detail = prev.Detail
	return o, true
}

// recall returns the outcome an earlier check of the job remembered under key.
func recall(t Target, key string) (Outcome, bool) {
	m, ok := t.(Memo)
	if !ok {
		return Outcome{}, false
	}
	v, ok := m.Recall(key)
	if !ok {
		return Outcome{}, false
	}
	o, ok := v.(Outcome)
	return o, ok
}

// send makes one request.
func (c *HTTP) send(ctx context.Context, client *http.Client, url string) answer {
	rctx, cancel := context.WithTimeout(ctx, httpRequestMax)
	defer cancel()
	var rb io.Reader
	if c.Body != "" {
		rb = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(rctx, c.method(), url, rb)
	if err != nil {
		return answer{err: err}
	}
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: simplifyNetErr(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, httpBodyLimit))
	if err != nil {
		return answer{err: simplifyNetErr(err)}
	}
	return answer{status: resp.StatusCode, body: string(b)}
}

// simplifyNetErr drops Go's request wrapping: "connection refused", "EOF".
func simplifyNetErr(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the connection was closed without an answer")
	case errors.Is(err, context.DeadlineExceeded):
		return errors.New("no answer within " + httpRequestMax.String())
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err
	}
	return err
}

// judge returns "" when the answer meets the expectation.
func (c *HTTP) judge(a answer, body TextExpect) string {
	if a.status != c.status() {
		return fmt.Sprintf("the status is %d, not %d", a.status, c.status())
	}
	return body.check("the body", a.body)
}

// more sends the repeated requests after a first good answer.
func (c *HTTP) more(ctx context.Context, client *http.Client, url string, body TextExpect, first answer, expected string) Outcome {
	if c.repeat() == 1 {
		return Pass(expected, first.String())
	}
	var re *regexp.Regexp
	if c.Expect.Increasing {
		re = regexp.MustCompile(c.Expect.BodyMatches) // validated at load
	}
	count := func(a answer) (int, bool) {
		m := re.FindStringSubmatch(a.body)
		if m == nil {
			return 0, false
		}
		n, err := strconv.Atoi(m[1])
		return n, err == nil
	}
	var seen []string
	prev, last := 0, first
	if re != nil {
		n, ok := count(first)
		if !ok {
			return Fail(expected, first.String(), "the body has no number where body_matches captures one")
		}
		prev = n
		seen = append(seen, strconv.Itoa(n))
	}
	for i := 1; i < c.repeat(); i++ {
		a := c.send(ctx, client, url)
		if a.err != nil {
			return Fail(expected, fmt.Sprintf("request %d of %d: %s", i+1, c.repeat(), a), "the app stopped answering")
		}
		if msg := c.judge(a, body); msg != "" {
			return Fail(expected, fmt.Sprintf("request %d of %d: %s", i+1, c.repeat(), a), msg)
		}
		last = a
		if re != nil {
			n, ok := count(a)
			seen = append(seen, strconv.Itoa(n))
			if !ok || n <= prev {
				return Fail(expected, "counts "+strings.Join(seen, ", "),
					"the count did not grow from one request to the next")
			}
			prev = n
		}
	}
	if re != nil {
		return Pass(expected, "counts "+strings.Join(seen, ", "))
	}
	return Pass(expected, last.String())
}

// poller holds what the readiness loop learnt about a silent container.
type poller struct {
	c   *HTTP
	t   Target
	ctx context.Context
	// name is the container; port the container port the requests reach
	// (0: not known), hostPort the student's host port (commands stack).
	name      string
	port      int
	hostPort  int
	start     time.Time
	deadline  time.Time
	lastProbe time.Time
	elsewhere time.Time  // when the app was first seen listening on other ports
	listeners []Listener // the last look inside
	probed    bool
}

// diagnose looks inside a container that does not answer. It returns done
// when the cause is certain: the container exited, or the app listens only on
// loopback, or steadily on other ports.
func (p *poller) diagnose(expected string, a answer) (Outcome, bool) {
	if time.Since(p.lastProbe) < httpProbeEvery && !p.lastProbe.IsZero() {
		return Outcome{}, false
	}
	if time.Since(p.start) < httpPollMax {
		return Outcome{}, false // give the app its first second
	}
	p.lastProbe = time.Now()
	if ci, ok := p.t.(ContainerInspector); ok {
		st, err := ci.State(p.ctx, p.name)
		if err == nil && !st.Running {
			return p.exited(expected, st), true
		}
	}
	lp, ok := p.t.(ListenerProber)
	if !ok || p.port == 0 {
		return Outcome{}, false
	}
	ls, err := lp.Listeners(p.ctx, p.name)
	if err != nil {
		return Outcome{}, false
	}
	p.listeners, p.probed = ls, true
	var onPort, loopback bool
	for _, l := range ls {
		if l.Port != p.port {
			continue
		}
		onPort = true
		if isLoopback(l.Addr) {
			loopback = true
		} else {
			return Outcome{}, false // listening properly: just not ready yet
		}
	}
	switch {
	case onPort && loopback:
		o := Fail(expected, a.String()+"; inside the container: "+showListeners(ls), loopbackMessage(ls, p.port))
		o.Detail = p.logs()
		return o, true
	case len(ls) > 0:
		if p.elsewhere.IsZero() {
			p.elsewhere = time.Now()
		} else if time.Since(p.elsewhere) >= httpWrongPortOK {
			o := Fail(expected, a.String()+"; inside the container: "+showListeners(ls), p.wrongPort(ls))
			o.Detail = p.logs()
			return o, true
		}
	}
	return Outcome{}, false
}

// giveUp reports a container that never answered.
func (p *poller) giveUp(expected string, a answer) Outcome {
	actual := fmt.Sprintf("%s (waited %s)", a, time.Since(p.start).Round(time.Second))
	// A fresh context: the check's own may be spent.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), httpReserve)
	defer cancel()
	p.ctx = ctx
	if ci, ok := p.t.(ContainerInspector); ok {
		if st, err := ci.State(ctx, p.name); err == nil && !st.Running {
			return p.exited(expected, st)
		}
	}
	if lp, ok := p.t.(ListenerProber); ok {
		if ls, err := lp.Listeners(ctx, p.name); err == nil {
			p.listeners, p.probed = ls, true
		}
	}
	msg := "the app did not answer in time"
	silent := false
	if p.probed {
		ls := p.listeners
		actual += "; inside the container: " + showListeners(ls)
		switch {
		case len(ls) == 0 && p.port == 0:
			msg = "nothing listens inside the container: the app did not open a port"
			silent = true
		case len(ls) == 0:
			msg = fmt.Sprintf("nothing listens inside the container: the app did not open port %d", p.port)
			silent = true
		case p.port == 0:
		case listensOn(ls, p.port, false):
			msg = fmt.Sprintf("the app listens on port %d but did not answer HTTP in time", p.port)
		case listensOn(ls, p.port, true):
			msg = loopbackMessage(ls, p.port)
		default:
			msg = p.wrongPort(ls)
		}
	}
	o := Fail(expected, actual, msg)
	o.Detail = p.logs()
	if m, ok := p.t.(Memo); ok && silent {
		m.Remember(p.c.silentKey(), o)
	}
	return o
}

// exited reports a container that stopped.
func (p *poller) exited(expected string, st ContainerState) Outcome {
	actual := fmt.Sprintf("the container exited with code %d", st.ExitCode)
	keep := "keep running and listen on port " + strconv.Itoa(p.port)
	if p.port == 0 {
		keep = "keep running"
	}
	msg := "the app must " + keep
	if st.OOMKilled {
		actual = "the container was " + OOMMessage(st.MemoryLimit)
		msg = fmt.Sprintf("the app used more memory than the sandbox allows (%s); it must %s", Size(st.MemoryLimit), keep)
	}
	o := Fail(expected, actual, msg)
	o.Detail = p.logs()
	return o
}

// logs returns the tail of the container's log for the feedback.
func (p *poller) logs() string {
	ci, ok := p.t.(ContainerInspector)
	if !ok {
		return ""
	}
	s, err := ci.Logs(p.ctx, p.name, 64<<10)
	if err != nil || strings.TrimSpace(s) == "" {
		return ""
	}
	return "container log:\n" + logTail(s, 10)
}

func isLoopback(addr string) bool {
	ip := net.ParseIP(addr)
	return ip != nil && ip.IsLoopback()
}

// listensOn reports a listener on port, on loopback or not.
func listensOn(ls []Listener, port int, loopback bool) bool {
	for _, l := range ls {
		if l.Port == port && isLoopback(l.Addr) == loopback {
			return true
		}
	}
	return false
}

func showListener(l Listener) string {
	return net.JoinHostPort(l.Addr, strconv.Itoa(l.Port))
}

// showListeners lists the sockets, e.g. "listening on 127.0.0.1:3000".
func showListeners(ls []Listener) string {
	if len(ls) == 0 {
		return "nothing listening"
	}
	s := make([]string, 0, len(ls))
	for _, l := range ls {
		s = append(s, showListener(l))
	}
	sort.Strings(s)
	return "listening on " + strings.Join(s, ", ")
}

func loopbackMessage(ls []Listener, port int) string {
	addr := "127.0.0.1"
	for _, l := range ls {
		if l.Port == port && isLoopback(l.Addr) {
			addr = showListener(l)
			break
		}
	}
	return fmt.Sprintf("the app listens on %s, an address reachable only from inside the container; "+
		"bind 0.0.0.0 (all interfaces) so the published port reaches it", addr)
}

// wrongPort explains an app listening on other ports than the one the
// requests reach: in a commands stack the one the student's -p names.
func (p *poller) wrongPort(ls []Listener) string {
	if p.hostPort == 0 {
		return wrongPortMessage(ls, p.port)
	}
	fix := "publish the port it listens on"
	var open []int
	for _, l := range ls {
		if !isLoopback(l.Addr) && !slices.Contains(open, l.Port) {
			open = append(open, l.Port)
		}
	}
	if len(open) == 1 {
		fix += fmt.Sprintf(" (-p %d:%d)", p.hostPort, open[0])
	}
	return fmt.Sprintf("nothing listens on port %d inside the container, where -p %d:%d sends the requests; the app is %s — %s",
		p.port, p.hostPort, p.port, showListeners(ls), fix)
}

func wrongPortMessage(ls []Listener, port int) string {
	return fmt.Sprintf("nothing listens on port %d inside the container; the app is %s — "+
		"make the app and EXPOSE use port %d", port, showListeners(ls), port)
}
