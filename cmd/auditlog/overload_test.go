package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	ahttp "github.com/auditlog/auditlog/http"
)

// TestIngestOverload floods a server whose ingest budget admits one batch at
// a time, with two more waiting at most 5ms: the others are answered 503 with
// Retry-After, and once the clients have sent them again, every acknowledged
// event is stored exactly once. The refusals show in the metrics.
func TestIngestOverload(t *testing.T) {
	const clients, batches, size = 16, 10, 200
	batch := func(c, b int) ([]byte, []string) {
		var body bytes.Buffer
		var ids []string
		body.WriteByte('[')
		for i := range size {
			id := fmt.Sprintf("flood-c%d-b%d-e%d", c, b, i)
			ids = append(ids, id)
			if i > 0 {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"organization":{"provider":"gh","name":"acme"},"id":%q,"action":"user.login","actor":{"email":"u%d@acme.example"}}`, id, i)
		}
		body.WriteByte(']')
		return body.Bytes(), ids
	}
	first, _ := batch(0, 0)
	s := MustRunService(t, func(c *Config) {
		// Room for one batch and a half: the batches are all about as large.
		c.MaxInflightIngestBytes = int64(len(first)) * 3 / 2
		c.MaxQueuedIngest, c.IngestQueueWait = 2, 5*time.Millisecond
	})
	s.MustCreateOrg("gh", "acme", "business")
	tok := s.MustMemberToken("gh", "acme", "ana@acme.example", "organizationAdmin", false)

	var refused atomic.Int64
	acked := make([][]string, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for b := range batches {
				body, ids := batch(c, b)
				for try := 0; ; try++ {
					if try == 1000 {
						errs <- fmt.Errorf("client %d: batch %d refused 1000 times", c, b)
						return
					}
					req, _ := http.NewRequest("POST", s.URL+"/api/v1/events", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+testAdminToken)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						errs <- err
						return
					}
					data, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusServiceUnavailable {
						if resp.Header.Get("Retry-After") == "" {
							errs <- fmt.Errorf("503 without Retry-After: %s", data)
							return
						}
						refused.Add(1)
						time.Sleep(time.Duration(1+try%5) * time.Millisecond)
						continue
					}
					var res auditlog.AppendResult
					if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &res) != nil || res.Accepted != size {
						errs <- fmt.Errorf("client %d batch %d: %d %s", c, b, resp.StatusCode, data)
						return
					}
					acked[c] = append(acked[c], ids...)
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if refused.Load() == 0 {
		t.Fatal("no batch was refused: ingest is not bounded")
	}

	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(s.MustDo(http.StatusOK, "GET", "/api/v1/organizations/gh/acme/events/export?format=ndjson", nil, apiTok(tok)...)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct{ ID string }
		mustUnmarshal(t, sc.Bytes(), &e)
		if strings.HasPrefix(e.ID, "flood-") {
			seen[e.ID]++
		}
	}
	n := 0
	for _, ids := range acked {
		for _, id := range ids {
			n++
			if seen[id] != 1 {
				t.Fatalf("acknowledged event %s is stored %d times", id, seen[id])
			}
		}
	}
	if got, want := len(seen), clients*batches*size; n != want || got != want {
		t.Fatalf("%d events acknowledged, %d stored, want %d", n, got, want)
	}
	metrics := string(s.MustDo(http.StatusOK, "GET", "/metrics", nil))
	for _, m := range []string{`auditlog_ingest_refused_total{reason="queue_full"}`, `auditlog_ingest_refused_total{reason="timeout"}`, "auditlog_ingest_inflight 0", "auditlog_ingest_inflight_bytes 0", "auditlog_ingest_waiting 0"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics has no %s", m)
		}
	}
	t.Logf("%d batches refused with 503 and sent again", refused.Load())
}

// The in-flight budget is a size, from the flag or the environment.
func TestIngestAdmissionFlags(t *testing.T) {
	cfg, err := parseServeFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.MaxInflightIngestBytes, int64(ahttp.DefaultMaxInflightIngestBytes); got != want {
		t.Errorf("default budget %d, want %d", got, want)
	}
	t.Setenv("AUDITLOG_MAX_INFLIGHT_INGEST_BYTES", "16MiB")
	if cfg, err = parseServeFlags(nil, &bytes.Buffer{}); err != nil || cfg.MaxInflightIngestBytes != 16<<20 {
		t.Errorf("AUDITLOG_MAX_INFLIGHT_INGEST_BYTES=16MiB: %d, %v", cfg.MaxInflightIngestBytes, err)
	}
	if cfg, err = parseServeFlags([]string{"--max-inflight-ingest-bytes", "0"}, &bytes.Buffer{}); err != nil || cfg.MaxInflightIngestBytes != 0 {
		t.Errorf("--max-inflight-ingest-bytes 0: %d, %v", cfg.MaxInflightIngestBytes, err)
	}
	for _, args := range [][]string{{"--max-inflight-ingest-bytes", "lots"}, {"--max-inflight-ingest", "16"}} {
		if _, err := parseServeFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// The soft memory limit is a size, from the flag or the environment.
func TestMemoryLimitFlag(t *testing.T) {
	cfg, err := parseServeFlags(nil, &bytes.Buffer{})
	if err != nil || cfg.MemoryLimit != DefaultMemoryLimit {
		t.Fatalf("default %d, %v; want %d", cfg.MemoryLimit, err, DefaultMemoryLimit)
	}
	t.Setenv("AUDITLOG_MEMORY_LIMIT", "1GiB")
	if cfg, err = parseServeFlags(nil, &bytes.Buffer{}); err != nil || cfg.MemoryLimit != 1<<30 {
		t.Errorf("AUDITLOG_MEMORY_LIMIT=1GiB: %d, %v", cfg.MemoryLimit, err)
	}
	if cfg, err = parseServeFlags([]string{"--memory-limit", "0"}, &bytes.Buffer{}); err != nil || cfg.MemoryLimit != 0 {
		t.Errorf("--memory-limit 0: %d, %v", cfg.MemoryLimit, err)
	}
	if _, err := parseServeFlags([]string{"--memory-limit", "much"}, &bytes.Buffer{}); err == nil {
		t.Error("--memory-limit much accepted")
	}
}

// TestIngestChunkedRunsAlone: a batch sent without Content-Length weighs the
// whole in-flight budget, so while it is read a small batch with one waits,
// here past its queue wait, and is refused; after it, the small one goes in.
func TestIngestChunkedRunsAlone(t *testing.T) {
	s := MustRunService(t, func(c *Config) { c.IngestQueueWait = 20 * time.Millisecond })
	s.MustCreateOrg("gh", "acme", "business")
	const one = `{"organization":{"provider":"gh","name":"acme"},"id":"%s","action":"user.login","actor":{"email":"ana@acme.example"}}`

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/events", pr) // no length: chunked
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	chunked := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			chunked <- 0
			return
		}
		resp.Body.Close()
		chunked <- resp.StatusCode
	}()
	fmt.Fprintf(pw, "["+one, "chunked-1")
	whole := fmt.Sprintf("auditlog_ingest_inflight_bytes %g", float64(ahttp.DefaultMaxInflightIngestBytes))
	for deadline := time.Now().Add(time.Minute); !strings.Contains(string(s.MustDo(http.StatusOK, "GET", "/metrics", nil)), whole); {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %s while the chunked batch was read", whole)
		}
		time.Sleep(5 * time.Millisecond)
	}
	small := "[" + fmt.Sprintf(one, "small-1") + "]"
	if status, data, h := s.Do("POST", "/api/v1/events", small, admin()...); status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("a small batch beside a chunked one: %d, Retry-After %q: %s", status, h.Get("Retry-After"), data)
	}
	fmt.Fprintf(pw, ","+one+"]", "chunked-2")
	pw.Close()
	if status := <-chunked; status != http.StatusOK {
		t.Fatalf("the chunked batch: status %d", status)
	}
	s.MustDo(http.StatusOK, "POST", "/api/v1/events", small, admin()...)
}
