package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
)

func testConcurrency(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("GaplessSequences", func(t *testing.T) {
		// 50 writers append single events to the same 3 organizations at once:
		// each organization's sequences are 0..n-1, each given once, and the
		// answers match what was stored.
		const writers, perWriter = 50, 6
		s, _ := mustOpen(t, open)
		orgs := []auditlog.OrgRef{acme, beta, zeta}
		for _, ref := range orgs {
			MustCreateOrg(t, s, ref, auditlog.PlanBusiness)
		}
		var (
			mu       sync.Mutex
			answered = map[auditlog.OrgRef]map[string]int64{}
			wg       sync.WaitGroup
		)
		for _, ref := range orgs {
			answered[ref] = map[string]int64{}
		}
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					ref := orgs[(w+i)%len(orgs)]
					id := ""
					if i%2 == 0 { // half with client ids, half with server ids
						id = fmt.Sprintf("w%02d-%d", w, i)
					}
					res, err := s.AppendEvents(ctx, []auditlog.Event{NewEvent(ref, id)})
					if err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
						return
					}
					if res.Accepted != 1 || len(res.Events) != 1 {
						errs <- fmt.Errorf("writer %d: answer %+v", w, res)
						return
					}
					mu.Lock()
					answered[ref][res.Events[0].ID] = res.Events[0].Sequence
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		total := 0
		for _, ref := range orgs {
			events := MustFindEvents(t, s, ref, auditlog.EventFilter{})
			total += len(events)
			stored := map[string]int64{}
			for _, e := range events {
				stored[e.ID] = e.Sequence
			}
			if diff := cmp.Diff(answered[ref], stored); diff != "" {
				t.Errorf("%s: answered vs stored (-answered +stored):\n%s", ref, diff)
			}
			want := make([]int64, len(events))
			for i := range want {
				want[i] = int64(i)
			}
			if diff := cmp.Diff(want, sequences(events)); diff != "" {
				t.Errorf("%s: sequences are not 0..%d (-want +got):\n%s", ref, len(events)-1, diff)
			}
		}
		if total != writers*perWriter {
			t.Errorf("stored %d events, want %d", total, writers*perWriter)
		}
	})

	t.Run("SameID", func(t *testing.T) {
		// Writers racing with the same id: one stores it, all are told its sequence.
		const writers = 20
		s, _ := mustOpen(t, open)
		MustCreateOrg(t, s, acme, auditlog.PlanBusiness)
		MustAppend(t, s, NewEvent(acme, "first"))
		var (
			wg      sync.WaitGroup
			results = make([]*auditlog.AppendResult, writers)
			errs    = make([]error, writers)
		)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[w], errs[w] = s.AppendEvents(ctx, []auditlog.Event{NewEvent(acme, "contested")})
			}()
		}
		wg.Wait()
		accepted := 0
		for w := range writers {
			if errs[w] != nil {
				t.Fatalf("writer %d: %v", w, errs[w])
			}
			accepted += results[w].Accepted
			if got := results[w].Events[0]; got != (auditlog.Appended{ID: "contested", Sequence: 1}) {
				t.Errorf("writer %d: answered %+v, want contested at 1", w, got)
			}
		}
		if accepted != 1 {
			t.Errorf("%d writers stored the event, want 1", accepted)
		}
		if diff := cmp.Diff([]int64{0, 1}, sequences(MustFindEvents(t, s, acme, auditlog.EventFilter{}))); diff != "" {
			t.Errorf("sequences (-want +got):\n%s", diff)
		}
	})
}
