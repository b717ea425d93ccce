package pebble

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/cockroachdb/pebble/v2"
)

// The word index: for each block of wordBlock consecutive sequences of an
// organization, a Bloom filter of the words its events can be found by (see
// Event.SearchWords), with the block's timestamp range. A bare-word search
// reads only the blocks whose filter may hold its words, newest first, and
// stops once no remaining block can hold a newer match. Blocks are indexed
// by a background worker once complete; the unindexed tail is read whole.
// DB.wordBlock is the block size (defaultWordBlock; tests make it small).
//
// The worker gathers the words of new events from the writer (feed), as
// hashes computed when the batch was prepared, so that indexing a block
// reads nothing back: reading a block's events by sequence from a store
// being filled costs a seek per event (their keys are by time), and took a
// third of the server's CPU during a sustained ingest. A block the feed
// did not see whole (the worker started after some of its events, or fell
// behind and the feed dropped some) is indexed from the store, as at start.
//
//	W|org|block(8) -> minTs(8) maxTs(8) filter
const (
	prefixWords      = 'W'
	defaultWordBlock = 512
	bloomBits        = 10 // per distinct word: about 1% false positives with 7 hashes
	bloomHashes      = 7
)

func wordsKey(org uint32, block int64) []byte {
	return appendU64(appendU32([]byte{prefixWords}, org), uint64(block))
}

type wordFilter []byte

func newWordFilter(words int) wordFilter { return make(wordFilter, max(8, (words*bloomBits+7)/8)) }

// wordHash is the hash a word is filed under; the filter's probes derive from it.
func wordHash(w string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(w))
	return h.Sum64()
}

// probes returns the two hashes from which a word's filter bits derive,
// from its wordHash: filing (add) and asking (mayHave) must agree.
func probes(h uint64) (uint64, uint64) { return h, h>>33 | h<<31 | 1 }

// add files a word by its wordHash.
func (b wordFilter) add(h uint64) {
	h1, h2 := probes(h)
	n := uint64(len(b) * 8)
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % n
		b[bit/8] |= 1 << (bit % 8)
	}
}

func (b wordFilter) mayHave(w string) bool {
	h1, h2 := probes(wordHash(w))
	n := uint64(len(b) * 8)
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % n
		if b[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
	}
	return true
}

// wordFeed is a committed event as the word indexer takes it from the writer.
type wordFeed struct {
	org     uint32
	seq, ts int64
	words   []uint64 // eventWords
}

// maxWordFeed bounds the events waiting in the feed; past it the writer
// drops them, and the blocks they belong to are indexed from the store.
const maxWordFeed = 1 << 17

// maxWordBlocks bounds the organizations whose current block the worker
// gathers from the feed; the blocks of others are indexed from the store.
const maxWordBlocks = 4096

// wordBlockState is the worker's state of one organization's index.
type wordBlockState struct {
	done         int64 // blocks that have a filter
	block        int64 // the block being gathered from the feed, or -1
	count        int64 // its events gathered, from its first on
	minTs, maxTs int64
	words        []uint64
	distinct     int // len(words) when last deduplicated
}

// wordIndexer builds the filters of complete blocks in the background.
type wordIndexer struct {
	db     *DB
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	feedMax int        // maxWordFeed; tests lower it
	fed     []wordFeed // waiting for the worker
	dropped int64      // events the feed dropped (tests)
	behind  bool       // the feed dropped events since the last sweep

	// Owned by the worker.
	sweep  bool // index every organization from the store (at start, after an error)
	states map[uint32]*wordBlockState
}

func startWordIndexer(db *DB) *wordIndexer {
	x := &wordIndexer{db: db, wake: make(chan struct{}, 1), feedMax: maxWordFeed, sweep: true, states: map[uint32]*wordBlockState{}}
	x.ctx, x.cancel = context.WithCancel(context.Background())
	x.wg.Add(1)
	go x.run()
	x.poke()
	return x
}

// feed hands the worker committed events, in sequence order within each
// organization. It never blocks the writer: past maxWordFeed waiting
// events it drops them.
func (x *wordIndexer) feed(events []wordFeed) {
	if len(events) == 0 {
		return
	}
	x.mu.Lock()
	if len(x.fed)+len(events) > x.feedMax {
		x.dropped += int64(len(events))
		x.behind = true
	} else {
		x.fed = append(x.fed, events...)
	}
	x.mu.Unlock()
	x.poke()
}

func (x *wordIndexer) poke() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

func (x *wordIndexer) stop() {
	x.cancel()
	x.wg.Wait()
}

func (x *wordIndexer) run() {
	defer x.wg.Done()
	backoff := time.Second
	for {
		select {
		case <-x.ctx.Done():
			return
		case <-x.wake:
		}
		if err := x.work(); err != nil && x.ctx.Err() == nil {
			x.db.Logger.Error("word index: building failed; retrying", "err", err, "in", backoff)
			x.sweep = true
			select {
			case <-x.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
			x.poke()
			continue
		}
		backoff = time.Second
	}
}

// work indexes what the feed brought, after a sweep of the store if one is due.
func (x *wordIndexer) work() error {
	x.mu.Lock()
	fed := x.fed
	x.fed = nil
	if x.behind {
		x.behind, x.sweep = false, true
	}
	x.mu.Unlock()
	if x.sweep {
		clear(x.states)
		if err := x.db.forEachOrg(func(org uint32) error {
			_, err := x.db.indexWords(x.ctx, org)
			return err
		}); err != nil {
			return err
		}
		x.sweep = false
	}
	for _, f := range fed {
		if err := x.take(f); err != nil {
			return err
		}
	}
	return nil
}

// take adds one fed event to its organization's current block, and files
// the block once complete: from what the feed brought if it brought the
// whole block, else from the store.
func (x *wordIndexer) take(f wordFeed) error {
	db, n := x.db, x.db.wordBlock
	st := x.states[f.org]
	if st == nil {
		for org := range x.states { // full: one organization, any, starts over (its block is read from the store)
			if len(x.states) < maxWordBlocks {
				break
			}
			delete(x.states, org)
		}
		done, err := db.indexedBlocks(f.org)
		if err != nil {
			return err
		}
		st = &wordBlockState{done: done, block: -1}
		x.states[f.org] = st
	}
	b := f.seq / n
	switch {
	case f.seq%n == 0:
		st.block, st.count, st.minTs, st.maxTs = b, 0, math.MaxInt64, math.MinInt64
		st.words, st.distinct = st.words[:0], 0
	case st.block != b || f.seq != b*n+st.count:
		st.block = -1 // a gap: this block is indexed from the store
	}
	if st.block == b {
		st.count++
		st.minTs, st.maxTs = min(st.minTs, f.ts), max(st.maxTs, f.ts)
		st.words = append(st.words, f.words...)
		if len(st.words) > 2*st.distinct+1024 {
			slices.Sort(st.words)
			st.words = slices.Compact(st.words)
			st.distinct = len(st.words)
		}
	}
	if f.seq%n != n-1 || b < st.done {
		return nil // the block goes on, or was indexed already
	}
	if st.block != b || b > st.done {
		done, err := db.indexWords(x.ctx, f.org)
		st.done, st.block = done, -1
		return err
	}
	slices.Sort(st.words)
	st.words = slices.Compact(st.words)
	if err := db.putWordFilter(f.org, b, st.minTs, st.maxTs, st.words); err != nil {
		return err
	}
	st.done, st.block = b+1, -1
	return nil
}

// putWordFilter writes the filter of block b of org, of distinct word hashes.
func (db *DB) putWordFilter(org uint32, b, minTs, maxTs int64, words []uint64) error {
	f := newWordFilter(len(words))
	for _, w := range words {
		f.add(w)
	}
	v := appendU64(appendU64(make([]byte, 0, 16+len(f)), uint64(minTs)), uint64(maxTs))
	if err := db.db.Set(wordsKey(org, b), append(v, f...), pebble.NoSync); err != nil {
		return fmt.Errorf("word index of organization %d block %d: %w", org, b, err)
	}
	return nil
}

// indexedBlocks returns the number of org's blocks that have a filter.
func (db *DB) indexedBlocks(org uint32) (int64, error) {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: wordsKey(org, 0), UpperBound: orgPrefixEnd(prefixWords, org)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	return int64(beUint64(it.Key()[5:])) + 1, nil
}

// indexWords builds, from the store, the filters of org's complete blocks
// that have none, and returns how many blocks have one.
func (db *DB) indexWords(ctx context.Context, org uint32) (int64, error) {
	done, err := db.indexedBlocks(org)
	if err != nil {
		return 0, err
	}
	size, err := db.logSize(org)
	if err != nil {
		return done, err
	}
	o, err := db.orgByID(org)
	if err != nil {
		return done, err
	}
	for n := db.wordBlock; (done+1)*n <= size; done++ {
		b := done
		var (
			words        []uint64
			minTs, maxTs int64 = math.MaxInt64, math.MinInt64
		)
		for rec, err := range db.eventsBySequence(ctx, org, o.OrgRef, b*n, (b+1)*n) {
			if err != nil {
				return done, err
			}
			if rec.Event == nil {
				continue // purged
			}
			words = append(words, eventWords(rec.Event)...)
			ts := rec.Timestamp.UnixMilli()
			minTs, maxTs = min(minTs, ts), max(maxTs, ts)
		}
		slices.Sort(words)
		words = slices.Compact(words)
		if err := db.putWordFilter(org, b, minTs, maxTs, words); err != nil {
			return done, err
		}
		db.wordBlocksRead.Add(1)
	}
	return done, nil
}

// wordTerms returns the bare words every match must contain (not negated, not prefixes).
func wordTerms(q *auditlog.Query) []string {
	if q == nil {
		return nil
	}
	var out []string
	for _, t := range q.Terms {
		if t.Field == auditlog.FieldWord && !t.Negate && !t.Prefix {
			out = append(out, t.Value)
		}
	}
	return out
}

// maxScanOverlap is how many blocks' time ranges may overlap a block's for
// findByWords to read its events by scanning that time range; beyond, if the
// block's time range is also wideSpan times as wide as the median block's
// (a late event widened it), it reads them one by one by sequence. The
// second condition keeps blocks of a fast ingest scanned: their ranges are
// as wide as the lateness of events (a second, say) and overlap hundreds of
// others, all alike, and reading each by sequence would cost a table block
// per event.
const (
	maxScanOverlap = 128
	wideSpan       = 8
)

// findByWords yields up to limit events of r, newest first, that match q
// and hold every word, reading only the blocks whose filter may hold them.
//
// A block is a range of sequences, but events are keyed by time: when
// timestamps do not follow sequences (concurrent hosts, clocks apart), the
// events of a block lie among those of the blocks whose time ranges overlap
// it, and reading them one by one by sequence costs a seek and a table
// block each. So the time ranges of the candidate blocks are merged into
// disjoint intervals, read newest first in key order, each event once,
// keeping the events of candidate blocks: the matches come out in list
// order, and the reading stops at the limit-th. A block that overlaps too
// many others (a late event widens its range) is read by sequence instead,
// as is the unindexed tail.
func (db *DB) findByWords(ctx context.Context, org uint32, ref auditlog.OrgRef, r keyRange, q *auditlog.Query, words []string, limit int, emit func(*auditlog.Event) bool) error {
	type block struct {
		n            int64 // sequences [n*wordBlock, (n+1)*wordBlock)
		minTs, maxTs int64
	}
	var all, cands []block
	it, err := db.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: wordsKey(org, 0), UpperBound: orgPrefixEnd(prefixWords, org)})
	if err != nil {
		return err
	}
	indexed := int64(0)
	for valid := it.First(); valid; valid = it.Next() {
		b := int64(beUint64(it.Key()[5:]))
		indexed = b + 1
		v := it.Value()
		if len(v) < 16 {
			continue
		}
		blk := block{b, int64(binary.BigEndian.Uint64(v[:8])), int64(binary.BigEndian.Uint64(v[8:16]))}
		all = append(all, blk)
		if blk.maxTs < r.from || blk.minTs > r.to || r.before && blk.minTs > r.beforeTS {
			continue
		}
		if allIn(wordFilter(v[16:]), words) {
			cands = append(cands, blk)
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return err
	}

	// How many blocks overlap [a, b]: those starting by b less those ending before a.
	mins, maxs := make([]int64, len(all)), make([]int64, len(all))
	for i, b := range all {
		mins[i], maxs[i] = b.minTs, b.maxTs
	}
	slices.Sort(mins)
	slices.Sort(maxs)
	widths := make([]int64, len(all))
	for i, b := range all {
		widths[i] = b.maxTs - b.minTs
	}
	slices.Sort(widths)
	var median int64
	if len(widths) > 0 {
		median = widths[len(widths)/2]
	}
	overlap := func(b block) int {
		i, _ := slices.BinarySearch(mins, b.maxTs+1)
		j, _ := slices.BinarySearch(maxs, b.minTs)
		return i - j
	}
	scanned := make([]bool, indexed) // by block: read by the interval scan
	type span struct{ from, to int64 }
	var (
		spans []span
		bySeq []block
	)
	for _, b := range cands {
		if overlap(b) > maxScanOverlap && b.maxTs-b.minTs > wideSpan*median {
			bySeq = append(bySeq, b)
			continue
		}
		scanned[b.n] = true
		spans = append(spans, span{max(b.minTs, r.from), min(b.maxTs, r.to)})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	var merged []span
	for _, s := range spans {
		if n := len(merged); n > 0 && s.from <= merged[n-1].to+1 {
			merged[n-1].to = max(merged[n-1].to, s.to)
			continue
		}
		merged = append(merged, s)
	}

	// An event can hold the words only in its description (the catalog's,
	// told by its action, or its own, in its encoded value) or its details
	// (in its encoded value): skip, undecoded, those that surely do not.
	actions := auditlog.Actions()
	catalogHas := make([][]bool, len(actions)) // [action code][word]: its catalog description has the word
	for code, a := range actions {
		catalogHas[code] = make([]bool, len(words))
		for i, w := range words {
			catalogHas[code][i] = slices.Contains(auditlog.Words(a.Description), w)
		}
	}
	keep := func(v []byte) bool {
		code, ok := valueAction(v)
		for i, w := range words {
			if !(ok && code < len(actions) && catalogHas[code][i]) && !auditlog.MayContainWord(v, w) {
				return false
			}
		}
		return true
	}

	// The blocks read by sequence, and the unindexed tail, which may hold
	// anything at any time: their matches, newest first.
	var other []*auditlog.Event
	bySeq = append(bySeq, block{indexed, math.MinInt64, math.MaxInt64})
	for _, b := range bySeq {
		to := (b.n + 1) * db.wordBlock
		if b.n == indexed {
			to = math.MaxInt64
		}
		for rec, err := range db.eventsBySequenceWhere(ctx, org, ref, b.n*db.wordBlock, to, keep) {
			if err != nil {
				return err
			}
			if rec.Event != nil && r.has(rec.Timestamp.UnixMilli(), rec.Sequence) && q.Match(rec.Event) {
				other = append(other, rec.Event)
			}
		}
	}
	newerFirst := func(a, b *auditlog.Event) int {
		if c := -a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return -cmp.Compare(a.Sequence, b.Sequence)
	}
	slices.SortFunc(other, newerFirst)

	// The intervals, newest first: their matches come in list order.
	var found []*auditlog.Event
	prefix := appendU32([]byte{prefixEvent}, org)
	for i := len(merged) - 1; i >= 0 && len(found) < limit; i-- {
		s := r
		s.from, s.to = merged[i].from, merged[i].to
		lower, upper := s.bounds(prefix)
		it, err := db.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return err
		}
		for valid := it.Last(); valid && len(found) < limit; valid = it.Prev() {
			ts, seq := parseEventKey(it.Key())
			if b := seq / db.wordBlock; b >= indexed || !scanned[b] {
				continue // not a candidate, or read by sequence
			}
			v := it.Value()
			if !keep(v) {
				continue
			}
			e := &auditlog.Event{Organization: ref}
			if err := decodeEvent(e, ts, seq, v); err != nil {
				_ = it.Close() // an error: its reads go uncounted
				return fmt.Errorf("event %s/%d: %w", ref, seq, err)
			}
			if q.Match(e) {
				found = append(found, e)
			}
		}
		db.eventBlockBytes.Add(int64(it.Stats().InternalStats.BlockBytes))
		if err := errors.Join(it.Error(), it.Close(), ctx.Err()); err != nil {
			return err
		}
	}
	found = append(found, other...)
	slices.SortStableFunc(found, newerFirst)
	for _, e := range found[:min(limit, len(found))] {
		if !emit(e) {
			return nil
		}
	}
	return nil
}

func allIn(f wordFilter, words []string) bool {
	for _, w := range words {
		if !f.mayHave(w) {
			return false
		}
	}
	return true
}
