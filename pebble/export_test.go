package pebble

// WithoutTree makes db append events without the Merkle tree, so that
// benchmarks can measure what the tree costs. Never for real use.
func WithoutTree(db *DB) { db.noTree = true }
