package scenario

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/gradeproject/grade/checks"
)

// Limits on what a scenario file may be.
const (
	// MaxFileSize caps a scenario file's size.
	MaxFileSize = 1 << 20
	// MaxValues caps how many values a file may expand to, aliases
	// included: a YAML bomb is an error, not an out-of-memory.
	MaxValues = 100_000
	// MaxDepth caps how deep a file's mappings and lists may nest.
	MaxDepth = 64
)

// Load reads every *.yaml and *.yml file at the top of fsys. Names in
// messages are prefixed with prefix (e.g. "scenarios/"). It returns Errors
// when any file is invalid; nothing is returned half-checked.
func Load(fsys fs.FS, prefix string) ([]*Scenario, error) {
	var names []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := fs.Glob(fsys, pat)
		if err != nil {
			return nil, err
		}
		names = append(names, m...)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, Errors{{File: strings.TrimSuffix(prefix, "/"), Msg: "no scenario files (*.yaml) here"}}
	}
	var all Errors
	var out []*Scenario
	byID := map[string]*Scenario{}
	for _, n := range names {
		s, err := readFile(fsys, n, prefix+n)
		if err != nil {
			var es Errors
			if errors.As(err, &es) {
				all = append(all, es...)
				continue
			}
			return nil, err
		}
		if prev, dup := byID[s.ID]; dup {
			all = append(all, &Error{File: s.File, Line: 1, Col: 1, Key: "id",
				Msg: fmt.Sprintf("%q is also the id of %s", s.ID, prev.File)})
			continue
		}
		byID[s.ID] = s
		out = append(out, s)
	}
	if len(all) > 0 {
		return nil, all.sorted()
	}
	return out, nil
}

func readFile(fsys fs.FS, name, shown string) (*Scenario, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", shown, err)
	}
	if len(data) > MaxFileSize {
		return nil, Errors{{File: shown, Msg: fmt.Sprintf("the file is larger than %d KiB", MaxFileSize>>10)}}
	}
	return Parse(shown, data)
}

// Parse reads one scenario file's content. name is used in messages. The
// error, when not nil, is Errors.
func Parse(name string, data []byte) (*Scenario, error) {
	s, err := parse(name, data)
	var es Errors
	if errors.As(err, &es) {
		// At the end of the file the parser names the line after the last.
		last := lineCount(data)
		for _, e := range es {
			if e.Line > last {
				e.Line = last
			}
		}
	}
	return s, err
}

func parse(name string, data []byte) (*Scenario, error) {
	g, err := schema()
	if err != nil {
		return nil, err
	}
	d := &doc{file: name, values: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}, budget: MaxValues}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{yamlError(name, err)}
	}
	if len(root.Content) == 0 {
		return nil, Errors{{File: name, Line: 1, Col: 1, Msg: "the file is empty"}}
	}
	top := root.Content[0]
	value, perr := d.value(top, nil)
	if perr != nil {
		return nil, Errors{perr}
	}
	if err := g.compiled.Validate(value); err != nil {
		var ve *sjs.ValidationError
		if !errors.As(err, &ve) {
			return nil, fmt.Errorf("validating %s: %w", name, err)
		}
		return nil, d.schemaErrors(ve, g, value).sorted()
	}
	s := &Scenario{File: name}
	if err := top.Decode(s); err != nil {
		return nil, Errors{d.decodeError(err)}
	}
	sum := sha256.Sum256(data)
	s.Digest = "sha256:" + hex.EncodeToString(sum[:])
	if es := d.semantic(s); len(es) > 0 {
		return nil, es.sorted()
	}
	return s, nil
}

// UnmarshalYAML decodes the common keys, then the kind's own keys into a
// fresh spec of that kind. The schema has already refused unknown keys.
func (c *CheckSpec) UnmarshalYAML(n *yaml.Node) error {
	if err := n.Decode(&c.Common); err != nil {
		return err
	}
	mk, ok := checks.Kinds[c.Kind]
	if !ok {
		return fmt.Errorf("unknown check kind %q", c.Kind)
	}
	c.Check = mk()
	c.Line, c.Column = n.Line, n.Column
	return n.Decode(c.Check)
}

// doc maps a parsed file's values back to their positions.
type doc struct {
	file   string
	values map[string]*yaml.Node // instance location → value node
	keys   map[string]*yaml.Node // instance location → key node
	budget int
	// expanding holds the anchors whose aliases are being expanded.
	expanding map[*yaml.Node]bool
}

func locKey(segs []string) string { return strings.Join(segs, "\x00") }

// value converts a YAML node to the generic value the validator reads,
// recording positions and expanding aliases within the budget.
func (d *doc) value(n *yaml.Node, segs []string) (any, *Error) {
	d.budget--
	if d.budget < 0 {
		return nil, d.at(n, segs, fmt.Sprintf("the file expands to more than %d values (aliases referring to aliases?); refused", MaxValues))
	}
	if len(segs) > MaxDepth {
		return nil, d.at(n, segs[:MaxDepth], fmt.Sprintf("the file nests deeper than %d levels; refused", MaxDepth))
	}
	k := locKey(segs)
	if _, seen := d.values[k]; !seen {
		d.values[k] = n
	}
	switch n.Kind {
	case yaml.AliasNode:
		if d.expanding[n.Alias] {
			return nil, d.at(n, segs, fmt.Sprintf("the alias *%s refers to itself; refused", n.Value))
		}
		if d.expanding == nil {
			d.expanding = map[*yaml.Node]bool{}
		}
		d.expanding[n.Alias] = true
		defer delete(d.expanding, n.Alias)
		return d.value(n.Alias, segs)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind != yaml.ScalarNode {
				return nil, d.at(kn, segs, "keys must be plain words")
			}
			if kn.Value == "<<" {
				return nil, d.at(kn, segs, "merge keys (<<) are not supported; write the keys out")
			}
			if _, dup := m[kn.Value]; dup {
				return nil, d.at(kn, append(segs, kn.Value), "this key appears twice in the same mapping")
			}
			child := append(append([]string(nil), segs...), kn.Value)
			d.keys[locKey(child)] = kn
			v, err := d.value(vn, child)
			if err != nil {
				return nil, err
			}
			m[kn.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := d.value(c, append(append([]string(nil), segs...), strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err == nil {
				return b, nil
			}
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return i, nil
			}
		case "!!float":
			var f float64
			if err := n.Decode(&f); err == nil {
				return f, nil
			}
		}
		return n.Value, nil
	}
	return nil, d.at(n, segs, "unexpected YAML node")
}

// at makes an error at a node.
func (d *doc) at(n *yaml.Node, segs []string, msg string) *Error {
	e := &Error{File: d.file, Key: d.keyName(segs), Msg: msg}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

// keyName shows a location as a YAML path: checks[2].expect.status.
func (d *doc) keyName(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if parent, ok := d.values[locKey(segs[:i])]; ok && parent.Kind == yaml.SequenceNode {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// node returns the closest recorded node for a location: the key node when
// asked and present, else the value node, else the nearest parent's.
func (d *doc) node(segs []string, preferKey bool) *yaml.Node {
	if preferKey {
		if n, ok := d.keys[locKey(segs)]; ok {
			return n
		}
	}
	for i := len(segs); i >= 0; i-- {
		if n, ok := d.values[locKey(segs[:i])]; ok {
			return n
		}
	}
	return nil
}

var printer = message.NewPrinter(language.English)

// schemaErrors turns a validation error tree into positioned messages.
func (d *doc) schemaErrors(ve *sjs.ValidationError, g *generated, value any) Errors {
	var out Errors
	var walk func(e *sjs.ValidationError)
	walk = func(e *sjs.ValidationError) {
		switch k := e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
			var real []*sjs.ValidationError
			var wants []string
			for _, c := range e.Causes {
				if t, ok := c.ErrorKind.(*kind.Type); ok {
					wants = append(wants, t.Want...)
					continue
				}
				real = append(real, c)
			}
			if len(real) == 0 {
				out = append(out, d.at(d.node(e.InstanceLocation, false), e.InstanceLocation,
					fmt.Sprintf("is %s; want %s", article(typeOf(lookup(value, e.InstanceLocation))), alternatives(wants))))
				return
			}
			for _, c := range real {
				walk(c)
			}
			return
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				segs := append(append([]string(nil), e.InstanceLocation...), p)
				known := d.allowed(g, value, e.InstanceLocation)
				msg := "unknown key"
				if s := suggest(p, known); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else if len(known) > 0 {
					msg += "; known keys: " + strings.Join(known, ", ")
				}
				out = append(out, d.at(d.node(segs, true), segs, msg))
			}
			return
		case *kind.Required:
			for _, m := range k.Missing {
				segs := append(append([]string(nil), e.InstanceLocation...), m)
				out = append(out, d.at(d.node(e.InstanceLocation, false), segs, "missing; this key is required here"))
			}
			return
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		out = append(out, d.at(d.node(e.InstanceLocation, false), e.InstanceLocation, leafMessage(e, value)))
	}
	walk(ve)
	return out
}

func leafMessage(e *sjs.ValidationError, value any) string {
	got := lookup(value, e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		return fmt.Sprintf("is %s; want %s", article(k.Got), alternatives(k.Want))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		loc := e.InstanceLocation
		if len(loc) == 3 && loc[0] == "checks" && loc[2] == "kind" {
			msg := fmt.Sprintf("unknown check kind %q", fmt.Sprint(got))
			if s := suggest(fmt.Sprint(got), want); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return msg + "; known kinds: " + strings.Join(want, ", ")
		}
		return fmt.Sprintf("%v is not one of: %s", got, strings.Join(want, ", "))
	case *kind.MinItems:
		if len(e.InstanceLocation) == 1 && e.InstanceLocation[0] == "checks" {
			return "the scenario has no checks; give at least one (a scenario with zero checks would pass anything)"
		}
	case *kind.Pattern:
		switch {
		case strings.Contains(k.Want, "ms|s|m|h"):
			return fmt.Sprintf("%q is not a duration like 30s, 2m or 1m30s", k.Got)
		case strings.Contains(k.Want, "[kKmMgGtT]"):
			return fmt.Sprintf("%q is not a size like 200MB or 1GiB", k.Got)
		case strings.HasPrefix(k.Want, "^[a-z0-9]"):
			return fmt.Sprintf("%q must be lowercase letters, digits, '.', '_' or '-'", k.Got)
		}
	}
	return e.ErrorKind.LocalizedString(printer)
}

// lookup returns the value at a location.
func lookup(v any, segs []string) any {
	for _, s := range segs {
		switch c := v.(type) {
		case map[string]any:
			v = c[s]
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	}
	return "number"
}

// article names a JSON type the way YAML authors think of it.
func article(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "string":
		return "text"
	case "integer":
		return "a whole number"
	case "number":
		return "a number"
	case "boolean":
		return "true/false"
	case "null":
		return "empty"
	}
	return t
}

func alternatives(types []string) string {
	seen := map[string]bool{}
	var s []string
	for _, t := range types {
		if a := article(t); !seen[a] {
			seen[a] = true
			s = append(s, a)
		}
	}
	return strings.Join(s, " or ")
}

// allowed lists the keys the schema accepts at a location.
func (d *doc) allowed(g *generated, value any, segs []string) []string {
	cur := g.doc
	isCheck := false
	for _, s := range segs {
		if ref, _ := cur["$ref"].(string); ref != "" {
			return nil
		}
		if p, ok := cur["properties"].(map[string]any); ok {
			if next, ok := p[s].(map[string]any); ok {
				cur, isCheck = next, false
				continue
			}
		}
		if items, ok := cur["items"].(map[string]any); ok {
			cur = items
			if ref, _ := cur["$ref"].(string); ref == "#/$defs/check" {
				isCheck = true
				cur = nil
				continue
			}
			continue
		}
		if isCheck {
			k, _ := lookup(value, segs[:2]).(map[string]any)["kind"].(string)
			return nestedKeys(g, k, segs[2:])
		}
		return nil
	}
	if isCheck {
		k, _ := lookup(value, segs).(map[string]any)["kind"].(string)
		return g.kindKeys[k]
	}
	return keysOf(cur)
}

// nestedKeys lists the keys accepted below a check of kind k, e.g. in expect.
func nestedKeys(g *generated, k string, segs []string) []string {
	defs := g.doc["$defs"].(map[string]any)["check"].(map[string]any)
	for _, b := range defs["allOf"].([]any) {
		br := b.(map[string]any)
		if br["if"].(map[string]any)["properties"].(map[string]any)["kind"].(map[string]any)["const"] != k {
			continue
		}
		cur := br["then"].(map[string]any)
		for _, s := range segs {
			p, _ := cur["properties"].(map[string]any)
			next, ok := p[s].(map[string]any)
			if !ok {
				return nil
			}
			cur = next
		}
		return keysOf(cur)
	}
	return nil
}

func keysOf(s map[string]any) []string {
	p, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeError positions an error from decoding into the Go types.
func (d *doc) decodeError(err error) *Error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return yamlError(d.file, errors.New(te.Errors[0]))
	}
	return &Error{File: d.file, Line: 1, Col: 1, Msg: err.Error()}
}

// yamlError turns yaml.v3's "yaml: line N: msg" into a positioned error.
func yamlError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file, Msg: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				e.Line, e.Col, e.Msg = n, 1, tail
			}
		}
	}
	if e.Line == 0 {
		e.Line, e.Col = 1, 1
	}
	return e
}

// lineCount counts lines as YAML does: "\n", "\r\n" and a lone "\r" each
// end one.
func lineCount(data []byte) int {
	return bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
}

// semantic checks what the schema cannot: each check's own rules, unique
// check ids, file paths.
func (d *doc) semantic(s *Scenario) Errors {
	var out Errors
	ids := map[string]int{}
	for i, c := range s.Checks {
		at := []string{"checks", strconv.Itoa(i)}
		if prev, dup := ids[c.ID]; dup {
			idAt := []string{at[0], at[1], "id"}
			out = append(out, d.at(d.node(idAt, false), idAt, fmt.Sprintf("%q is also the id of checks[%d]", c.ID, prev)))
		}
		ids[c.ID] = i
		if stacks := s.stackCount(); stacks == 1 {
			kindAt := []string{at[0], at[1], "kind"}
			if su, ok := c.Check.(checks.StackUser); ok {
				if want, have := su.Stack(), s.StackKind(); want != have {
					out = append(out, d.at(d.node(kindAt, false), kindAt,
						fmt.Sprintf("a %s check grades a %s stack, and this scenario's stack is %s", c.Kind, want, have)))
				}
			}
			if sc, ok := c.Check.(checks.StackChecker); ok {
				if err := sc.CheckStack(s.StackKind()); err != nil {
					out = append(out, d.fieldErr(at, err))
				}
			}
		}
		v, ok := c.Check.(checks.Validator)
		if !ok {
			continue
		}
		if err := v.Validate(); err != nil {
			out = append(out, d.fieldErr(at, err))
		}
	}
	for i, r := range s.Requires {
		if clean := path.Clean(r); path.IsAbs(r) || clean == ".." || strings.HasPrefix(clean, "../") {
			segs := []string{"requires", strconv.Itoa(i)}
			out = append(out, d.at(d.node(segs, false), segs, fmt.Sprintf("%q must be a path inside the submission", r)))
		}
	}
	switch s.stackCount() {
	case 0:
		out = append(out, d.at(d.node([]string{"stack"}, false), []string{"stack"},
			"say what the submission is: image (a Dockerfile), compose (a compose file) or commands (a script of docker commands)"))
	case 1:
	default:
		out = append(out, d.at(d.node([]string{"stack"}, false), []string{"stack"}, "give one of image, compose or commands, not several"))
	}
	if p := s.Stack.Compose; p != "" {
		if clean := path.Clean(p); path.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../") {
			segs := []string{"stack", "compose"}
			out = append(out, d.at(d.node(segs, false), segs, fmt.Sprintf("%q must be a path inside the submission", p)))
		}
	}
	if img := s.Stack.Image; img != nil {
		for key, p := range map[string]string{"build": img.Build, "dockerfile": img.Dockerfile} {
			if clean := path.Clean(p); p != "" && (path.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../")) {
				segs := []string{"stack", "image", key}
				out = append(out, d.at(d.node(segs, false), segs, fmt.Sprintf("%q must be a path inside the submission", p)))
			}
		}
	}
	return out
}

// stackCount is how many kinds of stack the scenario gives (one is right).
func (s *Scenario) stackCount() int {
	n := 0
	for _, given := range []bool{s.Stack.Image != nil, s.Stack.Compose != "", s.Stack.Commands != nil} {
		if given {
			n++
		}
	}
	return n
}

// fieldErr places a check's error (a *checks.FieldError names the key
// below the check at at) in the file.
func (d *doc) fieldErr(at []string, err error) *Error {
	var fe *checks.FieldError
	if errors.As(err, &fe) {
		segs := append([]string{at[0], at[1]}, strings.Split(fe.Field, ".")...)
		return d.at(d.node(segs, false), segs, fe.Msg)
	}
	return d.at(d.node(at, false), at, err.Error())
}
