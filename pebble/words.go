package pebble

import (
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

func wordHashes(w string) (uint64, uint64) {
	h := fnv.New64a()
	h.Write([]byte(w))
	a := h.Sum64()
	return a, a>>33 | a<<31 | 1
}

func (b wordFilter) add(w string) {
	h1, h2 := wordHashes(w)
	n := uint64(len(b) * 8)
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % n
		b[bit/8] |= 1 << (bit % 8)
	}
}

func (b wordFilter) mayHave(w string) bool {
	h1, h2 := wordHashes(w)
	n := uint64(len(b) * 8)
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % n
		if b[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
	}
	return true
}

// wordIndexer builds the filters of complete blocks in the background.
type wordIndexer struct {
	db     *DB
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWordIndexer(db *DB) *wordIndexer {
	x := &wordIndexer{db: db, wake: make(chan struct{}, 1)}
	x.ctx, x.cancel = context.WithCancel(context.Background())
	x.wg.Add(1)
	go x.run()
	x.poke()
	return x
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
		if err := x.db.forEachOrg(func(org uint32) error { return x.db.indexWords(x.ctx, org) }); err != nil && x.ctx.Err() == nil {
			x.db.Logger.Error("word index: building failed; retrying", "err", err, "in", backoff)
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

// indexWords builds the filters of org's complete blocks that have none.
func (db *DB) indexWords(ctx context.Context, org uint32) error {
	done, err := db.indexedBlocks(org)
	if err != nil {
		return err
	}
	size, err := db.logSize(org)
	if err != nil {
		return err
	}
	o, err := db.orgByID(org)
	if err != nil {
		return err
	}
	for n := db.wordBlock; (done+1)*n <= size; done++ {
		b := done
		var (
			words        []string
			minTs, maxTs int64 = math.MaxInt64, math.MinInt64
		)
		for rec, err := range db.eventsBySequence(ctx, org, o.OrgRef, b*n, (b+1)*n) {
			if err != nil {
				return err
			}
			if rec.Event == nil {
				continue // purged
			}
			words = append(words, rec.SearchWords()...)
			ts := rec.Timestamp.UnixMilli()
			minTs, maxTs = min(minTs, ts), max(maxTs, ts)
		}
		slices.Sort(words)
		words = slices.Compact(words)
		f := newWordFilter(len(words))
		for _, w := range words {
			f.add(w)
		}
		v := appendU64(appendU64(make([]byte, 0, 16+len(f)), uint64(minTs)), uint64(maxTs))
		if err := db.db.Set(wordsKey(org, b), append(v, f...), pebble.NoSync); err != nil {
			return fmt.Errorf("word index of %s block %d: %w", o.OrgRef, b, err)
		}
	}
	return nil
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

// findByWords yields up to limit events of r, newest first, that match q
// and hold every word, reading only the blocks whose filter may hold them.
func (db *DB) findByWords(ctx context.Context, org uint32, ref auditlog.OrgRef, r keyRange, q *auditlog.Query, words []string, limit int, emit func(*auditlog.Event) bool) error {
	type block struct {
		from, to     int64 // sequences [from, to)
		minTs, maxTs int64
	}
	var blocks []block
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
		minTs, maxTs := int64(binary.BigEndian.Uint64(v[:8])), int64(binary.BigEndian.Uint64(v[8:16]))
		if maxTs < r.from || minTs > r.to {
			continue
		}
		f := wordFilter(v[16:])
		if !allIn(f, words) {
			continue
		}
		blocks = append(blocks, block{b * db.wordBlock, (b + 1) * db.wordBlock, minTs, maxTs})
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return err
	}
	// The unindexed tail may hold anything, at any time.
	blocks = append(blocks, block{indexed * db.wordBlock, math.MaxInt64, math.MinInt64, math.MaxInt64})
	slices.SortFunc(blocks, func(a, b block) int { return -cmpInt(a.maxTs, b.maxTs) })

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
	var found []*auditlog.Event
	for _, b := range blocks {
		if len(found) >= limit {
			kth := found[limit-1]
			if b.maxTs < kth.Timestamp.UnixMilli() {
				break // nothing here can be newer than what is kept
			}
		}
		for rec, err := range db.eventsBySequenceWhere(ctx, org, ref, b.from, b.to, keep) {
			if err != nil {
				return err
			}
			if rec.Event == nil {
				continue // purged
			}
			ts := rec.Timestamp.UnixMilli()
			if ts < r.from || ts > r.to || r.before && (ts > r.beforeTS || ts == r.beforeTS && rec.Sequence >= r.beforeSeq) {
				continue
			}
			if q.Match(rec.Event) {
				found = append(found, rec.Event)
			}
		}
		slices.SortFunc(found, func(a, b *auditlog.Event) int {
			if c := -a.Timestamp.Compare(b.Timestamp); c != 0 {
				return c
			}
			return -cmpInt(a.Sequence, b.Sequence)
		})
		if len(found) > limit {
			found = found[:limit]
		}
	}
	for _, e := range found {
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

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
