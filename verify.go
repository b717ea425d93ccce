package auditlog

import "fmt"

// VerifyReport is what an audit of a whole store (auditlog verify --data or
// --postgres) checked.
type VerifyReport struct {
	Organizations int
	Events        int64 // leaves verified, purged ones included
	Purged        int64 // events whose content retention purged, covered by signed purge notes
	Checkpoints   int
}

// VerifyError names the first thing an audit of a store found that does not verify.
type VerifyError struct {
	Org      OrgRef
	Sequence int64 // -1 when not about one event
	Problem  string
}

func (e *VerifyError) Error() string {
	if e.Sequence >= 0 {
		return fmt.Sprintf("organization %s, event %d: %s", e.Org, e.Sequence, e.Problem)
	}
	return fmt.Sprintf("organization %s: %s", e.Org, e.Problem)
}
