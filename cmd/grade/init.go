package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// scaffold is what `grade init` writes, relative to the target folder;
// ID is replaced by the scenario id.
var scaffold = map[string]string{
	"scenarios/ID.yaml": `# Scenario ID, written by grade init. Edit the title, the checks and the
# hints; 'grade lint --scenarios scenarios' validates it.
version: 1
id: ID
chapter: 4
section: "4.1"
title:
  en: Serve a static page with nginx
  zh: 使用 nginx 提供静态页面
description:
  en: Build FROM nginx:alpine an image that serves index.html on port 80.
  zh: 基于 nginx:alpine 构建镜像，在 80 端口提供 index.html。
requires: [Dockerfile, index.html]
images: [nginx:alpine]
stack:
  image: {build: .}
limits: {job: 2m}
checks:
  - id: builds
    kind: build
    title: {en: The image builds, zh: 镜像可以构建}
    points: 10
  - id: page-in-image
    kind: file
    title: {en: index.html is where nginx serves from, zh: index.html 位于 nginx 的网页目录}
    path: /usr/share/nginx/html/index.html
    expect: {contains: "Hello"}
    points: 30
    hint:
      en: COPY index.html /usr/share/nginx/html/
      zh: COPY index.html /usr/share/nginx/html/
    see: "4.1"
  - id: serves
    kind: http
    title: {en: The page is served on port 80, zh: 80 端口可以访问页面}
    port: 80
    expect: {status: 200, body_contains: "Hello"}
    points: 60
    hint:
      en: nginx serves /usr/share/nginx/html on port 80.
      zh: nginx 在 80 端口提供 /usr/share/nginx/html 目录。
    see: "4.1"
`,
	"submissions/example-correct/ID/Dockerfile": "FROM nginx:alpine\nCOPY index.html /usr/share/nginx/html/\n",
	"submissions/example-correct/ID/index.html": "<h1>Hello from Docker!</h1>\n",
	"submissions/example-broken/ID/Dockerfile":  "FROM nginx:alpine\n# Copied to the wrong folder: nginx does not serve from /app.\nCOPY index.html /app/\n",
	"submissions/example-broken/ID/index.html":  "<h1>Hello from Docker!</h1>\n",
}

func newInit(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init ID",
		Short: "Scaffold a new scenario with a correct and a broken sample submission",
		Long: `init writes scenarios/ID.yaml (an nginx static-page assignment to edit into
yours) and two sample submissions, submissions/example-correct/ID and
submissions/example-broken/ID, under --dir (default: the current folder).
It never overwrites a file.`,
		Example: `  grade init ch04-static-page
  grade lint --scenarios scenarios
  grade --all --scenarios scenarios --submissions submissions`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if !idRe.MatchString(id) {
				return usageErr("%q: a scenario id is lowercase letters, digits, '.', '_' and '-'", id)
			}
			dir, _ := cmd.Flags().GetString("dir")
			var written []string
			for rel := range scaffold {
				path := filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(rel, "ID", id)))
				if _, err := os.Stat(path); err == nil {
					return usageErr("%s exists; init never overwrites", path)
				}
				written = append(written, path)
			}
			for rel, content := range scaffold {
				path := filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(rel, "ID", id)))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return envErr(err)
				}
				if err := os.WriteFile(path, []byte(strings.ReplaceAll(content, "ID", id)), 0o644); err != nil {
					return envErr(err)
				}
			}
			sc := filepath.Join(dir, "scenarios")
			sub := filepath.Join(dir, "submissions")
			fmt.Fprintf(stdout, "wrote scenario %s with a correct and a broken sample:\n", id)
			for _, p := range sortedStrings(written) {
				fmt.Fprintf(stdout, "  %s\n", p)
			}
			fmt.Fprintf(stdout, "next:\n  grade lint --scenarios %s\n  grade --all --scenarios %s --submissions %s\n", sc, sc, sub)
			return nil
		},
	}
	cmd.Flags().String("dir", ".", "the folder to write into")
	return cmd
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
