package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// ReadJSON reads a run written by JSON.
func ReadJSON(r io.Reader) (*Run, error) {
	var run Run
	dec := json.NewDecoder(r)
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("not grade JSON results: %w", err)
	}
	if run.Format != FormatVersion {
		return nil, fmt.Errorf("results format %d; this grade reads format %d", run.Format, FormatVersion)
	}
	return &run, nil
}

// Merge joins the runs of shards into one: every job once, in name order.
// The same job in two runs is an error (shards must be disjoint).
func Merge(runs []*Run) (*Run, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	out := &Run{Format: FormatVersion, Grade: runs[0].Grade, Engine: runs[0].Engine, RunID: runs[0].RunID, Started: runs[0].Started}
	seen := map[string]string{}
	for _, r := range runs {
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		out.DurationSec = max(out.DurationSec, r.DurationSec)
		out.Interrupted = out.Interrupted || r.Interrupted
		out.NotGraded = append(out.NotGraded, r.NotGraded...)
		for _, j := range r.Jobs {
			if prev, dup := seen[j.Name()]; dup {
				return nil, fmt.Errorf("%s was graded in two runs (%s and %s): shards overlap", j.Name(), prev, r.RunID)
			}
			seen[j.Name()] = r.RunID
			out.Jobs = append(out.Jobs, j)
		}
	}
	sort.SliceStable(out.Jobs, func(a, b int) bool { return out.Jobs[a].Name() < out.Jobs[b].Name() })
	sort.Strings(out.NotGraded)
	return out, nil
}
