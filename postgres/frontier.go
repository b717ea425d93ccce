package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"golang.org/x/mod/sumdb/tlog"
)

// frontier is the right edge of an organization's tree: for each set bit l
// of its size, the hash of the complete subtree at level l to the left of
// the next leaf. It is exactly what appending the next leaf reads, and what
// the tree's root is made of. Each is a stored hash of the leaf that
// completed that subtree (loadFrontiers); the writer keeps the frontiers of
// the trees it appended to, so that its next append reads none.
type frontier struct {
	size int64
	h    [64]tlog.Hash
}

// append adds leaf f.size and returns the tlog stored hashes it adds to the
// tree: its leaf hash, then the hash of each subtree it completes.
func (f *frontier) append(leaf tlog.Hash) ([]byte, error) {
	hs, err := tlog.StoredHashesForRecordHash(f.size, leaf, f)
	if err != nil {
		return nil, err
	}
	k := len(hs) - 1 // the level of the complete subtree the leaf ends
	f.h[k] = hs[k]
	f.size++
	out := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		out = append(out, h[:]...)
	}
	return out, nil
}

// ReadHashes implements tlog.HashReader over the frontier, for append.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, n := tlog.SplitStoredHashIndex(idx)
		if level >= 63 || (f.size>>level)&1 == 0 || n != (f.size>>level)-1 {
			return nil, fmt.Errorf("stored hash %d is not on the tree's frontier", idx)
		}
		out[i] = f.h[level]
	}
	return out, nil
}

// root is the tree's root hash (RFC 6962): the complete subtrees of the
// frontier, from the largest on the left, each the left child of what
// follows it.
func (f *frontier) root() tlog.Hash {
	if f.size == 0 {
		return tlog.Hash{} // not signed: checkpoints are for trees of one leaf or more
	}
	var r tlog.Hash
	first := true
	for l := 0; l < 63; l++ {
		if (f.size>>l)&1 == 0 {
			continue
		}
		if first {
			r, first = f.h[l], false
		} else {
			r = tlog.NodeHash(f.h[l], r)
		}
	}
	return r
}

// logSizes returns the number of events ever appended to each of orgs: its
// last leaf's sequence plus one (one index descent each).
func logSizes(ctx context.Context, q queryer, orgs []int32) (map[int32]int64, error) {
	rows, err := q.Query(ctx, `SELECT u.org_id,
			coalesce((SELECT l.seq + 1 FROM leaves l WHERE l.org_id = u.org_id ORDER BY l.seq DESC LIMIT 1), 0)
		FROM unnest($1::integer[]) AS u(org_id)`, orgs)
	if err != nil {
		return nil, fmt.Errorf("read log sizes: %w", err)
	}
	sizes := make(map[int32]int64, len(orgs))
	var (
		org  int32
		size int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&org, &size}, func() error {
		sizes[org] = size
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read log sizes: %w", err)
	}
	return sizes, nil
}

// loadFrontiers reads the frontier of each organization's tree of the given
// size from the leaves that completed its subtrees, in one query.
func loadFrontiers(ctx context.Context, q queryer, sizes map[int32]int64) (map[int32]*frontier, error) {
	out := make(map[int32]*frontier, len(sizes))
	var orgs []int32
	var seqs []int64
	for org, size := range sizes {
		out[org] = &frontier{size: size}
		for l := 0; l < 63; l++ {
			if (size>>l)&1 == 1 {
				orgs, seqs = append(orgs, org), append(seqs, (size>>l)<<l-1)
			}
		}
	}
	if len(orgs) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT l.org_id, l.seq, l.hashes FROM leaves l
		JOIN unnest($1::integer[], $2::bigint[]) AS u(org_id, seq) ON l.org_id = u.org_id AND l.seq = u.seq`, orgs, seqs)
	if err != nil {
		return nil, fmt.Errorf("read tree frontiers: %w", err)
	}
	var (
		org    int32
		seq    int64
		hashes []byte
		found  int
	)
	if _, err := pgx.ForEachRow(rows, []any{&org, &seq, &hashes}, func() error {
		f := out[org]
		// Leaf seq completed the subtree at the level of the lowest set bit of f.size it ends.
		for l := 0; l < 63; l++ {
			if (f.size>>l)&1 == 1 && (f.size>>l)<<l-1 == seq {
				if len(hashes) < (l+1)*tlog.HashSize {
					return fmt.Errorf("the tree hashes of event %d of organization %d are corrupt", seq, org)
				}
				copy(f.h[l][:], hashes[l*tlog.HashSize:])
				found++
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read tree frontiers: %w", err)
	}
	if found != len(orgs) {
		return nil, fmt.Errorf("read tree frontiers: %d of %d tree hashes are missing", len(orgs)-found, len(orgs))
	}
	return out, nil
}
