package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/bench"
	"github.com/auditlog/auditlog/internal/pgtest"
)

// TestBench runs auditlog bench end to end with tiny numbers: the real
// binary starts its own server as a child process and runs every scenario
// and both baselines. It checks the report's figures are there and sane,
// not how fast anything is.
func TestBench(t *testing.T) {
	dsn, _ := pgtest.MustSchema(t)
	bin := MustBuildBinary(t)
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(bin, "bench", "--events", "3000", "--batch", "250", "--clients", "2", "--orgs", "3",
		"--interval", "200ms", "--single-rate", "200", "--single-duration", "1s", "--queries", "40",
		"--exports", "ndjson,csv,bundle", "--postgres", dsn, "--json", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("auditlog bench: %v\n%s", err, stderr.String())
	}
	rep := mustReadReport(t, out)
	checkIngest(t, rep, 3000)

	s := rep.Server
	if !s.Started || s.PID == 0 || s.MaxRSSBytes <= 0 || s.HWMBytes < s.MaxRSSBytes {
		t.Errorf("server memory: %+v", s)
	}
	if s.DiskBytesStopped <= 0 || s.BytesPerEvent <= 0 || s.StoredEvents != 3000+200 {
		t.Errorf("server disk: %+v", s)
	}
	if si := rep.Single; si == nil || si.Requests != 200 || si.Errors != 0 || si.AchievedPer <= 0 {
		t.Errorf("single: %+v", rep.Single)
	} else {
		checkLatency(t, "single", si.Latency, 200)
	}
	if len(rep.Queries) != 3 {
		t.Fatalf("queries: %+v", rep.Queries)
	}
	for _, q := range rep.Queries {
		checkLatency(t, q.Name, q.Latency, map[bool]int{true: 40, false: 20}[q.Q == ""])
	}
	if len(rep.Exports) != 3 {
		t.Fatalf("exports: %+v", rep.Exports)
	}
	for _, e := range rep.Exports {
		// The big organization's events: its share of the ingest, single
		// events and the server's own (the reader's token, each export).
		if e.Events < rep.Ingest.BigOrgEvents || e.Bytes <= 0 || e.EventsPerSec <= 0 {
			t.Errorf("export %s: %+v (big organization: %d ingested)", e.Format, e, rep.Ingest.BigOrgEvents)
		}
	}
	if v := rep.Verify; v == nil || v.Events != rep.Exports[2].Events || v.EventsPerSec <= 0 {
		t.Errorf("verify: %+v, bundle export %+v", rep.Verify, rep.Exports[2])
	}
	if len(rep.Baselines) != 2 || rep.Baselines[0].Name != "sqlite" || rep.Baselines[1].Name != "postgres-copy" {
		t.Fatalf("baselines: %+v", rep.Baselines)
	}
	for _, b := range rep.Baselines {
		if b.Events != 3000 || b.EventsPerSec <= 0 || b.BytesPerEvent < 100 || b.IngestRatio <= 0 || b.DiskRatio <= 0 {
			t.Errorf("baseline %s: %+v", b.Name, b)
		}
	}
	for _, want := range []string{"ingest ", "single events ", "query newest-100 ", "export bundle ", "verify bundle ", "baseline sqlite ", "baseline postgres-copy "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary has no %q line:\n%s", want, stdout.String())
		}
	}
}

// TestBenchURL loads a server it did not start, given by --url, measuring
// the memory of --pid and the disk of --data.
func TestBenchURL(t *testing.T) {
	svc := MustRunService(t)
	out := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"bench", "--url", svc.URL, "--token", testAdminToken,
		"--pid", fmt.Sprint(os.Getpid()), "--data", svc.Config.DataDir, "--events", "2000", "--batch", "500", "--orgs", "2",
		"--single-rate", "0", "--queries", "20", "--exports", "", "--sqlite=false", "--json", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench --url: %v\n%s", err, stderr.String())
	}
	rep := mustReadReport(t, out)
	checkIngest(t, rep, 2000)
	s := rep.Server
	if s.Started || s.MaxRSSBytes <= 0 || s.DiskBytesAfterIngest <= 0 || s.DiskBytesStopped != 0 || s.BytesPerEvent <= 0 {
		t.Errorf("server: %+v", s)
	}
	if rep.Single != nil || len(rep.Exports) != 0 || rep.Verify != nil || len(rep.Baselines) != 0 || len(rep.Queries) != 3 {
		t.Errorf("scenarios that were turned off ran: %+v", rep)
	}
}

func TestBenchFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", "http://127.0.0.1:1"}, "needs its admin token"},
		{[]string{"--batch", "20000"}, "batch must be 1 to 10000"},
		{[]string{"--exports", "pdf"}, `unknown export format "pdf"`},
		{[]string{"--exports", "ndjson", "--verify"}, "verify needs the bundle export"},
		{[]string{"--big-share", "2"}, "big-share must be between 0 and 1"},
		{[]string{"extra"}, "bench takes no arguments"},
	} {
		var stderr bytes.Buffer
		err := Run(context.Background(), append([]string{"bench"}, tt.args...), &bytes.Buffer{}, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("bench %v: error %v, want %q", tt.args, err, tt.want)
		}
		if !strings.Contains(stderr.String(), "Usage:") {
			t.Errorf("bench %v: no usage on stderr", tt.args)
		}
	}
}

func mustReadReport(tb testing.TB, path string) *bench.Report {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		tb.Fatalf("report: %v\n%s", err, data)
	}
	return &rep
}

func checkIngest(tb testing.TB, rep *bench.Report, events int64) {
	tb.Helper()
	in := rep.Ingest
	if in == nil || in.Events != events || in.EventsPerSec <= 0 || in.SustainedMedian <= 0 || in.SustainedMin > in.SustainedMedian {
		tb.Fatalf("ingest: %+v", in)
	}
	if in.BigOrgEvents <= 0 || in.BigOrgEvents >= events {
		tb.Errorf("ingest: the big organization got %d of %d events", in.BigOrgEvents, events)
	}
	checkLatency(tb, "ingest batches", in.BatchLatency, int(events)/in.Batch)
	if rep.Machine.CPUs <= 0 || rep.Seconds <= 0 {
		tb.Errorf("report: %+v", rep.Machine)
	}
}

func checkLatency(tb testing.TB, name string, l bench.Latency, n int) {
	tb.Helper()
	if l.Count != n || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max || l.Mean <= 0 || l.Mean > l.Max {
		tb.Errorf("%s latency: %+v, want %d ordered positive samples", name, l, n)
	}
}
