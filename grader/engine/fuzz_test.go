package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// FuzzDockerfile feeds grade's Dockerfile handling arbitrary Dockerfiles:
// the LABEL line grade appends must become one instruction of its own and
// leave the student's instructions as they were; blaming a line and showing
// an excerpt must stay within the file and never panic.
func FuzzDockerfile(f *testing.F) {
	seeds, _ := filepath.Glob("../../submissions/*/*/Dockerfile")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, 2)
		}
	}
	f.Add([]byte("FROM busybox\nRUN echo \\\n"), 2)
	f.Add([]byte("# escape=`\nFROM busybox\nRUN echo `\n"), 3)
	f.Add([]byte("FROM busybox\nRUN <<EOF\necho hi\n"), 2)
	labels := map[string]string{LabelManaged: "true", LabelRun: "r", LabelJob: "s/x"}
	f.Fuzz(func(t *testing.T, df []byte, step int) {
		lines := strings.Count(string(df), "\n") + 1
		dir := t.TempDir()
		path := filepath.Join(dir, "Dockerfile")
		if err := os.WriteFile(path, df, 0o644); err != nil {
			t.Fatal(err)
		}
		log := "Step " + strconv.Itoa(step) + "/9 : RUN x\n"
		for _, msg := range []string{"dockerfile parse error line " + strconv.Itoa(step) + ": unknown instruction: X", "returned a non-zero code: 1"} {
			n := blameLine(msg, log, path)
			if n < 0 || (n > lines && !strings.Contains(msg, "parse error")) {
				t.Fatalf("blamed line %d of %d", n, lines)
			}
			_ = excerpt(df, n, "Dockerfile")
		}
		if !canAppend(df) {
			return
		}
		before, err := parser.Parse(bytes.NewReader(df))
		if err != nil {
			return // the engine will say what is wrong
		}
		after, err := parser.Parse(bytes.NewReader(append(append([]byte(nil), df...), labelLine(labels)...)))
		if err != nil {
			t.Fatalf("appending the LABEL line broke a Dockerfile that parsed: %v", err)
		}
		b, a := before.AST.Children, after.AST.Children
		if len(a) != len(b)+1 {
			t.Fatalf("%d instructions became %d with the LABEL line", len(b), len(a))
		}
		for i := range b {
			if b[i].Original != a[i].Original {
				t.Fatalf("instruction %d changed: %q became %q", i+1, b[i].Original, a[i].Original)
			}
		}
		if last := a[len(a)-1]; !strings.EqualFold(last.Value, "label") {
			t.Fatalf("the last instruction is %q, not grade's LABEL", last.Original)
		}
	})
}

// FuzzVetCompose feeds the compose vetting arbitrary files. It must never
// panic or hang, must say why whenever it gives no project, and whatever it
// accepts must be free of the options the sandbox refuses.
func FuzzVetCompose(f *testing.F) {
	seeds, _ := filepath.Glob("../../submissions/*/*/compose.yaml")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(goodCompose))
	f.Add([]byte("services:\n  a: &a\n    image: x\n  b: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, refused, err := VetCompose(context.Background(), dir, "compose.yaml", "grade-fuzz", testImages)
		if err != nil {
			t.Fatalf("grade's own error on a student's file: %v", err)
		}
		if p == nil && len(refused) == 0 {
			t.Fatal("no project and no reason")
		}
		if len(refused) > 0 {
			return
		}
		for name, s := range p.Services {
			if s.Privileged || s.NetworkMode == "host" || s.Pid == "host" || s.Ipc == "host" || len(s.CapAdd) > 0 || len(s.Devices) > 0 {
				t.Fatalf("service %s was accepted with a refused option: %+v", name, s)
			}
			for _, v := range s.Volumes {
				if v.Type == "bind" && !inside(dir, v.Source) {
					t.Fatalf("service %s was accepted with a host mount %s", name, v.Source)
				}
			}
		}
	})
}
