package checks

// Kinds maps each check kind's name in a scenario (`kind:`) to a constructor
// of its zero spec. The scenario loader decodes a check's YAML keys into it.
var Kinds = map[string]func() Check{
	"build":        func() Check { return &Build{} },
	"compose-down": func() Check { return &ComposeDown{} },
	"compose-up":   func() Check { return &ComposeUp{} },
	"dockerfile":   func() Check { return &Dockerfile{} },
	"exec":         func() Check { return &Exec{} },
	"file":         func() Check { return &FileCheck{} },
	"http":         func() Check { return &HTTP{} },
	"image":        func() Check { return &Image{} },
	"logs":         func() Check { return &Logs{} },
	"persistence":  func() Check { return &Persistence{} },
	"rebuild":      func() Check { return &Rebuild{} },
	"registry":     func() Check { return &RegistryCheck{} },
	"run":          func() Check { return &Run{} },
	"script":       func() Check { return &Script{} },

	// What a student's docker commands made (a commands stack).
	"bind-mount": func() Check { return &BindMount{} },
	"container":  func() Check { return &Container{} },
	"dns":        func() Check { return &DNS{} },
	"lifecycle":  func() Check { return &LifecycleCheck{} },
	"network":    func() Check { return &NetworkCheck{} },
	"volume":     func() Check { return &VolumeCheck{} },

	// Image scanning (secrets.go, vulnerabilities.go).
	"secrets":         func() Check { return &Secrets{} },
	"vulnerabilities": func() Check { return &Vulnerabilities{} },
}
