package checks

// Kinds maps each check kind's name in a scenario (`kind:`) to a constructor
// of its zero spec. The scenario loader decodes a check's YAML keys into it.
var Kinds = map[string]func() Check{
	"build":      func() Check { return &Build{} },
	"compose-up": func() Check { return &ComposeUp{} },
	"exec":       func() Check { return &Exec{} },
	"file":       func() Check { return &FileCheck{} },
	"http":       func() Check { return &HTTP{} },
	"image":      func() Check { return &Image{} },
	"run":        func() Check { return &Run{} },
}
