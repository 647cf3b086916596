package checks

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/docker/go-units"
	"go.yaml.in/yaml/v3"
)

// Text is a message in English and Chinese. In a scenario it is either one
// string (used for both) or a mapping {en: …, zh: …}.
type Text struct {
	EN string `yaml:"en" json:"en,omitempty"`
	ZH string `yaml:"zh" json:"zh,omitempty"`
}

// UnmarshalYAML accepts a plain string or an {en, zh} mapping.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		t.EN, t.ZH = n.Value, n.Value
		return nil
	}
	type plain Text
	return n.Decode((*plain)(t))
}

// In returns the text in lang ("en", "zh", "zh_CN.UTF-8", …), falling back
// to the other language when that one is empty.
func (t Text) In(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "zh") {
		if t.ZH != "" {
			return t.ZH
		}
		return t.EN
	}
	if t.EN != "" {
		return t.EN
	}
	return t.ZH
}

// IsZero reports whether the text is empty in both languages.
func (t Text) IsZero() bool { return t.EN == "" && t.ZH == "" }

// Duration is a time.Duration written as "30s", "2m", "1m30s" in scenarios.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s or 2m", n.Value)
	}
	if v <= 0 {
		return fmt.Errorf("%q must be positive", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as its string form.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Size is a byte count written as "200MB", "1.5GiB" or a plain number.
type Size int64

// UnmarshalYAML parses a human size: decimal (MB) or binary (MiB) units.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := units.FromHumanSize(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a size like 200MB or 1GiB", n.Value)
	}
	*s = Size(v)
	return nil
}

// String shows the size the way docker images does.
func (s Size) String() string { return units.HumanSize(float64(s)) }
