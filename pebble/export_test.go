package pebble

import "context"

// WithoutTree makes db append events without the Merkle tree, so that
// benchmarks can measure what the tree costs. Never for real use.
func WithoutTree(db *DB) { db.noTree = true }

// SetWordBlock sets the word index's block size, before Open.
func SetWordBlock(db *DB, n int64) { db.wordBlock = n }

// IndexWords builds the word filters of every complete block now.
func IndexWords(db *DB) error {
	return db.forEachOrg(func(org uint32) error { return db.indexWords(context.Background(), org) })
}
