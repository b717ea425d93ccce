// Package enginebench measures candidate embedded storage engines for the
// auditlog store: durable ingest throughput, bytes on disk per event and the
// latency of the "newest 100 events of an organization" query.
//
// It exists to back docs/adr/0001-embedded-storage.md; nothing in the
// service imports it. The benchmarks only run when asked for:
//
//	AUDITLOG_ENGINEBENCH_EVENTS=1000000 \
//	  go test -run '^$' -bench . -benchtime 1x -count 3 -timeout 60m ./internal/enginebench
//
// Without the variable each run ingests 20,000 events. The results behind the
// ADR are in testdata/.
//
// Every engine receives the same seeded stream of realistic events (see
// generator) and does the same work per event: encode it, hash it into its
// organization's Merkle tree (RFC 6962 hashing, tlog stored-hash layout) and
// write the event, its indexes and its stored hashes, committing every batch
// with an fsync.
package enginebench
