package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/storetest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/auditlog/auditlog/postgres"
)

// auditStore is a store of three organizations: acme with events 0-7 and
// checkpoints of 5 and 8 events, beta with events 0-2 and a checkpoint of 3,
// gamma with none. erin@acme.example caused acme's event 4 and beta's event 1,
// and was erased.
func auditStore(tb testing.TB) (*DB, *merkle.Key) {
	tb.Helper()
	ctx := context.Background()
	key := MustNewKey(tb)
	db := MustOpenSignedDB(tb, key, 0)
	for _, ref := range []auditlog.OrgRef{acme, beta, gamma} {
		storetest.MustCreateOrg(tb, db, ref, auditlog.PlanBusiness)
	}
	email := func(ref auditlog.OrgRef, i int) string {
		if (ref == acme && i == 4) || (ref == beta && i == 1) {
			return "erin@acme.example"
		}
		return "user@" + ref.Name + ".example"
	}
	var batch []auditlog.Event
	for i := range 5 {
		batch = append(batch, storetest.LogEvent(acme, i, email(acme, i)))
	}
	for i := range 3 {
		batch = append(batch, storetest.LogEvent(beta, i, email(beta, i)))
	}
	storetest.MustAppend(tb, db, batch...)
	if err := db.SignCheckpoints(ctx); err != nil {
		tb.Fatal(err)
	}
	storetest.MustAppend(tb, db, storetest.LogEvent(acme, 5, email(acme, 5)), storetest.LogEvent(acme, 6, email(acme, 6)), storetest.LogEvent(acme, 7, email(acme, 7)))
	if err := db.SignCheckpoints(ctx); err != nil {
		tb.Fatal(err)
	}
	if n, err := db.EraseUser(ctx, "erin@acme.example"); err != nil || n != 2 {
		tb.Fatalf("erase: %d, %v", n, err)
	}
	return db, key
}

func TestVerify_Intact(t *testing.T) {
	db, key := auditStore(t)
	rep, err := db.Verify(context.Background(), key.Verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Organizations != 3 || rep.Events != 11 || rep.Checkpoints != 3 || rep.Purged != 0 {
		t.Errorf("report %+v, want 3 organizations, 11 events, 3 checkpoints", rep)
	}
}

func TestVerify_WrongKey(t *testing.T) {
	db, _ := auditStore(t)
	_, err := db.Verify(context.Background(), MustNewKey(t).Verifier, nil)
	wantVerifyError(t, err, acme, -1, "checkpoint of size 5")
}

// TestVerify_Tampered changes the database by hand, as someone with access
// to it could, and checks that Verify finds and names each change.
func TestVerify_Tampered(t *testing.T) {
	const acmeOrg = `(SELECT id FROM organizations WHERE provider = 'gh' AND name = 'acme')`
	for _, tc := range []struct {
		name    string
		sql     string
		org     auditlog.OrgRef
		seq     int64
		problem string
	}{
		{"description changed", `UPDATE events SET description = 'nothing happened' WHERE org_id = ` + acmeOrg + ` AND seq = 3`,
			acme, 3, "content differs"},
		{"details changed", `UPDATE events SET details = '{"n":99}' WHERE org_id = ` + acmeOrg + ` AND seq = 6`,
			acme, 6, "content differs"},
		{"timestamp changed (the event moves)", `UPDATE events SET ts = ts + interval '1 second' WHERE org_id = ` + acmeOrg + ` AND seq = 2`,
			acme, 2, "missing"},
		{"actor changed", `UPDATE events SET actor_email = 'mallory@acme.example' WHERE org_id = ` + acmeOrg + ` AND seq = 1`,
			acme, 1, "content differs"},
		{"erased event shows an email again", `UPDATE events SET actor_email = 'erin@acme.example' WHERE org_id = ` + acmeOrg + ` AND seq = 4`,
			acme, 4, "it is erased"},
		{"recent event deleted", `DELETE FROM events WHERE org_id = ` + acmeOrg + ` AND seq = 5`,
			acme, 5, "no signed purge note covers it"},
		{"leaf deleted", `DELETE FROM leaves WHERE org_id = ` + acmeOrg + ` AND seq = 4`,
			acme, 4, "the log jumps"},
		{"last leaf deleted", `DELETE FROM leaves WHERE org_id = ` + acmeOrg + ` AND seq = 7`,
			acme, 7, "missing"},
		{"stored leaf hash changed", `UPDATE leaves SET hashes = overlay(hashes placing '\xff'::bytea from 1) WHERE org_id = ` + acmeOrg + ` AND seq = 2`,
			acme, 2, "recomputed leaf hash does not match"},
		{"stored interior hash changed", `UPDATE leaves SET hashes = overlay(hashes placing '\xff'::bytea from 33) WHERE org_id = ` + acmeOrg + ` AND seq = 3`,
			acme, -1, "stored tree hash at level 1"},
		{"latest checkpoint deleted", `DELETE FROM checkpoints WHERE org_id = ` + acmeOrg + ` AND size = 8`,
			acme, 5, "not covered by any signed checkpoint"},
		{"checkpoint moved to another size", `UPDATE checkpoints SET size = 6 WHERE org_id = ` + acmeOrg + ` AND size = 5`,
			acme, -1, "says size 5"},
		{"event added beside the log", `INSERT INTO events SELECT org_id, ts, 100, id, action, actor_email, actor_role, result, source, received_at,
			repository, entity, description, details, ip, user_agent, salt, personal_hash FROM events WHERE org_id = ` + acmeOrg + ` AND seq = 7`,
			acme, 100, "added beside the log"},
		{"beta's event changed", `UPDATE events SET result = 'failed' WHERE org_id = (SELECT id FROM organizations WHERE name = 'beta') AND seq = 0`,
			beta, 0, "content differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, key := auditStore(t)
			if n := mustExec(t, db.DSN, tc.sql); n != 1 {
				t.Fatalf("the tampering changed %d rows, want 1", n)
			}
			_, err := db.Verify(context.Background(), key.Verifier, nil)
			wantVerifyError(t, err, tc.org, tc.seq, tc.problem)
		})
	}
}

func wantVerifyError(tb testing.TB, err error, org auditlog.OrgRef, seq int64, problem string) {
	tb.Helper()
	var ve *postgres.VerifyError
	if !errors.As(err, &ve) {
		tb.Fatalf("verify: %v, want a VerifyError about %s", err, org)
	}
	if ve.Org != org || ve.Sequence != seq || !strings.Contains(ve.Problem, problem) {
		tb.Errorf("verify: %v\nwant organization %s, event %d, a problem saying %q", ve, org, seq, problem)
	}
}

// TestVerify_ForgedPurgeNote deletes an event by hand and stores a purge
// note for it signed with another key: it does not pass for retention.
func TestVerify_ForgedPurgeNote(t *testing.T) {
	db, key := auditStore(t)
	mustExec(t, db.DSN, `DELETE FROM events WHERE org_id = (SELECT id FROM organizations WHERE name = 'acme') AND seq = 5`)
	forged, err := merkle.SignPurge(MustNewKey(t), merkle.Origin("auditlog", acme), []merkle.SeqRange{{First: 5, Last: 5}})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db.DSN, `INSERT INTO purge_notes (org_id, note, purged_at) SELECT id, $1, now() FROM organizations WHERE name = 'acme'`, string(forged))
	_, err = db.Verify(context.Background(), key.Verifier, nil)
	wantVerifyError(t, err, acme, -1, "purge note does not verify")

	// A genuine note of another organization does not cover it either.
	mustExec(t, db.DSN, `DELETE FROM purge_notes`)
	other, err := merkle.SignPurge(key, merkle.Origin("auditlog", beta), []merkle.SeqRange{{First: 5, Last: 5}})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db.DSN, `INSERT INTO purge_notes (org_id, note, purged_at) SELECT id, $1, now() FROM organizations WHERE name = 'acme'`, string(other))
	_, err = db.Verify(context.Background(), key.Verifier, nil)
	wantVerifyError(t, err, acme, -1, "purge note is not of")
}
