package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ahttp "github.com/auditlog/auditlog/http"
)

// TestIngestLoad overloads the real binary, run as its own process with its
// default admission control, and watches its memory.
//
// Capacity is measured first: loadCapacityClients clients, as many batches
// as fit the server's default in-flight budget
// (ahttp.DefaultMaxInflightIngestBytes: past that many, batches only
// wait), send batches of 1000 events as fast
// as they can, and the acknowledged events per second are the capacity C.
// Then loadOverloadClients clients (4× as many) send batches of 1000 as
// fast as they can, a refused batch again after
// 10-30ms, far less than its Retry-After, to keep the pressure on. The
// offered load (events sent per second, refused ones included) must reach
// 4× C. Meanwhile the server's VmRSS is sampled from /proc; its peak
// (VmHWM) must stay under 300 MB, every refusal must be a 503 or 429 with
// Retry-After, and in the end every acknowledged event is stored exactly
// once and auditlog verify --data passes.
func TestIngestLoad(t *testing.T) {
	capacityFor, overloadFor := 5*time.Second, 15*time.Second
	if testing.Short() {
		capacityFor, overloadFor = 2*time.Second, 5*time.Second
	}
	bin := MustBuildBinary(t)
	srv := &crashServer{tb: t, bin: bin, dir: t.TempDir()}
	srv.Start()
	t.Cleanup(srv.Kill)
	srv.Do(http.StatusCreated, "PUT", "/api/v1/organizations/gh/acme", `{"plan":"business"}`, admin()...)
	// The binary runs under its default soft memory limit, part of what keeps RSS bounded.
	if want := fmt.Sprintf("go_gc_gomemlimit_bytes %g\n", float64(DefaultMemoryLimit)); !strings.Contains(string(srv.Do(http.StatusOK, "GET", "/metrics", "", admin()...)), want) {
		t.Errorf("/metrics has no %q", want)
	}
	rss := watchRSS(t, srv.cmd.Process.Pid)

	var mu sync.Mutex
	acked := map[string]bool{}
	run := func(name string, clients int, d time.Duration) *loadPhase {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		ph := &loadPhase{start: time.Now()}
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				lc := &loadClient{name: fmt.Sprintf("%s-c%d", name, c), base: srv.URL()}
				lc.run(ctx, ph)
				mu.Lock()
				for _, id := range lc.acked {
					if acked[id] {
						t.Errorf("event %s acknowledged twice", id)
					}
					acked[id] = true
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		ph.took = time.Since(ph.start)
		return ph
	}

	capacity := run("cap", loadCapacityClients, capacityFor)
	c := capacity.ackedPerSecond()
	over := run("over", loadOverloadClients, overloadFor)
	offered := over.offeredPerSecond()
	t.Logf("batches of %d bytes", loadBatchBytes())
	t.Logf("capacity (%d clients): %.0f events/s acknowledged; overload (%d clients): %.0f events/s offered (%.1f× capacity), %.0f acknowledged, %d batches refused",
		loadCapacityClients, c, loadOverloadClients, offered, offered/c, over.ackedPerSecond(), over.refused.Load())
	if err := over.firstErr(); err != nil {
		t.Fatal(err)
	}
	if offered < 4*c {
		t.Fatalf("offered %.0f events/s, less than 4× the capacity of %.0f", offered, c)
	}
	if over.refused.Load() == 0 {
		t.Fatal("no batch was refused at 4× capacity: ingest is not bounded")
	}
	samples, hwm := rss.stop()
	t.Logf("server RSS: median %.0f MB, max sampled %.0f MB, VmHWM %.0f MB (%d samples)",
		mb(median(samples)), mb(slices.Max(samples)), mb(hwm), len(samples))
	if hwm > 300<<20 {
		t.Errorf("server peak RSS %.0f MB, more than 300 MB", mb(hwm))
	}

	// Every acknowledged event is stored exactly once.
	seen := mustExportIDs(t, srv)
	for id := range acked {
		if seen[id] != 1 {
			t.Fatalf("acknowledged event %s is stored %d times", id, seen[id])
		}
	}
	t.Logf("%d events acknowledged, each stored once (%d stored in all)", len(acked), len(seen))
	if err := srv.Stop(); err != nil {
		t.Fatalf("serve did not stop cleanly on SIGINT: %v\n%s", err, srv.logTail())
	}
	if out, err := exec.Command(bin, "verify", "--data", srv.dir).CombinedOutput(); err != nil {
		t.Fatalf("auditlog verify --data: %v\n%s", err, out)
	}
}

const loadBatch = 1000

var (
	loadCapacityClients = int(ahttp.DefaultMaxInflightIngestBytes / loadBatchBytes())
	loadOverloadClients = 4 * loadCapacityClients
)

// loadPhase counts one phase's batches.
type loadPhase struct {
	start        time.Time
	took         time.Duration
	sent, ackedN atomic.Int64 // batches
	refused      atomic.Int64
	errMu        sync.Mutex
	err          error
}

func (p *loadPhase) fail(err error) {
	p.errMu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.errMu.Unlock()
}

func (p *loadPhase) firstErr() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

func (p *loadPhase) ackedPerSecond() float64 {
	return float64(p.ackedN.Load()*loadBatch) / p.took.Seconds()
}

func (p *loadPhase) offeredPerSecond() float64 {
	return float64(p.sent.Load()*loadBatch) / p.took.Seconds()
}

// loadClient sends batches of loadBatch events with ids of its own, each
// until it is acknowledged.
type loadClient struct {
	name  string
	base  string
	next  int
	acked []string
}

var loadHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * loadOverloadClients}}

func (c *loadClient) run(ctx context.Context, ph *loadPhase) {
	body, marks := loadTemplate(c.name)
	ids := make([]string, loadBatch)
	for ; ctx.Err() == nil; c.next++ {
		// Write the batch number into every id: the body is built once, so
		// that the clients spend the machine's CPU on sending, not on JSON.
		n := fmt.Appendf(nil, "%08d", c.next)
		for i, m := range marks {
			copy(body[m:], n)
			ids[i] = string(body[m-len(c.name)-2 : m+len(n)+6])
		}
		for {
			ph.sent.Add(1)
			status, retryAfter, err := c.post(body)
			if err != nil {
				if ctx.Err() == nil {
					ph.fail(err)
				}
				return // the answer is lost: nothing of this batch is counted as acknowledged
			}
			if status == http.StatusOK {
				ph.ackedN.Add(1)
				c.acked = append(c.acked, ids...)
				break
			}
			if (status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests) || retryAfter == "" {
				ph.fail(fmt.Errorf("a refused batch got %d with Retry-After %q", status, retryAfter))
				return
			}
			ph.refused.Add(1)
			if ctx.Err() != nil {
				return
			}
			time.Sleep(time.Duration(10+time.Now().UnixNano()%20) * time.Millisecond)
		}
	}
}

// loadBatchBytes is about how large a load client's batch is.
func loadBatchBytes() int64 {
	body, _ := loadTemplate("cap-c00")
	return int64(len(body))
}

// loadTemplate returns a batch whose ids are <name>-b<8 digits>-e<4
// digits>, and the offset of each id's 8 digits.
func loadTemplate(name string) ([]byte, []int) {
	var b []byte
	marks := make([]int, loadBatch)
	b = append(b, '[')
	for i := range loadBatch {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"organization":{"provider":"gh","name":"acme"},"id":"`...)
		b = append(b, name+"-b"...)
		marks[i] = len(b)
		b = fmt.Appendf(b, `00000000-e%04d","action":"repositories.tools.update","actor":{"email":"user%d@acme.example","role":"repositoryAdmin"},"repositoryName":"repo-%d","details":{"tool":"eslint","enabled":true},"ipAddress":"10.0.%d.%d","userAgent":"load-test/1.0"}`,
			i, i%97, i%13, i%256, i/256)
	}
	return append(b, ']'), marks
}

func (c *loadClient) post(body []byte) (int, string, error) {
	req, err := http.NewRequest("POST", c.base+"/api/v1/events", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := loadHTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// rssWatch samples a process's resident memory every 100ms.
type rssWatch struct {
	pid     int
	stopped chan struct{}
	done    chan struct{}
	samples []float64
}

func watchRSS(tb testing.TB, pid int) *rssWatch {
	w := &rssWatch{pid: pid, stopped: make(chan struct{}), done: make(chan struct{})}
	if _, err := procStatus(pid, "VmRSS"); err != nil {
		tb.Fatalf("cannot read the server's memory: %v", err)
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stopped:
				return
			case <-t.C:
				if v, err := procStatus(pid, "VmRSS"); err == nil {
					w.samples = append(w.samples, v)
				}
			}
		}
	}()
	return w
}

// stop ends the sampling and returns the samples and the process's peak RSS so far.
func (w *rssWatch) stop() ([]float64, float64) {
	close(w.stopped)
	<-w.done
	hwm, _ := procStatus(w.pid, "VmHWM")
	return w.samples, hwm
}

// procStatus reads a size field of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func mb(b float64) float64 { return b / (1 << 20) }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
