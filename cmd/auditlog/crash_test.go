package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
)

// TestCrashSafety ingests from several clients at full speed into the real
// binary, kills it with SIGKILL at random moments, restarts it on the same
// data directory and resends every batch whose answer was lost. In the end
// every acknowledged event is stored exactly once, the organization's
// sequences run 0..n-1 without a gap, and auditlog verify --data passes.
func TestCrashSafety(t *testing.T) {
	rounds, clients, batch := 20, 4, 50
	if testing.Short() {
		rounds = 5
	}
	deadline := time.Now().Add(60 * time.Second)
	bin := MustBuildBinary(t)
	srv := &crashServer{tb: t, bin: bin, dir: t.TempDir()}
	srv.Start()
	t.Cleanup(srv.Kill)
	srv.Do(http.StatusCreated, "PUT", "/api/v1/organizations/gh/acme", `{"plan":"business"}`, admin()...)
	srv.Do(http.StatusCreated, "PUT", "/api/v1/organizations/gh/acme/members/ana@acme.example", `{"role":"organizationAdmin"}`, admin()...)
	var tok auditlog.Token
	mustUnmarshal(t, srv.Do(http.StatusCreated, "POST", "/api/v1/users/ana@acme.example/tokens", "", admin()...), &tok)

	cl := make([]*crashClient, clients)
	for i := range cl {
		cl[i] = &crashClient{id: i, size: batch, base: func() string { return srv.URL() }}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	kills := 0
	for kills < rounds && time.Now().Before(deadline) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, c := range cl {
			wg.Go(func() { c.run(ctx) })
		}
		time.Sleep(time.Duration(100+rng.IntN(301)) * time.Millisecond)
		srv.Kill()
		kills++
		cancel()
		wg.Wait()
		srv.Start()
	}
	if kills < rounds && !testing.Short() {
		t.Fatalf("only %d of %d kills within the time bound", kills, rounds)
	}

	// Resend what is still unanswered, then read everything back.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	acked := map[string]bool{}
	sent := 0
	for _, c := range cl {
		if !c.flush(ctx) {
			t.Fatalf("client %d: its last batch is still unanswered", c.id)
		}
		for _, id := range c.acked {
			if acked[id] {
				t.Fatalf("id %s acknowledged twice", id)
			}
			acked[id] = true
		}
		sent += c.unanswered
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	t.Logf("%d kills, %d events acknowledged, %d sends without an answer", kills, len(acked), sent)

	seen := map[string]int{}
	var seqs []int64
	sc := bufio.NewScanner(bytes.NewReader(srv.Do(http.StatusOK, "GET", "/api/v1/organizations/gh/acme/events/export?format=ndjson", "", apiTok(tok.Secret)...)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			ID       string `json:"id"`
			Sequence int64  `json:"sequence"`
		}
		mustUnmarshal(t, sc.Bytes(), &e)
		seen[e.ID]++
		seqs = append(seqs, e.Sequence)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Errorf("acknowledged event %s is stored %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		// The server records events of its own (members, tokens, exports): ours are crash-*.
		if strings.HasPrefix(id, "crash-") && !acked[id] {
			t.Errorf("event %s is stored (%d times) but was never acknowledged", id, n)
		}
	}
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != int64(i) {
			t.Fatalf("sequences are not 0..%d: position %d holds %d", len(seqs)-1, i, s)
		}
	}

	if err := srv.Stop(); err != nil {
		t.Fatalf("serve did not stop cleanly on SIGINT: %v\n%s", err, srv.logTail())
	}
	if out, err := exec.Command(bin, "verify", "--data", srv.dir).CombinedOutput(); err != nil {
		t.Fatalf("auditlog verify --data: %v\n%s", err, out)
	}
}

// crashClient sends batches of events with ids of its own, one at a time,
// remembering the batch whose answer it has not had, to send it again.
type crashClient struct {
	id, size   int
	base       func() string
	next       int      // number of its next batch
	pending    []byte   // the batch whose answer was lost, if any
	ids        []string // its ids
	acked      []string
	unanswered int
}

func (c *crashClient) batch() {
	var b bytes.Buffer
	b.WriteByte('[')
	c.ids = c.ids[:0]
	for i := range c.size {
		id := fmt.Sprintf("crash-c%d-b%d-e%d", c.id, c.next, i)
		c.ids = append(c.ids, id)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"organization":{"provider":"gh","name":"acme"},"id":%q,"action":"repositories.tools.update","actor":{"email":"user%d@acme.example","role":"repositoryAdmin"},"repositoryName":"repo-%d","details":{"tool":"eslint"},"ipAddress":"10.0.0.%d"}`,
			id, i%7, c.id, i)
	}
	b.WriteByte(']')
	c.next++
	c.pending = b.Bytes()
}

// send posts the pending batch once and reports whether it was acknowledged.
func (c *crashClient) send(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base()+"/api/v1/events", bytes.NewReader(c.pending))
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := crashHTTP.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return false
	}
	var res auditlog.AppendResult
	if json.Unmarshal(body, &res) != nil || res.Accepted+res.Duplicates != len(c.ids) {
		return false
	}
	c.acked = append(c.acked, c.ids...)
	c.pending = nil
	return true
}

// run sends batches until ctx is done, retrying the pending one first.
func (c *crashClient) run(ctx context.Context) {
	for ctx.Err() == nil {
		if c.pending == nil {
			c.batch()
		}
		if !c.send(ctx) {
			c.unanswered++
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// flush sends the pending batch, if any, until it is acknowledged.
func (c *crashClient) flush(ctx context.Context) bool {
	for c.pending != nil {
		if ctx.Err() != nil {
			return false
		}
		if !c.send(ctx) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return true
}

// crashHTTP does not keep connections across kills for long.
var crashHTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

// MustBuildBinary builds the auditlog binary into a temp dir.
func MustBuildBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "auditlog")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// crashServer is the real binary serving a data dir, as a separate process
// that the test may kill.
type crashServer struct {
	tb   testing.TB
	bin  string
	dir  string
	addr string
	cmd  *exec.Cmd
	log  *os.File
	args []string // more serve flags
}

func (s *crashServer) URL() string { return "http://" + s.addr }

// Start starts serve on the data dir (on the same address as before, if any)
// and waits until it is ready.
func (s *crashServer) Start() {
	s.tb.Helper()
	if s.addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.tb.Fatal(err)
		}
		s.addr = ln.Addr().String()
		ln.Close()
	}
	if s.log == nil {
		f, err := os.Create(filepath.Join(s.tb.TempDir(), "serve.log"))
		if err != nil {
			s.tb.Fatal(err)
		}
		s.log = f
	}
	s.cmd = exec.Command(s.bin, "serve", "--data", filepath.Join(s.dir), "--addr", s.addr, "--log-level", "warn",
		"--checkpoint-interval", "100ms", "--retention-interval", "0", "--rate-limit-reads", "off", "--rate-limit-writes", "off")
	s.cmd.Args = append(s.cmd.Args, s.args...)
	s.cmd.Env = append(os.Environ(), "AUDITLOG_ADMIN_TOKEN="+testAdminToken)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	for i := 0; ; i++ {
		resp, err := http.Get(s.URL() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if i > 300 {
			s.tb.Fatalf("serve not ready after 15s: %v\n%s", err, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill kills the server with SIGKILL and waits for it to exit.
func (s *crashServer) Kill() {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

// Stop stops the server with SIGINT and returns how it exited.
func (s *crashServer) Stop() error {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		s.Kill()
		return fmt.Errorf("no exit 30s after SIGINT")
	}
}

// Do sends a request and fails the test unless the status is want.
func (s *crashServer) Do(want int, method, path, body string, headers ...string) []byte {
	s.tb.Helper()
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader([]byte(body)))
	if err != nil {
		s.tb.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := crashHTTP.Do(req)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.tb.Fatal(err)
	}
	if resp.StatusCode != want {
		s.tb.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	return data
}

// logTail is the end of the server's log, for failure messages.
func (s *crashServer) logTail() string {
	b, _ := os.ReadFile(s.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
