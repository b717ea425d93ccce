package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/tmpfs"
)

// TestDiskFull runs the real binary with its data directory on a 48 MiB
// tmpfs and fills the file system up with a filler file, twice.
//
// With the free-space reserve (--min-free-disk 4MiB), ingest is answered 503
// with Retry-After and /readyz is not ready, the log says "no space left on
// device" once however many batches are refused, and once the filler is gone
// ingest succeeds again without a restart.
//
// Without the reserve (--min-free-disk 0) the writes reach the full disk
// itself: Pebble's own write-ahead log and table writes meet ENOSPC, wait
// for space (pebble/diskfs.go) instead of failing, which Pebble could not
// survive, and the batches waiting on them are acknowledged only once the
// filler is gone and they are synced. Every acknowledged event is stored
// exactly once, none of the refused ones is, and auditlog verify --data passes.
func TestDiskFull(t *testing.T) {
	mnt := tmpfs.MustMount(t, "48m")
	bin := MustBuildBinary(t)
	srv := &crashServer{tb: t, bin: bin, dir: filepath.Join(mnt, "data"), args: []string{"--log-level", "info", "--min-free-disk", "4MiB"}}
	srv.Start()
	t.Cleanup(srv.Kill)
	srv.Do(http.StatusCreated, "PUT", "/api/v1/organizations/gh/acme", `{"plan":"business"}`, admin()...)
	var acked, refused []string
	post := func(name string, n int) (int, string, []string) {
		t.Helper()
		code, body, ids, err := diskPost(srv.URL(), name, n)
		if err != nil {
			t.Fatal(err)
		}
		return code, body, ids
	}
	for i := range 5 {
		_, _, ids := post(fmt.Sprintf("before-%d", i), 200)
		acked = append(acked, ids...)
	}

	// 1. The reserve: refused at once, one log line, not ready, back by itself.
	filler := tmpfs.MustFill(t, mnt)
	for i := range 20 {
		code, body, ids := post(fmt.Sprintf("full-%d", i), 200)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "disk is full") {
			t.Fatalf("ingest on a full disk: %d %s", code, body)
		}
		refused = append(refused, ids...)
	}
	mustReady(t, srv, http.StatusServiceUnavailable)
	if n := strings.Count(srv.logText(), "no space left on device"); n != 1 {
		t.Fatalf("the log says %d times that the disk is full, want once:\n%s", n, srv.logTail())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, body, ids := post("after-0", 200); code != http.StatusOK {
		t.Fatalf("ingest after space came back: %d %s", code, body)
	} else {
		acked = append(acked, ids...)
	}
	mustReady(t, srv, http.StatusOK)
	if !strings.Contains(srv.logText(), "disk space is back") {
		t.Fatalf("no log line says the space is back:\n%s", srv.logTail())
	}

	// 2. No reserve: Pebble's own writes meet the full disk and wait.
	if err := srv.Stop(); err != nil {
		t.Fatalf("serve did not stop cleanly: %v\n%s", err, srv.logTail())
	}
	srv.args = []string{"--log-level", "info", "--min-free-disk", "0"}
	srv.Start()
	filler = tmpfs.MustFill(t, mnt)
	var (
		mu      sync.Mutex
		blocked = make(chan struct{})
		wg      sync.WaitGroup
		errs    = make(chan error, 4)
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				code, _, ids, err := diskPost(srv.URL(), fmt.Sprintf("nospace-c%d-%d", c, i), 1000)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if code == http.StatusOK {
					acked = append(acked, ids...)
				} else {
					refused = append(refused, ids...) // 503: no slot freed while the writer waits
				}
				mu.Unlock()
				select {
				case <-blocked:
					return
				default:
				}
			}
		})
	}
	// The server's writes wait: the log says why, and it is not ready.
	for !strings.Contains(srv.logText(), "no space left on device: the store's writes wait") {
		if ctx.Err() != nil {
			t.Fatalf("ingest never waited for space on a full disk:\n%s", srv.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(blocked) // the clients stop after their batch in flight
	mustReady(t, srv, http.StatusServiceUnavailable)
	time.Sleep(time.Second) // the batches wait, and nothing spins meanwhile
	if n := strings.Count(srv.logText(), "the store's writes wait"); n != 1 {
		t.Fatalf("the log says %d times that writes wait for space, want once:\n%s", n, srv.logTail())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	wg.Wait() // the waiting batches are acknowledged now
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the waiting batches were not answered after the space came back")
	}
	mustReady(t, srv, http.StatusOK)
	if code, body, ids := post("after-1", 200); code != http.StatusOK {
		t.Fatalf("ingest after space came back: %d %s", code, body)
	} else {
		acked = append(acked, ids...)
	}

	// Everything acknowledged is there once; nothing refused is.
	seen := mustExportIDs(t, srv)
	for _, id := range acked {
		if seen[id] != 1 {
			t.Fatalf("acknowledged event %s is stored %d times", id, seen[id])
		}
	}
	for _, id := range refused {
		if seen[id] != 0 {
			t.Fatalf("refused event %s is stored", id)
		}
	}
	t.Logf("%d events acknowledged, %d refused with 503", len(acked), len(refused))
	if err := srv.Stop(); err != nil {
		t.Fatalf("serve did not stop cleanly: %v\n%s", err, srv.logTail())
	}
	if out, err := exec.Command(bin, "verify", "--data", srv.dir).CombinedOutput(); err != nil {
		t.Fatalf("auditlog verify --data: %v\n%s", err, out)
	}
}

var diskHTTP = &http.Client{Timeout: 90 * time.Second}

// diskPost sends a batch of n events named name and returns the status
// (200 or 503 with Retry-After; anything else is an error), the body and the ids.
func diskPost(base, name string, n int) (int, string, []string, error) {
	ids, body := diskBatch(name, n)
	req, _ := http.NewRequest("POST", base+"/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := diskHTTP.Do(req)
	if err != nil {
		return 0, "", nil, fmt.Errorf("batch %s: %w", name, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
	default:
		return 0, "", nil, fmt.Errorf("batch %s: %d (Retry-After %q) %s", name, resp.StatusCode, resp.Header.Get("Retry-After"), data)
	}
	return resp.StatusCode, string(data), ids, nil
}

// logText is the server's whole log.
func (s *crashServer) logText() string {
	b, _ := os.ReadFile(s.log.Name())
	return string(b)
}

func mustReady(tb testing.TB, srv *crashServer, want int) {
	tb.Helper()
	resp, err := http.Get(srv.URL() + "/readyz")
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		tb.Fatalf("/readyz: %d %s, want %d", resp.StatusCode, body, want)
	}
}

// diskBatch is a batch of n events with ids <name>-<i>.
func diskBatch(name string, n int) ([]string, []byte) {
	var b bytes.Buffer
	ids := make([]string, n)
	b.WriteByte('[')
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", name, i)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"organization":{"provider":"gh","name":"acme"},"id":%q,"action":"repositories.tools.update","actor":{"email":"user%d@acme.example"},"repositoryName":"repo-%d","details":{"tool":"eslint","note":"%s"},"ipAddress":"10.0.0.%d"}`,
			ids[i], i%17, i%5, strings.Repeat("x", 200), i%256)
	}
	b.WriteByte(']')
	return ids, b.Bytes()
}

// mustExportIDs counts gh/acme's stored events by id, read back through the
// API with the token of an organization admin it makes.
var exportHTTP = &http.Client{Timeout: 5 * time.Minute}

func mustExportIDs(tb testing.TB, srv *crashServer) map[string]int {
	tb.Helper()
	srv.Do(http.StatusCreated, "PUT", "/api/v1/organizations/gh/acme/members/ana@acme.example", `{"role":"organizationAdmin"}`, admin()...)
	var tok struct{ Token string }
	mustUnmarshal(tb, srv.Do(http.StatusCreated, "POST", "/api/v1/users/ana@acme.example/tokens", "", admin()...), &tok)
	seen := map[string]int{}
	// The export takes as long as the test stored events: longer than
	// crashHTTP's timeout after a fast load test under the race detector.
	req, err := http.NewRequest("GET", srv.URL()+"/api/v1/organizations/gh/acme/events/export?format=ndjson", nil)
	if err != nil {
		tb.Fatal(err)
	}
	h := apiTok(tok.Token)
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	resp, err := exportHTTP.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("export: status %d, %v: %.200s", resp.StatusCode, err, body)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// The line's first "id" is the event's: it comes before details.
		line := sc.Bytes()
		i := bytes.Index(line, []byte(`"id":"`))
		if i < 0 {
			tb.Fatalf("export line without id: %s", line)
		}
		id := line[i+6:]
		seen[string(id[:bytes.IndexByte(id, '"')])]++
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return seen
}
