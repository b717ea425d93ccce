package enginebench

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

const (
	benchOrgs      = 1000
	benchBatchSize = 1000
	benchQueries   = 1000
)

// benchEvents is the number of events each run ingests:
// AUDITLOG_ENGINEBENCH_EVENTS, or a small default that keeps an unattended
// `go test -bench .` short.
func benchEvents(tb testing.TB) int {
	s := os.Getenv("AUDITLOG_ENGINEBENCH_EVENTS")
	if s == "" {
		return 20_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < benchBatchSize {
		tb.Fatalf("AUDITLOG_ENGINEBENCH_EVENTS=%q: want an integer >= %d", s, benchBatchSize)
	}
	return n
}

type engineCase struct {
	name string
	open func(dir string) (engine, error)
}

func sqliteCase(l sqliteLayout) engineCase {
	return engineCase{l.name, func(dir string) (engine, error) { return openSQLite(dir, l) }}
}

func pebbleCase(name string, cfg pebbleConfig) engineCase {
	return engineCase{name, func(dir string) (engine, error) { return openPebble(dir, cfg) }}
}

var engineCases = []engineCase{
	sqliteCase(sqliteClustered),
	sqliteCase(sqliteTimeKey),
	sqliteCase(sqliteRowid),
	pebbleCase("pebble-snappy", pebbleConfig{}), // Pebble's default compression
	pebbleCase("pebble-snappy-nolookup", pebbleConfig{noLookups: true}),
	pebbleCase("pebble-zstd", pebbleConfig{compression: uniformCompression(sstable.ZstdCompression)}),
	pebbleCase("pebble-good", pebbleConfig{compression: func() pebble.DBCompressionSettings { return pebble.DBCompressionGood }}),
}

// BenchmarkIngest runs the scenario on every engine: durable ingest of the
// same seeded events in commits of 1,000, then size on disk, then 1,000
// newest-100 queries. One op is one whole run; its ns/op is ingest time.
func BenchmarkIngest(b *testing.B) {
	n := benchEvents(b)
	g := newGenerator(1, benchOrgs)
	batches := make([][]event, 0, n/benchBatchSize+1)
	for left := n; left > 0; left -= benchBatchSize {
		batches = append(batches, g.next(min(left, benchBatchSize)))
	}
	for _, c := range engineCases {
		b.Run(c.name, func(b *testing.B) {
			var s summary
			for i := 0; i < b.N; i++ {
				r, err := runScenario(b, b.TempDir(), c.open, batches, benchOrgs, benchQueries)
				if err != nil {
					b.Fatal(err)
				}
				s.add(r)
				b.Logf("run %d: %d events, ingest %v, settle %v, files %v %s", i, r.events, r.ingest, r.settle, r.files, r.stats)
			}
			for unit, v := range s.metrics() {
				b.ReportMetric(v, unit)
			}
		})
	}
}

// TestSQLiteQueryPlans shows how each SQLite layout answers the newest-100
// query, and checks that each searches by organization rather than scanning
// the table.
func TestSQLiteQueryPlans(t *testing.T) {
	for _, l := range []sqliteLayout{sqliteClustered, sqliteTimeKey, sqliteRowid} {
		s, err := openSQLite(t.TempDir(), l)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", l.name, s.queryPlan)
		if !strings.HasPrefix(s.queryPlan, "SEARCH events USING ") {
			t.Errorf("%s: plan %q does not search by organization", l.name, s.queryPlan)
		}
		if err := s.close(); err != nil {
			t.Fatal(err)
		}
	}
}
