package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gradeproject/grade/grader"
	"github.com/gradeproject/grade/grader/report"
	"github.com/gradeproject/grade/grader/scenario"
	"github.com/gradeproject/grade/scenarios"
)

func newCheck(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Grade one submission folder (a student's self-check)",
		Long: `check grades one folder against one scenario, the way the instructor will,
showing the visible checks with a hint and the course section for each
failure. DIR defaults to the current folder; the scenario defaults to the
folder's name when it is a scenario id.`,
		Example: `  grade check . --scenario ch04-first-dockerfile
  grade check submissions/alice/ch04-cmd-entrypoint --lang zh`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := bind(cmd)
			if err != nil {
				return err
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return usageErr("%v", err)
			}
			if st, err := os.Stat(abs); err != nil || !st.IsDir() {
				return usageErr("%s is not a folder", dir)
			}
			list, err := loadScenarios(o)
			if err != nil {
				return err
			}
			id := ""
			if len(o.ScenarioIDs) > 0 {
				id = o.ScenarioIDs[0]
			}
			if id == "" {
				id = filepath.Base(abs)
			}
			var sc *scenario.Scenario
			for _, s := range list {
				if s.ID == id {
					sc = s
				}
			}
			if sc == nil {
				ids := make([]string, len(list))
				for i, s := range list {
					ids[i] = s.ID
				}
				return usageErr("say which assignment this is: --scenario ID (one of %s)", strings.Join(ids, ", "))
			}
			student := filepath.Base(filepath.Dir(abs))
			return grade(cmd.Context(), o, []grader.Submission{{Student: student, Scenario: sc, Dir: abs}}, false, stdout, stderr)
		},
	}
	cmd.Flags().String("scenario", "", "the scenario id to grade against")
	addGradeFlags(cmd.Flags())
	return cmd
}

func newLint(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "lint",
		Short: "Validate scenario files without touching the engine",
		Long: `lint loads every scenario (the bundled ones, or --scenarios DIR) and reports
every problem as file:line:col: key: problem. It exits 78 when any file is
invalid.`,
		Example: `  grade lint
  grade lint --scenarios my-course/scenarios`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, list, err := bindAndLoad(cmd)
			if err != nil {
				return err
			}
			n := 0
			for _, s := range list {
				n += len(s.Checks)
			}
			fmt.Fprintf(stdout, "%d scenarios, %d checks: valid\n", len(list), n)
			return nil
		},
	}
}

func newList(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the scenarios",
		Example: "  grade list --lang zh",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, list, err := bindAndLoad(cmd)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSECTION\tCHECKS\tPOINTS\tTITLE")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%g\t%s\n", s.ID, s.Section, len(s.Checks), s.MaxPoints(true), s.Title.In(o.Lang))
			}
			return tw.Flush()
		},
	}
}

func newImages(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "images",
		Short: "List the base images the scenarios need and whether each is present",
		Long: `images lists the base images the scenarios' submissions build from (and the
helper image grade itself uses), and whether the engine has each. Missing
images are provided by 'make images' (images/prepare.sh), which pulls where
a registry answers and otherwise builds stand-ins from Debian packages.`,
		Example: "  grade images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, list, err := bindAndLoad(cmd)
			if err != nil {
				return err
			}
			users := imageUsers(list)
			refs := slices.Sorted(maps.Keys(users))
			eng, err := connect(cmd.Context(), &options{Quiet: true}, io.Discard, false)
			if err != nil {
				return err
			}
			defer func() { _ = eng.Close() }()
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "IMAGE\tPRESENT\tUSED BY")
			missing := 0
			for _, r := range refs {
				ok, err := eng.ImagePresent(cmd.Context(), r)
				if err != nil {
					return envErr(err)
				}
				mark := "yes"
				if !ok {
					mark, missing = "MISSING", missing+1
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r, mark, strings.Join(users[r], ", "))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if missing > 0 {
				fmt.Fprintf(stdout, "%d missing: run 'make images' (images/prepare.sh)\n", missing)
				return &exitError{code: exitEnvironment}
			}
			return nil
		},
	}
}

func newClean(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove what grade runs that died left on the engine",
		Long: `clean removes the containers, networks, volumes and images labelled
grade.managed=true that belong to runs whose process is gone (a run killed
with SIGKILL, a machine that rebooted). With --all it removes every object
grade made, also those of runs still going.`,
		Example: "  grade clean\n  grade clean --all",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := bind(cmd); err != nil {
				return err
			}
			all, _ := cmd.Flags().GetBool("all")
			eng, err := connect(cmd.Context(), &options{Quiet: true}, stderr, false)
			if err != nil {
				return err
			}
			defer func() { _ = eng.Close() }()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 5*time.Minute)
			defer cancel()
			r, err := eng.Sweep(ctx, all)
			fmt.Fprintf(stdout, "removed %s\n", r)
			if err != nil {
				return envErr(err)
			}
			return nil
		},
	}
	cmd.Flags().Bool("all", false, "remove every object labelled grade.managed, also of live runs")
	return cmd
}

// imageUsers maps each base image the scenarios build from (and grade's own
// helper image) to who uses it.
func imageUsers(list []*scenario.Scenario) map[string][]string {
	users := map[string][]string{"busybox:latest": {"grade (network helper)"}}
	for _, s := range list {
		for _, img := range s.Images {
			users[img] = append(users[img], s.ID)
		}
	}
	return users
}

func newVersion(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print grade's version, commit and bundled scenario set",
		Long: `version prints grade's version, the commit it was built from, the digest of
its bundled scenarios (two binaries with the same digest grade with the same
scenarios), the scenario format it reads, and the system it was built for.`,
		Example: "  grade version",
		Args:    cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(stdout, "grade %s\ncommit: %s\nscenarios: %s (%d bundled, format %d)\nbuilt with %s for %s/%s\n",
				gradeVersion(), gradeCommit(), scenarios.Digest(), bundledCount(), scenario.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}

// bundledCount is how many scenarios grade carries.
func bundledCount() int {
	names, _ := fs.Glob(scenarios.FS, "*.yaml")
	return len(names)
}

func newMerge(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "merge RESULTS.json...",
		Short: "Merge the JSON results of sharded runs into one report",
		Long: `merge reads the JSON results of runs that graded disjoint shares of a class
(grade --all --shard I/N -o json) and renders them as one run, on stdout and
in any --report files.`,
		Example: `  grade merge results-*.json
  grade merge results-*.json --report out/junit.xml --report out/grades.csv --report out/index.html -o table`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := bind(cmd)
			if err != nil {
				return err
			}
			var runs []*report.Run
			for _, a := range args {
				r, err := readRun(a)
				if err != nil {
					return usageErr("%s: %v", a, err)
				}
				runs = append(runs, r)
			}
			merged, err := report.Merge(runs)
			if err != nil {
				return usageErr("%v", err)
			}
			if err := render(stdout, o, merged); err != nil {
				return envErr(err)
			}
			if merged.Failed() {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	addGradeFlags(cmd.Flags())
	return cmd
}

func readRun(path string) (*report.Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return report.ReadJSON(f)
}

func newSchema(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files (for editor completion)",
		Long: `schema prints the JSON Schema of scenario files, generated from grade's own
types and check kinds; grade lint applies the same rules. Point your editor's
YAML support at it, e.g. with a first line
  # yaml-language-server: $schema=scenario.schema.json`,
		Example: "  grade schema > scenario.schema.json",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := scenario.JSONSchema()
			if err != nil {
				return envErr(err)
			}
			_, err = fmt.Fprintf(stdout, "%s\n", b)
			return err
		},
	}
}

// bindAndLoad binds the options of cmd and loads the scenarios they name.
func bindAndLoad(cmd *cobra.Command) (*options, []*scenario.Scenario, error) {
	o, err := bind(cmd)
	if err != nil {
		return nil, nil, err
	}
	list, err := loadScenarios(o)
	if err != nil {
		return nil, nil, err
	}
	return o, list, nil
}
