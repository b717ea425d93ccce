package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/bench"
)

// BenchmarkExportRSS starts the real binary on a fresh store, ingests
// AUDITLOG_BENCH_EXPORT_EVENTS events (default 100,000; BENCHMARKS.md uses
// 1,000,000) into one organization, then downloads each export format in
// full and reports the server process's peak resident memory (VmHWM): exports
// stream, so it does not grow with their length.
func BenchmarkExportRSS(b *testing.B) {
	n := 100_000
	if v := os.Getenv("AUDITLOG_BENCH_EXPORT_EVENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "auditlog")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--data", filepath.Join(dir, "data"), "--addr", addr, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "AUDITLOG_ADMIN_TOKEN="+testAdminToken)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			break
		} else if i > 100 {
			b.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	do := func(method, path string, body []byte, hdr ...string) []byte {
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
		}
		return out
	}
	admin := []string{"Authorization", "Bearer " + testAdminToken}
	do("PUT", "/api/v1/organizations/gh/acme", []byte(`{"plan":"business"}`), admin...)
	do("PUT", "/api/v1/organizations/gh/acme/members/ana@acme.example", []byte(`{"role":"organizationAdmin"}`), admin...)
	var tok struct{ Token string }
	_ = json.Unmarshal(do("POST", "/api/v1/users/ana@acme.example/tokens", nil, admin...), &tok)
	start := time.Now().Add(-300 * 24 * time.Hour)
	for i := 0; i < n; i += 1000 {
		var body bytes.Buffer
		body.WriteByte('[')
		for j := i; j < min(i+1000, n); j++ {
			if j > i {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"organization":{"provider":"gh","name":"acme"},"action":"repositories.tools.update","actor":{"email":"user%d@acme.example","role":"repositoryAdmin"},"timestamp":%q,"repositoryName":"repo-%d","entityId":"tool-%d","details":{"tool":"eslint","enabled":%v},"ipAddress":"10.0.%d.%d","userAgent":"Mozilla/5.0 (X11; Linux x86_64)"}`,
				j%50, start.Add(time.Duration(j)*time.Second).Format(time.RFC3339), j%40, j, j%2 == 0, j%250, j%200)
		}
		body.WriteByte(']')
		do("POST", "/api/v1/events", body.Bytes(), admin...)
	}
	time.Sleep(2 * time.Second) // the checkpoint, for the bundle
	rssBefore := peakRSS(b, cmd.Process.Pid)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, format := range []string{"ndjson", "csv", "bundle"} {
			req, _ := http.NewRequest("GET", base+"/api/v1/organizations/gh/acme/events/export?format="+format, nil)
			req.Header.Set("api-token", tok.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			lines, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || lines == 0 {
				b.Fatalf("export %s: %d", format, resp.StatusCode)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n), "events")
	b.ReportMetric(rssBefore, "peakRSS-after-ingest-MB")
	b.ReportMetric(peakRSS(b, cmd.Process.Pid), "peakRSS-MB")
}

// peakRSS reads a process's peak resident set size (VmHWM) in MB.
func peakRSS(tb testing.TB, pid int) float64 {
	_, hwm, err := bench.Memory(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return float64(hwm) / (1 << 20)
}
