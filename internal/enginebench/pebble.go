package enginebench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// Key prefixes of the Pebble layout. Org is 4 bytes, timestamps, sequences
// and hash indexes 8 bytes, all big-endian so that byte order is numeric
// order.
const (
	prefixEvent = 'E' // E|org|ts|seq -> value (appendValue)
	prefixSeq   = 'S' // S|org|seq -> ts
	prefixID    = 'I' // I|org|id -> uvarint seq
	prefixHash  = 'H' // H|org|index -> 32-byte hash
)

func eventKey(b []byte, org uint32, ts int64, seq uint64) []byte {
	b = append(b, prefixEvent)
	b = binary.BigEndian.AppendUint32(b, org)
	b = binary.BigEndian.AppendUint64(b, uint64(ts))
	return binary.BigEndian.AppendUint64(b, seq)
}

func seqKey(b []byte, org uint32, seq uint64) []byte {
	b = append(b, prefixSeq)
	b = binary.BigEndian.AppendUint32(b, org)
	return binary.BigEndian.AppendUint64(b, seq)
}

func idKey(b []byte, org uint32, id []byte) []byte {
	b = append(b, prefixID)
	b = binary.BigEndian.AppendUint32(b, org)
	return append(b, id...)
}

func hashKey(b []byte, org uint32, index int64) []byte {
	b = append(b, prefixHash)
	b = binary.BigEndian.AppendUint32(b, org)
	return binary.BigEndian.AppendUint64(b, uint64(index))
}

// pebbleConfig is one Pebble configuration under test.
type pebbleConfig struct {
	// compression chooses the per-level compression; nil keeps Pebble's
	// default (Snappy on every level).
	compression func() pebble.DBCompressionSettings
	// memTableSize is the memtable size in bytes; 0 means 16 MiB. (Pebble's
	// default is 4 MiB: on two cores it piles files up in L0 and stalls
	// writes; 64 MiB makes every id lookup search a larger skiplist.)
	memTableSize uint64
	// noLookups skips the id lookups, as for events whose id the server
	// assigned (a fresh UUIDv7 cannot be a retry). The id keys are still
	// written.
	noLookups bool
}

type pebbleEngine struct {
	db        *pebble.DB
	key       []byte
	noLookups bool

	mu         sync.Mutex
	stalls     int
	stallStart time.Time
	stalled    time.Duration

	lookups, commits time.Duration // time in id lookups and in Commit
}

func openPebble(dir string, cfg pebbleConfig) (*pebbleEngine, error) {
	if cfg.memTableSize == 0 {
		cfg.memTableSize = 16 << 20
	}
	cache := pebble.NewCache(64 << 20)
	defer cache.Unref()
	opts := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		Cache:              cache,
		MemTableSize:       cfg.memTableSize,
		Logger:             quietLogger{},
	}
	for i := range opts.Levels {
		// Idempotency checks look up ids that are almost never there.
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	if cfg.compression != nil {
		opts.ApplyCompressionSettings(cfg.compression)
	}
	p := &pebbleEngine{noLookups: cfg.noLookups}
	opts.EventListener = &pebble.EventListener{
		WriteStallBegin: func(pebble.WriteStallBeginInfo) {
			p.mu.Lock()
			p.stalls++
			p.stallStart = time.Now()
			p.mu.Unlock()
		},
		WriteStallEnd: func() {
			p.mu.Lock()
			p.stalled += time.Since(p.stallStart)
			p.mu.Unlock()
		},
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	p.db = db
	return p, nil
}

// stats describes the LSM after ingest: write stalls, shape, write
// amplification.
func (p *pebbleEngine) stats() string {
	p.mu.Lock()
	stalls, stalled := p.stalls, p.stalled
	p.mu.Unlock()
	m := p.db.Metrics()
	tot := m.Total()
	return fmt.Sprintf("id lookups %v, commits %v, write stalls %d (%v), L0 files %d sublevels %d, read amp %d, compactions %d, flushes %d, w-amp %.2f",
		p.lookups.Round(time.Millisecond), p.commits.Round(time.Millisecond),
		stalls, stalled.Round(time.Millisecond), m.Levels[0].TablesCount, m.Levels[0].Sublevels, m.ReadAmp(),
		m.Compact.Count, m.Flush.Count, tot.WriteAmp())
}

// storedIDs reports which events of the batch have an id that is already
// stored, or that an earlier event of the batch has.
func (p *pebbleEngine) storedIDs(batch []prepared) ([]bool, error) {
	if p.noLookups {
		return make([]bool, len(batch)), nil
	}
	keys := make([][]byte, len(batch))
	order := make([]int, len(batch))
	for i, pe := range batch {
		keys[i] = idKey(make([]byte, 0, 21), pe.ev.org, pe.ev.id[:])
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return bytes.Compare(keys[a], keys[b]) })
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: keys[order[0]]})
	if err != nil {
		return nil, err
	}
	stored := make([]bool, len(batch))
	for j, i := range order {
		if j > 0 && bytes.Equal(keys[i], keys[order[j-1]]) {
			stored[i] = true
			continue
		}
		if it.SeekPrefixGE(keys[i]) && bytes.Equal(it.Key(), keys[i]) {
			stored[i] = true
		}
	}
	return stored, it.Close()
}

func uniformCompression(p *sstable.CompressionProfile) func() pebble.DBCompressionSettings {
	s := pebble.UniformDBCompressionSettings(p)
	return func() pebble.DBCompressionSettings { return s }
}

// write commits a batch with one fsync. First it looks up every event's id
// in the id index, as idempotent ingest must: in key order, through one
// iterator, so that each lookup is a bloom-filtered prefix seek that
// continues from the previous one.
func (p *pebbleEngine) write(batch []prepared) error {
	t0 := time.Now()
	stored, err := p.storedIDs(batch)
	p.lookups += time.Since(t0)
	if err != nil {
		return err
	}
	b := p.db.NewBatch()
	defer b.Close()
	for i, pe := range batch {
		if stored[i] {
			continue // already stored: a retry
		}
		e := pe.ev
		p.key = idKey(p.key[:0], e.org, e.id[:])
		var seq [binary.MaxVarintLen64]byte
		if err := b.Set(p.key, seq[:binary.PutUvarint(seq[:], e.seq)], nil); err != nil {
			return err
		}
		p.key = eventKey(p.key[:0], e.org, e.ts, e.seq)
		if err := b.Set(p.key, pe.value, nil); err != nil {
			return err
		}
		var ts [8]byte
		binary.BigEndian.PutUint64(ts[:], uint64(e.ts))
		p.key = seqKey(p.key[:0], e.org, e.seq)
		if err := b.Set(p.key, ts[:], nil); err != nil {
			return err
		}
		for _, h := range pe.hashes {
			p.key = hashKey(p.key[:0], e.org, h.index)
			if err := b.Set(p.key, h.hash[:], nil); err != nil {
				return err
			}
		}
	}
	t0 = time.Now()
	err = b.Commit(pebble.Sync)
	p.commits += time.Since(t0)
	return err
}

// breakdown estimates the bytes on disk of each kind of key, after settle.
func (p *pebbleEngine) breakdown() (map[string]int64, error) {
	out := map[string]int64{}
	for _, prefix := range []byte{prefixEvent, prefixSeq, prefixID, prefixHash} {
		n, err := p.db.EstimateDiskUsage([]byte{prefix}, []byte{prefix + 1})
		if err != nil {
			return nil, err
		}
		out[string(prefix)] = int64(n)
	}
	return out, nil
}

// settle flushes the memtable and compacts everything into the bottom level,
// the shape a long-lived store converges to.
func (p *pebbleEngine) settle() error {
	if err := p.db.Flush(); err != nil {
		return err
	}
	return p.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true)
}

// newest returns the organization's n newest events by timestamp, then
// sequence, descending: one reverse range scan of E|org.
func (p *pebbleEngine) newest(org uint32, n int, dst []event) ([]event, error) {
	var lower, upper [5]byte
	lower[0], upper[0] = prefixEvent, prefixEvent
	binary.BigEndian.PutUint32(lower[1:], org)
	binary.BigEndian.PutUint32(upper[1:], org+1)
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lower[:], UpperBound: upper[:]})
	if err != nil {
		return nil, err
	}
	for ok := it.Last(); ok && len(dst) < n; ok = it.Prev() {
		k := it.Key()
		if len(k) != 21 {
			it.Close()
			return nil, fmt.Errorf("enginebench: bad event key %x", k)
		}
		e := event{
			org: org,
			ts:  int64(binary.BigEndian.Uint64(k[5:13])),
			seq: binary.BigEndian.Uint64(k[13:21]),
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, err
		}
		if err := decodeValue(v, &e); err != nil {
			it.Close()
			return nil, err
		}
		dst = append(dst, e)
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	return dst, nil
}

func (p *pebbleEngine) close() error { return p.db.Close() }

// quietLogger drops Pebble's informational messages so that they do not mix
// with benchmark output; errors go to stderr.
type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{}) {}
func (quietLogger) Errorf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf(format, args...))
}
