package main

import (
	"bytes"
	"testing"
)

// TestProgressCount: the progress line counts events as lines, CSV records
// outside quotes, across writes that split them anywhere.
func TestProgressCount(t *testing.T) {
	csvText := "sequence,description\r\n1,\"two\nlines, \"\"quoted\"\"\"\r\n0,plain\r\n"
	ndjson := "{\"a\":1}\n{\"a\":\"x\\ny\"}\n"
	for _, tc := range []struct {
		format, text string
		want         int64
	}{
		{"csv", csvText, 2},
		{"ndjson", ndjson, 2},
		{"bundle", "{\"checkpoint\":\"c\"}\n" + ndjson, 2},
	} {
		for split := 1; split < len(tc.text); split++ {
			var out bytes.Buffer
			p := &progressWriter{w: &out, csv: tc.format == "csv"}
			p.Write([]byte(tc.text[:split]))
			p.Write([]byte(tc.text[split:]))
			if got := p.events(tc.format); got != tc.want || out.String() != tc.text || p.bytes.Load() != int64(len(tc.text)) {
				t.Fatalf("%s split at %d: %d events, want %d", tc.format, split, got, tc.want)
			}
		}
	}
}

func TestFormatCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{999: "999 B", 1500: "1.5 kB", 2_500_000: "2.5 MB", 3_210_000_000: "3.21 GB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
