package scenario

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/invopop/jsonschema"
	sjs "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gradeproject/grade/checks"
)

// schemaURL names the generated schema for the validator.
const schemaURL = "https://grade.invalid/scenario-v1.schema.json"

var (
	textT     = reflect.TypeFor[checks.Text]()
	durationT = reflect.TypeFor[checks.Duration]()
	sizeT     = reflect.TypeFor[checks.Size]()
	checkT    = reflect.TypeFor[CheckSpec]()
)

// reflector turns Go types into schemas: YAML key names, required fields from
// `jsonschema:"required"` tags, no unknown keys, our own scalar types mapped.
func reflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		DoNotReference:             true,
		ExpandedStruct:             true,
		Anonymous:                  true,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			switch t {
			case textT:
				return &jsonschema.Schema{
					Description: "text in one language, or {en: …, zh: …}",
					AnyOf: []*jsonschema.Schema{
						{Type: "string"},
						{Type: "object", PatternProperties: map[string]*jsonschema.Schema{"^(en|zh)$": {Type: "string"}},
							AdditionalProperties: jsonschema.FalseSchema},
					},
				}
			case durationT:
				return &jsonschema.Schema{Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`,
					Description: "a duration like 30s, 2m or 1m30s"}
			case sizeT:
				return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{{Type: "integer", Minimum: "0"},
					{Type: "string", Pattern: `^[0-9]+(\.[0-9]+)?\s*([kKmMgGtT]i?[bB]?|[bB])?$`}},
					Description: "a size like 200MB or 1GiB"}
			case checkT:
				return &jsonschema.Schema{Ref: "#/$defs/check"}
			}
			return nil
		},
	}
}

// toMap reflects t and returns the schema as a generic JSON value.
func toMap(r *jsonschema.Reflector, t reflect.Type) (map[string]any, error) {
	s := r.ReflectFromType(t)
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "$schema")
	delete(m, "$id")
	return m, nil
}

// generated is the schema and, per check kind, the keys its checks accept.
type generated struct {
	doc       map[string]any
	kindKeys  map[string][]string
	compiled  *sjs.Schema
	jsonBytes []byte
}

var (
	genOnce sync.Once
	gen     generated
	genErr  error
)

// schema builds (once) the scenario schema from the Go types and Kinds.
func schema() (*generated, error) {
	genOnce.Do(func() { genErr = build(&gen) })
	return &gen, genErr
}

func build(g *generated) error {
	r := reflector()
	root, err := toMap(r, reflect.TypeFor[Scenario]())
	if err != nil {
		return err
	}
	common, err := toMap(r, reflect.TypeFor[Common]())
	if err != nil {
		return err
	}
	commonProps := common["properties"].(map[string]any)
	kinds := make([]string, 0, len(checks.Kinds))
	for k := range checks.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	g.kindKeys = map[string][]string{}
	var branches []any
	for _, k := range kinds {
		spec, err := toMap(r, reflect.TypeOf(checks.Kinds[k]()).Elem())
		if err != nil {
			return err
		}
		merged := map[string]any{}
		for n, p := range commonProps {
			merged[n] = p
		}
		specProps, _ := spec["properties"].(map[string]any)
		for n, p := range specProps {
			if _, clash := merged[n]; clash {
				return fmt.Errorf("check kind %s: key %s clashes with a common check key", k, n)
			}
			merged[n] = p
		}
		keys := make([]string, 0, len(merged))
		for n := range merged {
			keys = append(keys, n)
		}
		sort.Strings(keys)
		g.kindKeys[k] = keys
		then := map[string]any{"properties": merged, "additionalProperties": false}
		if req, ok := spec["required"].([]any); ok && len(req) > 0 {
			then["required"] = req
		}
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"kind": map[string]any{"const": k}}, "required": []any{"kind"}},
			"then": then,
		})
	}
	kindEnum := make([]any, len(kinds))
	for i, k := range kinds {
		kindEnum[i] = k
	}
	commonProps["kind"] = map[string]any{"enum": kindEnum}
	check := map[string]any{
		"type":       "object",
		"required":   common["required"],
		"properties": map[string]any{"kind": commonProps["kind"], "id": commonProps["id"]},
		"allOf":      branches,
	}
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = schemaURL
	root["title"] = "grade scenario, version 1"
	root["$defs"] = map[string]any{"check": check}
	g.doc = root
	if g.jsonBytes, err = json.MarshalIndent(root, "", "  "); err != nil {
		return err
	}
	c := sjs.NewCompiler()
	if err := c.AddResource(schemaURL, root); err != nil {
		return fmt.Errorf("adding the scenario schema: %w", err)
	}
	if g.compiled, err = c.Compile(schemaURL); err != nil {
		return fmt.Errorf("compiling the scenario schema: %w", err)
	}
	return nil
}

// JSONSchema returns the scenario file's JSON Schema, generated from the Go
// types and every check kind, for editors and for validation.
func JSONSchema() ([]byte, error) {
	g, err := schema()
	if err != nil {
		return nil, err
	}
	return g.jsonBytes, nil
}
