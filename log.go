package auditlog

import (
	"context"
	"iter"
)

// InclusionProof proves that an event is the leaf at its sequence in the
// organization's tree of TreeSize leaves (RFC 6962 audit path, leaf to root).
type InclusionProof struct {
	Sequence   int64    `json:"sequence"`
	TreeSize   int64    `json:"treeSize"`
	LeafHash   []byte   `json:"leafHash"`
	Proof      [][]byte `json:"proof"`
	Checkpoint string   `json:"checkpoint"` // the signed checkpoint of TreeSize
}

// ConsistencyProof proves that the tree of size From is a prefix of the tree
// of size To (RFC 6962 consistency proof).
type ConsistencyProof struct {
	From           int64    `json:"from"`
	To             int64    `json:"to"`
	Proof          [][]byte `json:"proof"`
	FromCheckpoint string   `json:"fromCheckpoint"`
	ToCheckpoint   string   `json:"toCheckpoint"`
}

// LogService gives access to each organization's tamper-evident log: its
// signed checkpoints and the proofs against them.
type LogService interface {
	// LatestCheckpoint returns the organization's newest signed checkpoint,
	// or an ENOTFOUND error if none was signed yet.
	LatestCheckpoint(ctx context.Context, ref OrgRef) (note []byte, size int64, err error)
	// ProveInclusion proves event seq in the tree of the signed checkpoint of
	// size size; size 0 means the latest checkpoint.
	ProveInclusion(ctx context.Context, ref OrgRef, seq, size int64) (*InclusionProof, error)
	// ProveConsistency proves the signed checkpoint of size from consistent
	// with the one of size to; to 0 means the latest.
	ProveConsistency(ctx context.Context, ref OrgRef, from, to int64) (*ConsistencyProof, error)
	// LogEvents yields the retained events with sequences below size in
	// ascending order, each with the inclusion proof of its leaf in the tree
	// of that size.
	LogEvents(ctx context.Context, ref OrgRef, size int64) iter.Seq2[*ProvenEvent, error]
	// EraseUser removes a person's personal data from every stored event
	// (see Event.Erase), with their memberships and tokens, and reports how
	// many events it changed.
	EraseUser(ctx context.Context, email string) (int, error)
}

// ProvenEvent is an event with its inclusion proof (leaf to root). An event
// that retention purged has no Event: its leaf hash stands in for it.
type ProvenEvent struct {
	Event    *Event // nil when purged
	Sequence int64
	LeafHash [32]byte
	Proof    [][32]byte
}
