package pebble

import (
	"context"
	"errors"
)

// WithoutTree makes db append events without the Merkle tree, so that
// benchmarks can measure what the tree costs. Never for real use.
func WithoutTree(db *DB) { db.noTree = true }

// AfterPurgeSnapshot makes retention call f once it took its snapshot, as
// if an event were committed at that moment.
func AfterPurgeSnapshot(db *DB, f func()) { db.afterPurgeSnapshot = f }

// SetWordBlock sets the word index's block size, before Open.
func SetWordBlock(db *DB, n int64) { db.wordBlock = n }

// IndexWords builds the word filters of every complete block now.
func IndexWords(db *DB) error {
	return db.forEachOrg(func(org uint32) error {
		_, err := db.indexWords(context.Background(), org)
		return err
	})
}

// FamilyUsage is what one key family (its prefix byte) takes in the store.
type FamilyUsage struct {
	Prefix        byte
	Keys          int64
	KeyBytes      int64 // raw, before compression
	ValueBytes    int64 // raw, before compression
	EstimatedDisk int64 // Pebble's estimate of its share of the sstables
}

// Settle flushes the memtable and compacts the whole key space, as a long-running store ends up.
func Settle(db *DB) error {
	if err := db.db.Flush(); err != nil {
		return err
	}
	return db.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true)
}

// DiskUsageByFamily sums the keys and values of each key family and asks
// Pebble how much of the sstables each takes.
func DiskUsageByFamily(db *DB) ([]FamilyUsage, error) {
	it, err := db.db.NewIter(nil)
	if err != nil {
		return nil, err
	}
	byPrefix := map[byte]*FamilyUsage{}
	var out []FamilyUsage
	for valid := it.First(); valid; valid = it.Next() {
		p := it.Key()[0]
		u := byPrefix[p]
		if u == nil {
			u = &FamilyUsage{Prefix: p}
			byPrefix[p] = u
		}
		u.Keys++
		u.KeyBytes += int64(len(it.Key()))
		u.ValueBytes += int64(len(it.Value()))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, err
	}
	for p := 0; p < 256; p++ {
		u := byPrefix[byte(p)]
		if u == nil {
			continue
		}
		var end []byte
		if p < 255 {
			end = []byte{byte(p + 1)}
		} else {
			end = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		}
		n, err := db.db.EstimateDiskUsage([]byte{byte(p)}, end)
		if err != nil {
			return nil, err
		}
		u.EstimatedDisk = int64(n)
		out = append(out, *u)
	}
	return out, nil
}

// PebbleMetrics returns Pebble's metrics of db, for benchmarks to log.
func PebbleMetrics(db *DB) string { return db.db.Metrics().String() }

// CompactionDebt is Pebble's estimate of the bytes compactions have yet to
// rewrite, and how many compactions and flushes are running.
func CompactionDebt(db *DB) (debt uint64, running int64) {
	m := db.db.Metrics()
	return m.Compact.EstimatedDebt, m.Compact.NumInProgress + m.Flush.NumInProgress
}
