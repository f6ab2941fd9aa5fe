package factory

import "time"

// Verdict statuses.
const (
	VerdictPass    = "pass"
	VerdictFail    = "fail"
	VerdictError   = "error"
	VerdictSkipped = "skipped"
)

// Verdict is one invariant's judgement over the facts its gates produced.
type Verdict struct {
	ID       string        `json:"id"`
	Status   string        `json:"status"`
	Message  string        `json:"message"`            // one line
	Evidence []string      `json:"evidence,omitempty"` // which tests, imports, lines, benchmarks
	Duration time.Duration `json:"duration_ns"`
}

// Failing reports whether the verdict holds a change back: the invariant
// failed, or it could not be judged (an error is never taken for a pass).
func (v Verdict) Failing() bool { return v.Status == VerdictFail || v.Status == VerdictError }
