package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/auditlog/auditlog/internal/pgtest"
	"github.com/auditlog/auditlog/merkle"
	"github.com/jackc/pgx/v5"
)

// TestPostgres_Replicas starts three auditlog serve --postgres processes (the
// binary, built here) on one database schema and ingests into the same
// organizations through all of them at once, retrying every batch through
// another server: each organization's sequences come out gapless and unique,
// retries are answered with the original sequences, every server signs (one at
// a time) checkpoints of one tree, a token deleted through one server is
// refused by all at once, and auditlog verify --postgres passes, then names
// an event changed by hand.
func TestPostgres_Replicas(t *testing.T) {
	const admin = "replica-test-admin-token"
	rs := mustStartReplicas(t, admin, 3)
	dsn, dir, bin, key, servers := rs.dsn, rs.dir, rs.bin, rs.key, rs.servers

	orgs := []auditlog.OrgRef{{Provider: "gh", Name: "acme"}, {Provider: "gl", Name: "beta"}, {Provider: "bb", Name: "gamma"}}
	for i, ref := range orgs {
		s := servers[i%len(servers)]
		s.mustDo(t, "PUT", "/api/v1/organizations/"+ref.Provider+"/"+ref.Name, admin, `{"plan":"business"}`, http.StatusCreated, nil)
		s.mustDo(t, "PUT", "/api/v1/organizations/"+ref.Provider+"/"+ref.Name+"/members/alice@example.com", admin, `{"role":"organizationAdmin"}`, http.StatusCreated, nil)
	}

	// 3 servers x 4 clients x 10 batches of 50 events, each batch sent again through the next server.
	const clients, batches, size = 4, 10, 50
	var (
		mu       sync.Mutex
		answered = map[string]int64{} // org/id -> sequence
		wg       sync.WaitGroup
		errs     = make(chan error, len(servers)*clients)
	)
	check := func(batch []map[string]any, res *ingestResult) error {
		mu.Lock()
		defer mu.Unlock()
		if len(res.Events) != len(batch) {
			return fmt.Errorf("%d answers for %d events", len(res.Events), len(batch))
		}
		for i, ev := range res.Events {
			org := batch[i]["organization"].(map[string]string)
			k := org["provider"] + "/" + org["name"] + "/" + ev.ID
			if seq, ok := answered[k]; ok && seq != ev.Sequence {
				return fmt.Errorf("%s answered at %d and at %d", k, seq, ev.Sequence)
			}
			answered[k] = ev.Sequence
		}
		return nil
	}
	for si, s := range servers {
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batches {
					batch := make([]map[string]any, size)
					for i := range batch {
						ref := orgs[(si+c+b+i)%len(orgs)]
						batch[i] = map[string]any{
							"organization": map[string]string{"provider": ref.Provider, "name": ref.Name},
							"id":           fmt.Sprintf("s%d-c%d-b%d-%d", si, c, b, i),
							"action":       "user.login",
							"actor":        map[string]string{"email": fmt.Sprintf("user%d@example.com", i%7)},
						}
					}
					body, _ := json.Marshal(batch)
					for attempt, target := range []*replica{s, servers[(si+1+b)%len(servers)]} {
						var res ingestResult
						if err := target.do("POST", "/api/v1/events", admin, string(body), http.StatusOK, &res); err != nil {
							errs <- err
							return
						}
						if want := [2]int{size, 0}; attempt == 1 {
							want = [2]int{0, size}
							if got := [2]int{res.Accepted, res.Duplicates}; got != want {
								errs <- fmt.Errorf("retry: accepted, duplicates = %v, want %v", got, want)
								return
							}
						} else if got := [2]int{res.Accepted, res.Duplicates}; got != want {
							errs <- fmt.Errorf("batch: accepted, duplicates = %v, want %v", got, want)
							return
						}
						if err := check(batch, &res); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Every organization's log: sequences 0..n-1, each event stored once, as answered.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	total := 0
	for _, ref := range orgs {
		rows, err := conn.Query(context.Background(), `SELECT l.seq, convert_from(l.id, 'UTF8') FROM leaves l JOIN organizations o ON o.id = l.org_id
			WHERE o.provider = $1 AND o.name = $2 ORDER BY l.seq`, ref.Provider, ref.Name)
		if err != nil {
			t.Fatal(err)
		}
		var (
			seq int64
			id  string
			n   int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&seq, &id}, func() error {
			if seq != n {
				return fmt.Errorf("%s: sequence %d where %d was due", ref, seq, n)
			}
			if got, ok := answered[ref.Provider+"/"+ref.Name+"/"+id]; !ok || got != seq {
				return fmt.Errorf("%s: %s stored at %d, answered %d (%v)", ref, id, seq, got, ok)
			}
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		total += int(n)
		// Signed within a second or so, by whichever server holds the signer lock.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var text string
			err := servers[0].doText("GET", "/api/v1/organizations/"+ref.Provider+"/"+ref.Name+"/checkpoint", aliceToken(t, servers[1], admin), &text)
			cp, _ := merkle.OpenCheckpoint([]byte(text), key.Verifier, merkle.Origin("auditlog", ref))
			if err == nil && cp != nil && cp.Size == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no checkpoint of its %d events after 10s (%v, %q)", ref, n, err, text)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if want := len(servers) * clients * batches * size; total != want {
		t.Errorf("stored %d events, want %d", total, want)
	}

	// A token deleted through one server is refused by every server at once.
	var tok struct{ ID, Token string }
	servers[0].mustDo(t, "POST", "/api/v1/users/bob@example.com/tokens", admin, "", http.StatusCreated, &tok)
	for _, s := range servers {
		s.mustDo(t, "GET", "/api/v1/user", tok.Token, "", http.StatusOK, nil)
	}
	servers[2].mustDo(t, "DELETE", "/api/v1/user/tokens/"+tok.ID, tok.Token, "", http.StatusNoContent, nil)
	for _, s := range servers {
		s.mustDo(t, "GET", "/api/v1/user", tok.Token, "", http.StatusUnauthorized, nil)
	}

	// An evidence bundle exported through one server verifies offline.
	var bundle string
	if err := servers[2].doText("GET", "/api/v1/organizations/gh/acme/events/export?format=bundle", aliceToken(t, servers[2], admin), &bundle); err != nil {
		t.Fatal(err)
	}
	bundleFile := filepath.Join(dir, "acme.ndjson")
	if err := os.WriteFile(bundleFile, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "verify", "--key", strings.TrimSpace(key.VKey), "--quiet", bundleFile).CombinedOutput(); err != nil || !strings.Contains(string(out), "a complete bundle") {
		t.Fatalf("verify the bundle: %v\n%s", err, out)
	}

	// Stop them (a clean shutdown signs what is left), then audit the store.
	for _, s := range servers {
		s.stop(t)
	}
	vkey := strings.TrimSpace(key.VKey)
	var leaves int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM leaves`).Scan(&leaves); err != nil {
		t.Fatal(err)
	}
	if leaves != total+1 { // the export is recorded in acme's log
		t.Errorf("the log holds %d events, want %d and the export's", leaves, total)
	}
	out, err := exec.Command(bin, "verify", "--postgres", dsn, "--key", vkey, "--quiet").CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("3 organizations, %d events", leaves)) {
		t.Fatalf("verify --postgres: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if _, err := conn.Exec(context.Background(), `UPDATE events SET action = 'user.tokens.delete' WHERE seq = 17 AND org_id = (SELECT id FROM organizations WHERE name = 'beta')`); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "verify", "--postgres", dsn, "--key", vkey, "--quiet").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "organization gl/beta, event 17") {
		t.Fatalf("verify --postgres after a change by hand: %v\n%s", err, out)
	}
}

// TestPostgres_NeedsSigningKey checks that serve --postgres refuses to start
// without a signing key file, saying why.
func TestPostgres_NeedsSigningKey(t *testing.T) {
	_, err := parseServeFlags([]string{"--postgres", "postgres://localhost/x"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--postgres needs --signing-key") {
		t.Errorf("serve --postgres without --signing-key: %v", err)
	}
}

type ingestResult struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Events     []struct {
		ID       string `json:"id"`
		Sequence int64  `json:"sequence"`
	} `json:"events"`
}

var aliceTokens sync.Map // *replica -> token

// aliceToken returns an api-token of alice@example.com, created through s once.
func aliceToken(tb testing.TB, s *replica, admin string) string {
	tb.Helper()
	if tok, ok := aliceTokens.Load(s); ok {
		return tok.(string)
	}
	var tok struct{ Token string }
	s.mustDo(tb, "POST", "/api/v1/users/alice@example.com/tokens", admin, "", http.StatusCreated, &tok)
	aliceTokens.Store(s, tok.Token)
	return tok.Token
}

// replicaSet is auditlog serve --postgres processes (the binary, built
// here) on one new schema, with one signing key.
type replicaSet struct {
	dsn, dir, bin string
	key           *merkle.Key
	servers       []*replica
}

// mustStartReplicas starts n servers whose admin token is admin, with more
// serve flags if given. It skips under -short.
func mustStartReplicas(t *testing.T, admin string, n int, flags ...string) *replicaSet {
	t.Helper()
	if testing.Short() {
		t.Skipf("builds the binary and starts %d servers", n)
	}
	dsn, _ := pgtest.MustSchema(t)
	dir := t.TempDir()
	rs := &replicaSet{dsn: dsn, dir: dir, bin: buildBinary(t, dir)}
	keyFile := filepath.Join(dir, "log-key")
	var err error
	if rs.key, err = merkle.WriteNewKey(keyFile, merkle.DefaultKeyName); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		rs.servers = append(rs.servers, startReplica(t, rs.bin, dsn, keyFile, admin, filepath.Join(dir, fmt.Sprintf("data-%d", i)), flags...))
	}
	return rs
}

// buildBinary builds auditlog into dir.
func buildBinary(tb testing.TB, dir string) string {
	tb.Helper()
	bin := filepath.Join(dir, "auditlog")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// replica is a running auditlog serve process.
type replica struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

var servingURL = regexp.MustCompile(`auditlog serving.* url=(http://\S+)`)

// startReplica starts auditlog serve --postgres dsn, with more flags if given.
func startReplica(tb testing.TB, bin, dsn, keyFile, admin, data string, flags ...string) *replica {
	tb.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--postgres", dsn, "--signing-key", keyFile, "--addr", "127.0.0.1:0", "--data", data,
		"--checkpoint-interval", "200ms"}, flags...)...)
	cmd.Env = append(os.Environ(), "AUDITLOG_ADMIN_TOKEN="+admin, "AUDITLOG_RATE_LIMIT_READS=off", "AUDITLOG_RATE_LIMIT_WRITES=off")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	r := &replica{cmd: cmd, done: make(chan error, 1)}
	urls := make(chan string, 1)
	var logs bytes.Buffer
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			logs.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		r.done <- cmd.Wait()
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		if tb.Failed() {
			logMu.Lock()
			tb.Logf("server logs:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	select {
	case r.url = <-urls:
	case err := <-r.done:
		tb.Fatalf("the server exited: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		tb.Fatalf("the server did not start within 30s\n%s", logs.String())
	}
	return r
}

// stop sends SIGTERM and waits for a clean exit.
func (r *replica) stop(tb testing.TB) {
	tb.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	select {
	case err := <-r.done:
		if err != nil {
			tb.Fatalf("server exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		tb.Fatal("the server did not stop within 30s of SIGTERM")
	}
}

func (r *replica) do(method, path, token, body string, want int, out any) error {
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if s, ok := out.(*string); ok {
			*s = string(b)
			return nil
		}
		return json.Unmarshal(b, out)
	}
	return nil
}

func (r *replica) doText(method, path, token string, out *string) error {
	return r.do(method, path, token, "", http.StatusOK, out)
}

func (r *replica) mustDo(tb testing.TB, method, path, token, body string, want int, out any) {
	tb.Helper()
	if err := r.do(method, path, token, body, want, out); err != nil {
		tb.Fatal(err)
	}
}
