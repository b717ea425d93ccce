package bench

import "time"

// Report is what one run of the bench measured; it is written as the JSON
// report.
type Report struct {
	Started   time.Time        `json:"started"`
	Seconds   float64          `json:"seconds"` // the whole run
	Machine   Machine          `json:"machine"`
	Config    Config           `json:"config"`
	Server    ServerReport     `json:"server"`
	Ingest    *IngestResult    `json:"ingest,omitempty"`
	Single    *SingleResult    `json:"single,omitempty"`
	Queries   []QueryResult    `json:"queries,omitempty"`
	Exports   []ExportResult   `json:"exports,omitempty"`
	Verify    *VerifyResult    `json:"verify,omitempty"`
	Baselines []BaselineResult `json:"baselines,omitempty"`
}

// Machine is where the bench ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
	// The load averages (1, 5, 15 minutes) from /proc/loadavg when the run
	// began and ended: other work on the machine shows here.
	LoadStart string `json:"loadStart,omitempty"`
	LoadEnd   string `json:"loadEnd,omitempty"`
}

// ServerReport is the server under load and what it cost.
type ServerReport struct {
	URL     string `json:"url"`
	Started bool   `json:"started"` // started by the bench as a child process
	PID     int    `json:"pid,omitempty"`
	DataDir string `json:"dataDir,omitempty"`
	// Memory, sampled every 100 ms from the ingest to the end (with PID).
	MaxRSSBytes int64 `json:"maxRssBytes,omitempty"` // largest VmRSS sampled
	HWMBytes    int64 `json:"hwmBytes,omitempty"`    // VmHWM: the kernel's peak RSS
	// Disk (with DataDir): the data directory after the ingest and, for a
	// server the bench started, after it stopped.
	DiskBytesAfterIngest int64   `json:"diskBytesAfterIngest,omitempty"`
	DiskBytesStopped     int64   `json:"diskBytesStopped,omitempty"`
	BytesPerEvent        float64 `json:"bytesPerEvent,omitempty"` // the last disk figure over the events stored
	StoredEvents         int64   `json:"storedEvents"`            // ingest and single events
}

// IngestResult is the batch ingest: Clients clients sending batches one
// after another.
type IngestResult struct {
	Clients      int     `json:"clients"`
	Batch        int     `json:"batch"`
	Orgs         int     `json:"orgs"`
	BigOrgEvents int64   `json:"bigOrgEvents"` // events of the first organization, which the queries read
	Events       int64   `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSec"` // Events over Seconds
	// Over the full intervals: the throughput a host can count on.
	SustainedMedian float64    `json:"sustainedMedianEventsPerSec"`
	SustainedMin    float64    `json:"sustainedMinEventsPerSec"`
	Intervals       []Interval `json:"intervals"`
	BatchLatency    Latency    `json:"batchLatency"`
	Retries         int        `json:"retries"` // batches sent again after a 429, 503 or a network error
}

// Interval is one reporting interval of the ingest.
type Interval struct {
	End          float64 `json:"endSeconds"` // since the ingest began
	Events       int64   `json:"events"`     // acknowledged by its end, in all
	EventsPerSec float64 `json:"eventsPerSec"`
	RSSBytes     int64   `json:"rssBytes,omitempty"`
	DiskBytes    int64   `json:"diskBytes,omitempty"`
}

// SingleResult is the open-loop load of one-event requests at a fixed rate.
type SingleResult struct {
	Rate        float64 `json:"rate"` // requests per second asked for
	Seconds     float64 `json:"seconds"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	AchievedPer float64 `json:"achievedPerSec"` // answered requests per second
	// From each request's scheduled send time to its answer, so that a
	// stalled server shows in full (no coordinated omission); of the
	// requests answered 200 (the others are Errors).
	Latency Latency `json:"latency"`
}

// QueryResult is one kind of query, sent one after another.
type QueryResult struct {
	Name    string  `json:"name"`
	Q       string  `json:"q,omitempty"`
	Org     string  `json:"org"`
	Latency Latency `json:"latency"`
	// A query took longer than --query-time: it was given up, and the
	// latencies are of the queries before it.
	TimedOut bool `json:"timedOut,omitempty"`
}

// ExportResult is one full export of the big organization.
type ExportResult struct {
	Format       string  `json:"format"`
	Events       int64   `json:"events"`
	Bytes        int64   `json:"bytes"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSec"`
	MBPerSec     float64 `json:"mbPerSec"`
}

// VerifyResult is the offline verification of the downloaded bundle, by the
// code of auditlog verify --key.
type VerifyResult struct {
	Events       int64   `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSec"`
}

// BaselineResult is a plain store taking the ingest's events, in batches of
// the same size, without integrity.
type BaselineResult struct {
	Name          string  `json:"name"`
	Clients       int     `json:"clients"`
	Events        int64   `json:"events"`
	Seconds       float64 `json:"seconds"`
	EventsPerSec  float64 `json:"eventsPerSec"`
	Bytes         int64   `json:"bytes"`
	BytesPerEvent float64 `json:"bytesPerEvent"`
	// auditlog's figure over the baseline's: ingest events/s (above 1:
	// auditlog is faster) and bytes per event (below 1: auditlog is smaller).
	IngestRatio float64 `json:"ingestRatio"`
	DiskRatio   float64 `json:"diskRatio,omitempty"`
}
