package pebble

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

// TestWriter_CloseWhileAppending closes the writer while appends pour in: each
// append either is stored and says so, or is refused as unavailable; none
// hangs, and what was acknowledged is on disk, without gaps.
func TestWriter_CloseWhileAppending(t *testing.T) {
	ref := auditlog.OrgRef{Provider: "gh", Name: "acme"}
	now := time.Date(2025, 6, 28, 14, 29, 13, 430e6, time.UTC)
	rounds := 30
	if testing.Short() {
		rounds = 5
	}
	for round := range rounds {
		dir := t.TempDir()
		db := NewDB(dir)
		db.Now = func() time.Time { return now }
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.PutOrganization(context.Background(), ref, auditlog.OrganizationUpdate{}); err != nil {
			t.Fatal(err)
		}

		const appenders = 16
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			acked = map[string]int64{}
		)
		errs := make(chan error, appenders)
		for a := range appenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					id := fmt.Sprintf("a%d-%d", a, i)
					res, err := db.AppendEvents(ctx, []auditlog.Event{{
						Organization: ref, ID: id, Action: "user.login", Actor: auditlog.Actor{Email: "a@example.com"},
					}})
					cancel()
					if err != nil {
						if auditlog.ErrorCode(err) != auditlog.EUNAVAILABLE {
							errs <- fmt.Errorf("appender %d after close: %v, want %s", a, err, auditlog.EUNAVAILABLE)
						}
						return
					}
					mu.Lock()
					acked[id] = res.Events[0].Sequence
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		closed := make(chan struct{})
		go func() {
			db.writer.close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: closing the writer hangs", round)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		db = NewDB(dir)
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		stored := map[string]int64{}
		for e, err := range db.FindEvents(context.Background(), ref, auditlog.EventFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			stored[e.ID] = e.Sequence
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		for id, seq := range acked {
			if got, ok := stored[id]; !ok || got != seq {
				t.Errorf("round %d: %s acknowledged at %d, stored: %d %v", round, id, seq, got, ok)
			}
		}
		seen := make([]bool, len(stored))
		for _, seq := range stored {
			if seq < 0 || seq >= int64(len(seen)) || seen[seq] {
				t.Fatalf("round %d: sequences of %d events are not 0..%d: %d", round, len(stored), len(stored)-1, seq)
			}
			seen[seq] = true
		}
		if t.Failed() {
			return
		}
	}
}
