package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/report"
)

// options is every setting, bound once from flags, GRADE_* environment
// variables and grade.yaml (in that order of precedence). Nothing below cmd
// reads viper.
type options struct {
	Scenarios   string
	Submissions string
	Output      string
	Reports     []reportTarget
	Lang        string
	NoColor     bool
	Quiet       bool
	Jobs        int
	Students    []string
	ScenarioIDs []string
	Only        []string
	Config      string
	// ShardI of ShardN (0 when not sharding).
	ShardI, ShardN int
	// Limits are the configured sandbox limits (zero fields: not set).
	Limits checks.Limits
	// Timeout bounds the whole run (0: none).
	Timeout time.Duration
}

// addGlobalFlags declares the flags shared by every command.
func addGlobalFlags(fs *pflag.FlagSet) {
	fs.String("scenarios", "", "read scenarios from this folder instead of the bundled ones")
	fs.String("config", "", "configuration file (default: ./grade.yaml when it exists)")
	fs.String("lang", "", "language of titles and hints: en or zh (default: from the locale)")
	fs.Bool("no-color", false, "no colours, even on a terminal (also NO_COLOR)")
	fs.Bool("quiet", false, "no progress lines on stderr")
}

// addGradeFlags declares the flags of commands that grade.
func addGradeFlags(fs *pflag.FlagSet) {
	fs.StringP("output", "o", "table", "what to print on stdout: "+strings.Join(report.Formats, ", "))
	fs.StringArray("report", nil, "also write the results to FILE[:FORMAT] (repeatable; the format defaults from the extension: .json .xml(junit) .csv .md .html)")
	fs.IntP("jobs", "j", 0, "jobs graded at once (default: the CPUs of this machine and of the engine, the fewer, at most 8)")
	fs.StringArray("limit", nil, "override a sandbox limit, KEY=VALUE (repeatable): "+strings.Join(checks.LimitKeys, ", ")+
		"; e.g. --limit memory=256MiB --limit build=2m (a scenario's own limits still win)")
	fs.Duration("timeout", 0, "time limit of the whole run, e.g. 30m; jobs not graded by then are reported as not graded (default: none)")
}

// bind reads the options of cmd from its flags, the environment and the
// configuration file.
func bind(cmd *cobra.Command) (*options, error) {
	v := viper.New()
	v.SetEnvPrefix("GRADE")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return nil, err
	}
	cfg := v.GetString("config")
	if cfg == "" {
		if _, err := os.Stat("grade.yaml"); err == nil {
			cfg = "grade.yaml"
		}
	}
	if cfg != "" {
		v.SetConfigFile(cfg)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			var nf viper.ConfigFileNotFoundError
			if errors.As(err, &nf) || os.IsNotExist(err) {
				return nil, usageErr("configuration file %s: not found", cfg)
			}
			return nil, usageErr("configuration file %s: %v", cfg, err)
		}
	}
	o := &options{
		Scenarios:   v.GetString("scenarios"),
		Submissions: v.GetString("submissions"),
		Output:      v.GetString("output"),
		Lang:        v.GetString("lang"),
		NoColor:     v.GetBool("no-color") || os.Getenv("NO_COLOR") != "",
		Quiet:       v.GetBool("quiet"),
		Jobs:        v.GetInt("jobs"),
		Students:    v.GetStringSlice("student"),
		ScenarioIDs: v.GetStringSlice("scenario"),
		Only:        v.GetStringSlice("job"),
		Config:      cfg,
	}
	if sh := v.GetString("shard"); sh != "" {
		i, n, err := parseShard(sh)
		if err != nil {
			return nil, usageErr("--shard %v", err)
		}
		o.ShardI, o.ShardN = i, n
	}
	if err := bindLimits(v, o); err != nil {
		return nil, err
	}
	if o.Lang == "" {
		o.Lang = localeLang()
	}
	if o.Lang != "en" && o.Lang != "zh" {
		return nil, usageErr("--lang %q: use en or zh", o.Lang)
	}
	if cmd.Flags().Lookup("output") != nil && !slices.Contains(report.Formats, o.Output) {
		return nil, usageErr("--output %q: use one of %s", o.Output, strings.Join(report.Formats, ", "))
	}
	for _, r := range v.GetStringSlice("report") {
		file, format, err := report.ParseTarget(r)
		if err != nil {
			return nil, usageErr("--report %v", err)
		}
		o.Reports = append(o.Reports, reportTarget{file: file, format: format})
	}
	if cmd.Flags().Lookup("jobs") != nil && o.Jobs < 0 {
		return nil, usageErr("--jobs %d: give 1 or more (0 picks from the CPUs)", o.Jobs)
	}
	return o, nil
}

// bindLimits reads the limits: the configuration file's limits mapping,
// GRADE_LIMITS_<KEY> variables, then --limit KEY=VALUE flags.
func bindLimits(v *viper.Viper, o *options) error {
	if cfg := v.Sub("limits"); cfg != nil {
		for _, k := range cfg.AllKeys() {
			if !slices.Contains(checks.LimitKeys, k) {
				return usageErr("configuration file %s: limits.%s: unknown limit (known: %s)", o.Config, k, strings.Join(checks.LimitKeys, ", "))
			}
		}
	}
	for _, k := range checks.LimitKeys {
		if val := v.GetString("limits." + k); val != "" {
			if err := o.Limits.Set(k, val); err != nil {
				return usageErr("limits.%v (configuration or GRADE_LIMITS_%s)", err, strings.ToUpper(k))
			}
		}
	}
	for _, kv := range v.GetStringSlice("limit") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return usageErr("--limit %q: write KEY=VALUE, e.g. memory=256MiB", kv)
		}
		if err := o.Limits.Set(k, val); err != nil {
			return usageErr("--limit %v", err)
		}
	}
	o.Timeout = v.GetDuration("timeout")
	if o.Timeout < 0 {
		return usageErr("--timeout %s: give a positive duration", o.Timeout)
	}
	return nil
}

// parseShard reads "I/N" with 1 ≤ I ≤ N.
func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("%q: write I/N with 1 ≤ I ≤ N, e.g. 1/4", s)
	}
	return i, n, nil
}

// reportTarget is a file to write the results to, in a format.
type reportTarget struct{ file, format string }

// localeLang picks zh when the locale is Chinese, else en.
func localeLang() string {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(k); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "zh") {
				return "zh"
			}
			return "en"
		}
	}
	return "en"
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
