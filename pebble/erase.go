package pebble

import (
	"context"
	"errors"
	"fmt"

	"github.com/auditlog/auditlog"
	"github.com/cockroachdb/pebble/v2"
)

// EraseUser removes a person's personal data: in every organization, the
// actor email, IP address and user agent of their events, with the salts
// that committed to them (the leaves keep the personal hash, so every proof
// still verifies); and their memberships and tokens. It then rewrites the
// affected parts of the database so that the values are gone from its files,
// not only hidden.
func (db *DB) EraseUser(ctx context.Context, email string) (int, error) {
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return 0, err
	}
	db.eraseMu.Lock()
	defer db.eraseMu.Unlock()

	var orgs []uint32
	if err := db.forEachOrg(func(org uint32) error {
		orgs = append(orgs, org)
		return nil
	}); err != nil {
		return 0, err
	}
	total := 0
	var compact [][2][]byte
	for _, org := range orgs {
		n, err := db.eraseInOrg(ctx, org, email)
		if err != nil {
			return total, err
		}
		if n > 0 {
			compact = append(compact, [2][]byte{appendU32([]byte{prefixEvent}, org), orgPrefixEnd(prefixEvent, org)}, [2][]byte{actorPrefix(org, email), prefixEnd(actorPrefix(org, email))})
		}
		total += n
	}
	if err := db.forgetUser(email); err != nil {
		return total, err
	}
	compact = append(compact,
		[2][]byte{userOrgPrefix(email), prefixEnd(userOrgPrefix(email))},
		[2][]byte{userTokenPrefix(email), prefixEnd(userTokenPrefix(email))},
		[2][]byte{{prefixMember}, {prefixMember + 1}},
		[2][]byte{{prefixToken}, {prefixToken + 1}},
	)
	// Flush the memtable (its WAL is then deleted: see deleteCleaner) and
	// rewrite every table that held the old values.
	if err := db.db.Flush(); err != nil {
		return total, fmt.Errorf("erase: flush: %w", err)
	}
	for _, r := range compact {
		if err := db.db.Compact(ctx, r[0], r[1], true); err != nil {
			return total, fmt.Errorf("erase: compact: %w", err)
		}
	}
	db.Logger.Info("erased a user's personal data", "events", total)
	return total, nil
}

// eraseInOrg erases the personal fields of the user's events in one organization.
func (db *DB) eraseInOrg(ctx context.Context, org uint32, email string) (int, error) {
	prefix := actorPrefix(org, email)
	it, err := db.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	b := db.db.NewBatch()
	defer b.Close()
	n := 0
	var entries []posting
	for valid := it.First(); valid; valid = it.Next() {
		if entries, err = decodePostings(entries[:0], it.Key()[len(prefix):], it.Value()); err != nil {
			return n, fmt.Errorf("erase: actor index of organization %d: %w", org, err)
		}
		for _, p := range entries {
			key := eventKey(org, p.ts, p.seq)
			v, err := db.get(key)
			if errors.Is(err, pebble.ErrNotFound) {
				continue // purged by retention
			} else if err != nil {
				return n, err
			}
			var e auditlog.Event
			if err := decodeEvent(&e, p.ts, p.seq, v); err != nil {
				return n, fmt.Errorf("erase: event %d/%d: %w", org, p.seq, err)
			}
			if !e.Erased() {
				if err := e.Erase(); err != nil {
					return n, err
				}
				_ = b.Set(key, encodeEvent(nil, &e), nil)
				n++
			}
		}
		_ = b.Delete(it.Key(), nil)
	}
	if err := it.Error(); err != nil {
		return n, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("erase: %w", err)
	}
	return n, nil
}

// forgetUser deletes a user's memberships and tokens.
func (db *DB) forgetUser(email string) error {
	db.dirMu.Lock()
	defer db.dirMu.Unlock()
	b := db.db.NewBatch()
	defer b.Close()
	for _, p := range [][]byte{userOrgPrefix(email), userTokenPrefix(email)} {
		it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return err
		}
		for valid := it.First(); valid; valid = it.Next() {
			rest := it.Key()[len(p):]
			if p[0] == prefixUserOrg {
				_ = b.Delete(memberKey(beUint32(rest), email), nil)
			} else {
				_ = b.Delete(append([]byte{prefixToken}, it.Value()...), nil)
			}
			_ = b.Delete(append([]byte(nil), it.Key()...), nil)
		}
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

// deleteCleaner deletes Pebble's obsolete files, as its default cleaner
// does, and tells Pebble not to keep obsolete write-ahead logs for reuse: a
// recycled log keeps its old contents on disk, erased values included, until
// it happens to be written over. (Pebble turns recycling off for a cleaner
// that needs the files' contents; that marker is an unexported method of
// ArchiveCleaner, promoted here from the embedded keepLogs. Clean is
// DeleteCleaner's: it is the shallower.)
type deleteCleaner struct {
	pebble.DeleteCleaner
	keepLogs
}

type keepLogs struct{ pebble.ArchiveCleaner }
