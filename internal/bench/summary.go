package bench

import (
	"fmt"
	"io"
	"strings"
)

// WriteSummary writes the report for people: one line per figure.
func (rep *Report) WriteSummary(w io.Writer) error {
	var err error
	line := func(format string, args ...any) {
		label, rest, _ := strings.Cut(fmt.Sprintf(format, args...), "\t")
		if err == nil {
			_, err = fmt.Fprintf(w, "%-22s %s\n", label, rest)
		}
	}
	s := rep.Server
	m := rep.Machine
	line("auditlog bench\t%s, %d CPUs, %s, %s; load average %s at the start, %s at the end",
		rep.Started.Format("2006-01-02 15:04 UTC"), m.CPUs, m.OS, m.GoVersion, m.LoadStart, m.LoadEnd)
	line("server\t%s", s.URL)
	if in := rep.Ingest; in != nil {
		line("ingest\t%d events, %d clients, batches of %d, %d orgs", in.Events, in.Clients, in.Batch, in.Orgs)
		line("  throughput\t%.0f events/s over %.1fs; per %s interval: median %.0f, min %.0f",
			in.EventsPerSec, in.Seconds, rep.Config.Interval, in.SustainedMedian, in.SustainedMin)
		line("  batch latency\tp50 %.1f ms, p99 %.1f ms, max %.1f ms; %d retries", in.BatchLatency.P50, in.BatchLatency.P99, in.BatchLatency.Max, in.Retries)
	}
	if s.MaxRSSBytes > 0 {
		line("server memory\tmax RSS %s (sampled every 100 ms), peak (VmHWM) %s", mb(s.MaxRSSBytes), mb(s.HWMBytes))
	}
	if s.BytesPerEvent > 0 {
		line("server disk\t%s after ingest, %s stopped: %.0f bytes/event over %d events",
			mb(s.DiskBytesAfterIngest), mb(s.DiskBytesStopped), s.BytesPerEvent, s.StoredEvents)
	}
	if si := rep.Single; si != nil {
		line("single events\t%.0f req/s asked, %.0f answered/s, %d errors", si.Rate, si.AchievedPer, si.Errors)
		line("  latency\tp50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.1f ms (from scheduled send)", si.Latency.P50, si.Latency.P90, si.Latency.P99, si.Latency.Max)
	}
	for _, q := range rep.Queries {
		over := ""
		if q.TimedOut {
			over = fmt.Sprintf("; then one took over %s: given up", rep.Config.QueryTime)
		}
		line("query %s\tp50 %.2f ms, p99 %.2f ms over %d (%s, q=%q)%s", q.Name, q.Latency.P50, q.Latency.P99, q.Latency.Count, q.Org, q.Q, over)
	}
	for _, e := range rep.Exports {
		line("export %s\t%.0f events/s, %.1f MB/s (%d events, %s)", e.Format, e.EventsPerSec, e.MBPerSec, e.Events, mb(e.Bytes))
	}
	if v := rep.Verify; v != nil {
		line("verify bundle\t%.0f events/s (%d events, one goroutine)", v.EventsPerSec, v.Events)
	}
	for _, b := range rep.Baselines {
		line("baseline %s\t%.0f events/s, %.0f bytes/event (writers: %d); auditlog/baseline: %.2f× events/s, %.2f× bytes/event",
			b.Name, b.EventsPerSec, b.BytesPerEvent, b.Clients, b.IngestRatio, b.DiskRatio)
	}
	return err
}
