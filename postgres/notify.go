package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/jackc/pgx/v5"
)

// Servers tell each other of their commits through PostgreSQL's
// LISTEN/NOTIFY, so that a stream delivered by one server learns at once of
// events ingested through another. After each commit, the notifier sends
// the organizations that grew on the schema's channel: notifications of
// lines, the first the sending server's holder id, then one
// "<size> <provider>/<name>" per organization (names hold no control
// characters), at most notePayload bytes each. It sends them after the
// commit, in a statement of their own, so that the commit does not hold the
// database-wide lock of NOTIFY. The listener of each server, on a connection
// of its own, passes the other servers' notifications to DB.Committed. A
// notification lost (a crash between the commit and the send, a listener
// reconnecting) delays delivery to the stream worker's next poll, at most
// about a second.

// commitChannel returns the channel of the schema: channels are database
// wide, and schemas (tests, tenants) share one database.
func commitChannel(schema string) string {
	h := sha256.Sum256([]byte(schema))
	return "auditlog_commits_" + hex.EncodeToString(h[:8])
}

// notePayload bounds a notification's payload (PostgreSQL's limit is 8000 bytes).
const notePayload = 7000

// notifier sends this server's commit notifications.
type notifier struct {
	db   *DB
	wake chan struct{}

	mu    sync.Mutex
	grown map[auditlog.OrgRef]int64 // organization -> log size, since the last send
}

func newNotifier(db *DB) *notifier {
	return &notifier{db: db, wake: make(chan struct{}, 1), grown: map[auditlog.OrgRef]int64{}}
}

// grew records that a commit of this server grew ref's log to size. It never blocks.
func (n *notifier) grew(ref auditlog.OrgRef, size int64) {
	n.mu.Lock()
	n.grown[ref] = max(n.grown[ref], size)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// run sends what grew, one statement for every organization that grew
// since the last send, until ctx ends.
func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		n.mu.Lock()
		var payloads []string
		var b strings.Builder
		for ref, size := range n.grown {
			line := strconv.FormatInt(size, 10) + " " + ref.String()
			if b.Len() > 0 && b.Len()+1+len(line) > notePayload {
				payloads = append(payloads, b.String())
				b.Reset()
			}
			if b.Len() == 0 {
				b.WriteString(n.db.holder)
			}
			b.WriteString("\n" + line)
		}
		if b.Len() > 0 {
			payloads = append(payloads, b.String())
		}
		clear(n.grown)
		n.mu.Unlock()
		if len(payloads) == 0 {
			continue
		}
		if _, err := n.db.pool.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, n.db.channel, payloads); err != nil && ctx.Err() == nil {
			n.db.Logger.Warn("notifying the other servers of a commit failed; their streams will find the events by polling", "err", err)
		}
	}
}

// listen passes the other servers' commit notifications to DB.Committed
// until ctx ends, reconnecting (with backoff) when its connection fails.
func (db *DB) listen(ctx context.Context) {
	backoff := time.Second
	for {
		err := db.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		db.Logger.Warn("listening for other servers' commits failed; reconnecting", "err", err, "in", backoff)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (db *DB) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{db.channel}.Sanitize()); err != nil {
		return err
	}
	for {
		msg, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		holder, lines, _ := strings.Cut(msg.Payload, "\n")
		if holder == db.holder {
			continue // this server's own: DB.Committed heard of them at once
		}
		for line := range strings.SplitSeq(lines, "\n") {
			ref, size, err := parseGrown(line)
			if err != nil {
				db.Logger.Warn("ignored a malformed commit notification", "line", line, "err", err)
				continue
			}
			db.Committed(ref, size)
		}
	}
}

// parseGrown reads a line of a commit notification: "<size> <provider>/<name>".
func parseGrown(line string) (auditlog.OrgRef, int64, error) {
	num, org, ok1 := strings.Cut(line, " ")
	provider, name, ok2 := strings.Cut(org, "/")
	size, err := strconv.ParseInt(num, 10, 64)
	if !ok1 || !ok2 || err != nil || provider == "" || name == "" {
		return auditlog.OrgRef{}, 0, fmt.Errorf("want <size> <provider>/<name>")
	}
	return auditlog.OrgRef{Provider: provider, Name: name}, size, nil
}
