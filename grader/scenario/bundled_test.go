package scenario_test

import (
	"bytes"
	"io/fs"
	"testing"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/gradeproject/grade/grader/scenario"
	"github.com/gradeproject/grade/scenarios"
)

// TestBundledScenariosMatchSchema validates every bundled scenario against the
// published JSON Schema (what editors use), independently of the loader.
func TestBundledScenariosMatchSchema(t *testing.T) {
	b, err := scenario.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := sjs.NewCompiler()
	if err := c.AddResource("scenario.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(scenarios.FS, "*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bundled scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			data, err := fs.ReadFile(scenarios.FS, f)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := yaml.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(v); err != nil {
				t.Errorf("%s does not match the schema: %v", f, err)
			}
			if _, err := scenario.Parse(f, data); err != nil {
				t.Errorf("%s does not load: %v", f, err)
			}
		})
	}
	var bad any
	_ = yaml.Unmarshal([]byte("version: 1\nid: x\nchapter: 1\ntitle: t\nstack: {image: {}}\nchecks: [{id: a, kind: http, points: 1, prot: 80}]\n"), &bad)
	if err := s.Validate(bad); err == nil {
		t.Error("the schema accepted an unknown key: it cannot fail")
	}
}
