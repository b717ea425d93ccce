// Package natstest gives each test its own JetStream stream on the test
// NATS server, so that test runs (and tests within a run) never see each
// other's messages.
//
// The server is AUDITLOG_TEST_NATS_URL. Without it, or when it cannot be
// reached, tests that need it are skipped, except under CI=true, where they
// fail: CI must run the NATS tests.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// EnvURL is the variable that names the test server.
const EnvURL = "AUDITLOG_TEST_NATS_URL"

// Stream is a JetStream stream made for one test.
type Stream struct {
	URL     string // the server
	Name    string // the stream's name
	Subject string // the one subject it captures
	JS      jetstream.JetStream
}

// MustStream creates a JetStream stream with a unique name and subject,
// deleted when tb ends, with a duplicate window of dedup.
func MustStream(tb testing.TB, dedup time.Duration) *Stream {
	tb.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		unavailable(tb, EnvURL+" is not set")
	}
	nc, err := nats.Connect(u, nats.Timeout(5*time.Second))
	if err != nil {
		unavailable(tb, "cannot connect: "+err.Error())
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	s := &Stream{URL: u, Name: "AUDITLOG_TEST_" + id, Subject: "auditlog.test." + id, JS: js}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: s.Name, Subjects: []string{s.Subject}, Duplicates: dedup, Storage: jetstream.MemoryStorage}); err != nil {
		unavailable(tb, "cannot create a JetStream stream (is JetStream on?): "+err.Error())
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, s.Name); err != nil {
			tb.Errorf("delete JetStream stream %s: %v", s.Name, err)
		}
	})
	return s
}

// Messages returns every message of the stream, in stream order.
func (s *Stream) Messages(tb testing.TB) []jetstream.Msg {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.JS.Stream(ctx, s.Name)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	n := int(info.State.Msgs)
	if n == 0 {
		return nil
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	var out []jetstream.Msg
	for len(out) < n {
		batch, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			tb.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			out = append(out, m)
			got++
		}
		if err := batch.Error(); err != nil {
			tb.Fatal(err)
		}
		if got == 0 {
			tb.Fatalf("fetched %d of %d messages", len(out), n)
		}
	}
	return out
}

func unavailable(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("NATS with JetStream is required under CI=true: %s", why)
	}
	tb.Skipf("NATS tests skipped: %s (set %s)", why, EnvURL)
}
