package enginebench

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/auditlog/auditlog/internal/dirsize"
)

// engine is one storage engine configuration under test.
type engine interface {
	// write stores a prepared batch durably: it returns after an fsync.
	write(batch []prepared) error
	// settle brings the store to its resting shape (flush and compaction,
	// or WAL checkpoint) before its size is measured.
	settle() error
	// newest appends the organization's n newest events (timestamp, then
	// sequence, descending) to dst.
	newest(org uint32, n int, dst []event) ([]event, error)
	close() error
}

// result is what one run of the scenario measured.
type result struct {
	events     int
	ingest     time.Duration // writing every batch, encoding and hashing included
	settle     time.Duration
	diskBytes  int64 // allocated on disk after settle, every file but WALs
	walBytes   int64 // allocated to write-ahead logs after settle
	valueBytes int64 // sum of the encoded event values
	latencies  []time.Duration
	files      map[string]int64 // allocated bytes by file extension
	stats      string           // engine statistics after ingest, if it has any
}

// timer lets the scenario pause the benchmark clock around untimed phases.
type timer interface {
	StartTimer()
	StopTimer()
}

// runScenario ingests batches into a fresh store in dir, settles it, runs
// queries newest-100 queries on random organizations, closes the store and
// measures its size.
func runScenario(t timer, dir string, open func(dir string) (engine, error), batches [][]event, orgs, queries int) (res result, err error) {
	t.StopTimer()
	e, err := open(dir)
	if err != nil {
		return res, err
	}
	closed := false
	defer func() {
		if !closed {
			e.close()
		}
	}()
	seq := newSequencer(orgs)
	runtime.GC()

	t.StartTimer()
	start := time.Now()
	for _, b := range batches {
		p := seq.prepare(b)
		if err := e.write(p); err != nil {
			return res, fmt.Errorf("write: %w", err)
		}
		res.events += len(p)
		for _, pe := range p {
			res.valueBytes += int64(len(pe.value))
		}
	}
	res.ingest = time.Since(start)
	t.StopTimer()
	if s, ok := e.(interface{ stats() string }); ok {
		res.stats = s.stats()
	}

	start = time.Now()
	if err := e.settle(); err != nil {
		return res, fmt.Errorf("settle: %w", err)
	}
	res.settle = time.Since(start)
	if b, ok := e.(interface {
		breakdown() (map[string]int64, error)
	}); ok {
		kinds, err := b.breakdown()
		if err != nil {
			return res, err
		}
		perEvent := make([]string, 0, len(kinds))
		for k, n := range kinds {
			perEvent = append(perEvent, fmt.Sprintf("%s %.1f", k, float64(n)/float64(res.events)))
		}
		slices.Sort(perEvent)
		res.stats += fmt.Sprintf("; bytes/event by key kind: %v", perEvent)
	}

	rnd := newGenerator(2, 0).rnd
	buf := make([]event, 0, 100)
	res.latencies = make([]time.Duration, 0, queries)
	for i := 0; i < queries; i++ {
		org := uint32(rnd.Intn(orgs))
		start := time.Now()
		got, err := e.newest(org, 100, buf[:0])
		res.latencies = append(res.latencies, time.Since(start))
		if err != nil {
			return res, fmt.Errorf("query: %w", err)
		}
		if err := checkNewest(got, min(100, int(seq.trees[org].size))); err != nil {
			return res, fmt.Errorf("query org %d: %w", org, err)
		}
	}

	// Measure once closed: Pebble deletes obsolete files in the background
	// and waits for that on close.
	closed = true
	if err := e.close(); err != nil {
		return res, err
	}
	if res.files, err = dirsize.ByExt(dir); err != nil {
		return res, err
	}
	for ext, n := range res.files {
		if ext == ".log" || ext == ".db-wal" { // Pebble's WALs, SQLite's WAL
			res.walBytes += n
		} else {
			res.diskBytes += n
		}
	}
	return res, nil
}

// checkNewest checks that a query answered want events in descending
// (timestamp, sequence) order, each decoded whole.
func checkNewest(got []event, want int) error {
	if len(got) != want {
		return fmt.Errorf("got %d events, want %d", len(got), want)
	}
	for i := range got {
		if got[i].actor == "" || got[i].details == "" || got[i].description == "" {
			return fmt.Errorf("event %d not decoded whole: %+v", i, got[i])
		}
		if i > 0 && (got[i].ts > got[i-1].ts || got[i].ts == got[i-1].ts && got[i].seq > got[i-1].seq) {
			return fmt.Errorf("events %d and %d out of order", i-1, i)
		}
	}
	return nil
}

// percentile returns the p-th percentile (0 < p < 1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// summary aggregates the runs of one benchmark.
type summary struct {
	events, valueBytes, diskBytes, walBytes int64
	ingest, settle                          time.Duration
	latencies                               []time.Duration
	runs                                    int
}

func (s *summary) add(r result) {
	s.events += int64(r.events)
	s.valueBytes += r.valueBytes
	s.diskBytes += r.diskBytes
	s.walBytes += r.walBytes
	s.ingest += r.ingest
	s.settle += r.settle
	s.latencies = append(s.latencies, r.latencies...)
	s.runs++
}

// metrics returns the figures the benchmarks report, by unit.
func (s *summary) metrics() map[string]float64 {
	lat := slices.Clone(s.latencies)
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return map[string]float64{
		"events/s":          float64(s.events) / s.ingest.Seconds(),
		"bytes/event":       float64(s.diskBytes) / float64(s.events),
		"value-bytes/event": float64(s.valueBytes) / float64(s.events),
		"wal-MB":            float64(s.walBytes) / float64(s.runs) / (1 << 20),
		"settle-s":          s.settle.Seconds() / float64(s.runs),
		"query-p50-ms":      ms(percentile(lat, 0.50)),
		"query-p99-ms":      ms(percentile(lat, 0.99)),
	}
}
