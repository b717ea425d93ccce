package pebble

import (
	"errors"

	"github.com/auditlog/auditlog"
	"github.com/cockroachdb/pebble/v2"
)

// EventBlockBytes is how many bytes of table blocks the event reads of
// bare-word searches and sequence reads have loaded so far.
func EventBlockBytes(db *DB) int64 { return db.eventBlockBytes.Load() }

// ScanEventBlockBytes reads every event of ref once, in key order, and
// returns the bytes of table blocks that loaded: what a full scan costs.
func ScanEventBlockBytes(db *DB, ref auditlog.OrgRef) (int64, error) {
	org, err := db.orgID(ref)
	if err != nil {
		return 0, err
	}
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: eventKey(org, 0, 0), UpperBound: orgPrefixEnd(prefixEvent, org)})
	if err != nil {
		return 0, err
	}
	for valid := it.First(); valid; valid = it.Next() {
		_ = it.Value()
	}
	n := int64(it.Stats().InternalStats.BlockBytes)
	return n, errors.Join(it.Error(), it.Close())
}
