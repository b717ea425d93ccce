package merkle

import (
	"errors"
	"fmt"

	"github.com/auditlog/auditlog"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Origin is the origin line of an organization's checkpoints.
func Origin(prefix string, ref auditlog.OrgRef) string {
	if prefix == "" {
		prefix = "auditlog"
	}
	return prefix + "/" + ref.Provider + "/" + ref.Name
}

// Checkpoint is a signed statement of an organization's log: its size and root.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	Note   []byte // the signed note text, as served
}

// Sign returns the signed checkpoint of a tree.
func Sign(k *Key, origin string, size int64, root tlog.Hash) (*Checkpoint, error) {
	body := log.Checkpoint{Origin: origin, Size: uint64(size), Hash: root[:]}.Marshal()
	msg, err := note.Sign(&note.Note{Text: string(body)}, k.Signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return &Checkpoint{Origin: origin, Size: size, Root: root, Note: msg}, nil
}

// ErrBadCheckpoint is returned for a checkpoint that does not verify.
var ErrBadCheckpoint = errors.New("checkpoint does not verify")

// OpenCheckpoint verifies a signed checkpoint with the verifier and parses it.
// If origin is not empty the checkpoint must have that origin.
func OpenCheckpoint(msg []byte, v note.Verifier, origin string) (*Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	var c log.Checkpoint
	if _, err := c.Unmarshal([]byte(n.Text)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	if origin != "" && c.Origin != origin {
		return nil, fmt.Errorf("%w: origin %q, want %q", ErrBadCheckpoint, c.Origin, origin)
	}
	if len(c.Hash) != tlog.HashSize || c.Size > 1<<62 {
		return nil, fmt.Errorf("%w: bad size or root", ErrBadCheckpoint)
	}
	var root tlog.Hash
	copy(root[:], c.Hash)
	return &Checkpoint{Origin: c.Origin, Size: int64(c.Size), Root: root, Note: msg}, nil
}
