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

// SetWordFeedMax bounds the events waiting in the word indexer's feed (0:
// every event is dropped, and every block is indexed from the store).
func SetWordFeedMax(db *DB, n int) {
	db.words.mu.Lock()
	db.words.feedMax = n
	db.words.mu.Unlock()
}

// WordBlocksRead is how many word-index blocks were built by reading their events from the store.
func WordBlocksRead(db *DB) int64 { return db.wordBlocksRead.Load() }

// WordFeedDropped is how many events the word indexer's feed dropped.
func WordFeedDropped(db *DB) int64 {
	db.words.mu.Lock()
	defer db.words.mu.Unlock()
	return db.words.dropped
}

// WordFilters returns the word index of ref: each block's key and value.
func WordFilters(db *DB, ref auditlog.OrgRef) (map[string][]byte, error) {
	org, err := db.orgID(ref)
	if err != nil {
		return nil, err
	}
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: wordsKey(org, 0), UpperBound: orgPrefixEnd(prefixWords, org)})
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for valid := it.First(); valid; valid = it.Next() {
		out[string(it.Key())] = append([]byte(nil), it.Value()...)
	}
	return out, errors.Join(it.Error(), it.Close())
}

// DropWordFilters deletes the word index of ref.
func DropWordFilters(db *DB, ref auditlog.OrgRef) error {
	org, err := db.orgID(ref)
	if err != nil {
		return err
	}
	return db.db.DeleteRange(wordsKey(org, 0), orgPrefixEnd(prefixWords, org), pebble.Sync)
}

// IndexKeys counts the keys of the actor ('a') or action ('x') index.
func IndexKeys(db *DB, prefix byte) (int, error) {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return 0, err
	}
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	return n, errors.Join(it.Error(), it.Close())
}
