package engine

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// stackFiles are the files of each stack's job; every other file of the
// package is shared by the stacks (base, builder, the helper, the engine).
var stackFiles = map[string][]string{
	"image":    {"image.go", "start.go", "imagefs.go", "runvolume.go"},
	"compose":  {"compose.go", "vet.go"},
	"commands": {"commands.go"},
}

// TestStacksApart: no file of one stack's job uses what another stack's
// files declare (a function, type, variable or constant, or a method or
// field that only another stack has, through the receiver j): each stack's type owns its own
// state, and what stacks share lives in the shared files.
func TestStacksApart(t *testing.T) {
	fset := token.NewFileSet()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	stackOf := map[string]string{}
	for st, files := range stackFiles {
		for _, f := range files {
			stackOf[f] = st
		}
	}
	files := map[string]*ast.File{}
	decls := map[string]string{}            // top-level name → file
	members := map[string]map[string]bool{} // method or field name → files declaring it
	member := func(name, file string) {
		if members[name] == nil {
			members[name] = map[string]bool{}
		}
		members[name][file] = true
	}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = f
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil {
					member(d.Name.Name, p)
				} else {
					decls[d.Name.Name] = p
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						decls[sp.Name.Name] = p
						if st, ok := sp.Type.(*ast.StructType); ok {
							for _, fl := range st.Fields.List {
								for _, n := range fl.Names {
									member(n.Name, p)
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							decls[n.Name] = p
						}
					}
				}
			}
		}
	}
	for f := range stackOf {
		if files[f] == nil {
			t.Errorf("stackFiles names %s, which is not a file of the package", f)
		}
	}
	// foreign says whether a member is declared only by other stacks' files.
	foreign := func(name, st string) (string, bool) {
		var others []string
		for file := range members[name] {
			switch s, ok := stackOf[file]; {
			case !ok || s == st:
				return "", false
			default:
				others = append(others, file)
			}
		}
		sort.Strings(others)
		return strings.Join(others, ", "), len(others) > 0
	}
	for p, f := range files {
		st, ok := stackOf[p]
		if !ok {
			continue
		}
		seen := map[string]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				// A job's methods and fields, through its receiver (j,
				// by the package's convention).
				if x, ok := n.X.(*ast.Ident); !ok || x.Name != "j" {
					return true
				}
				if other, bad := foreign(n.Sel.Name, st); bad && !seen["."+n.Sel.Name] {
					seen["."+n.Sel.Name] = true
					t.Errorf("%s (%s stack) uses j.%s, which only %s declares", fset.Position(n.Pos()), st, n.Sel.Name, other)
				}
			case *ast.Ident:
				file, ok := decls[n.Name]
				if s, isStack := stackOf[file]; ok && isStack && s != st && !seen[n.Name] {
					seen[n.Name] = true
					t.Errorf("%s (%s stack) uses %s, which %s (%s stack) declares", fset.Position(n.Pos()), st, n.Name, file, s)
				}
			}
			return true
		})
	}
	// The test itself can fail: a compose file reaching for the image
	// stack's app container is caught.
	if _, bad := foreign("app", "compose"); !bad || slices.Contains(stackFiles["compose"], "image.go") {
		t.Error("the image stack's field app is not told apart from the compose stack's")
	}
}
