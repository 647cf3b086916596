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
	v, err := ParseSize(n.Value)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSize reads a human size: "200MB" is decimal, "256MiB" binary, a plain
// number bytes.
func ParseSize(text string) (Size, error) {
	t := strings.TrimSpace(text)
	parse := units.FromHumanSize
	if strings.Contains(strings.ToLower(t), "i") {
		parse = units.RAMInBytes
	}
	v, err := parse(t)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size like 200MB or 1GiB", text)
	}
	return Size(v), nil
}

// String shows the size in binary units when it is a whole number of them
// (512MiB), else the way docker images does (1.2GB).
func (s Size) String() string {
	if s > 0 && s%(1<<20) == 0 {
		return binary(int64(s))
	}
	return units.HumanSize(float64(s))
}

// binary writes a whole number of KiB, MiB or GiB.
func binary(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}
