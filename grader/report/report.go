package report

import (
	"time"

	"github.com/gradeproject/grade/checks"
)

// FormatVersion is the version of the JSON format (Run.Format).
const FormatVersion = 1

// Run is the result of one grade run.
type Run struct {
	Format      int       `json:"format"`
	Grade       string    `json:"grade_version"`
	Engine      string    `json:"engine,omitempty"`
	RunID       string    `json:"run_id"`
	Started     time.Time `json:"started"`
	DurationSec float64   `json:"duration_seconds"`
	// Interrupted is true when the run was stopped (Ctrl-C) before every
	// job was graded; NotGraded lists the jobs left out.
	Interrupted bool     `json:"interrupted"`
	NotGraded   []string `json:"not_graded,omitempty"`
	// StopReason says why the run stopped early.
	StopReason string `json:"stop_reason,omitempty"`
	Jobs       []*Job `json:"jobs"`
}

// Job is one submission graded against one scenario.
type Job struct {
	Student  string      `json:"student"`
	Scenario string      `json:"scenario"`
	Title    checks.Text `json:"title"`
	Section  string      `json:"section,omitempty"`
	// Score and Max count the checks shown; hidden checks are left out of
	// student-facing runs.
	Score       float64  `json:"score"`
	Max         float64  `json:"max"`
	Build       *Build   `json:"build,omitempty"`
	Checks      []Result `json:"checks"`
	DurationSec float64  `json:"duration_seconds"`
	// Error is set when grade itself could not grade the job (engine
	// failure); it is not the student's fault.
	Error string `json:"error,omitempty"`
	// ScenarioDigest is the scenario file's digest, SubmissionDigest the
	// digest of the submission folder's content (paths and bytes).
	ScenarioDigest   string `json:"scenario_digest,omitempty"`
	SubmissionDigest string `json:"submission_digest,omitempty"`
}

// Build is what building the submission gave.
type Build struct {
	OK         bool   `json:"ok"`
	Dockerfile string `json:"dockerfile,omitempty"`
	Error      string `json:"error,omitempty"`
	Line       int    `json:"line,omitempty"`
	ImageID    string `json:"image_id,omitempty"`
	Log        string `json:"log,omitempty"`
}

// Result is one check's verdict.
type Result struct {
	Check    string        `json:"check"`
	Kind     string        `json:"kind"`
	Title    checks.Text   `json:"title"`
	Status   checks.Status `json:"status"`
	Points   float64       `json:"points"`
	Max      float64       `json:"max"`
	Expected string        `json:"expected,omitempty"`
	Actual   string        `json:"actual,omitempty"`
	Message  string        `json:"message,omitempty"`
	Detail   string        `json:"detail,omitempty"`
	Hint     checks.Text   `json:"hint"`
	See      string        `json:"see,omitempty"`
	Hidden   bool          `json:"hidden,omitempty"`
	// DurationSec is how long the check took.
	DurationSec float64 `json:"duration_seconds"`
}

// Name is "student/scenario".
func (j *Job) Name() string { return j.Student + "/" + j.Scenario }

// Counts tallies the checks of a run by status.
func (r *Run) Counts() map[checks.Status]int {
	c := map[checks.Status]int{}
	for _, j := range r.Jobs {
		for _, res := range j.Checks {
			c[res.Status]++
		}
	}
	return c
}

// Failed reports whether any graded check failed or could not be graded.
func (r *Run) Failed() bool {
	for _, j := range r.Jobs {
		if j.Error != "" {
			return true
		}
		for _, res := range j.Checks {
			if res.Status != checks.StatusPass {
				return true
			}
		}
	}
	return false
}

// GradeErrors reports whether grade itself failed somewhere (as opposed to a
// submission failing a check).
func (r *Run) GradeErrors() bool {
	for _, j := range r.Jobs {
		if j.Error != "" {
			return true
		}
		for _, res := range j.Checks {
			if res.Status == checks.StatusError {
				return true
			}
		}
	}
	return false
}
