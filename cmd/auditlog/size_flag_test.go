package main

import "testing"

func TestSizeFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		str  string
	}{
		{"0", 0, "0"},
		{"4096", 4096, "4KiB"},
		{"64MiB", 64 << 20, "64MiB"},
		{"1 GiB", 1 << 30, "1GiB"},
		{"1536MiB", 1536 << 20, "1536MiB"},
		{"10MB", 10e6, "10000000"},
		{"7B", 7, "7"},
	} {
		var s sizeFlag
		if err := s.Set(tc.in); err != nil {
			t.Errorf("Set(%q): %v", tc.in, err)
			continue
		}
		if int64(s) != tc.want || s.String() != tc.str {
			t.Errorf("Set(%q) = %d %q, want %d %q", tc.in, int64(s), s.String(), tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "-1", "1.5GiB", "12XB", "MiB", "99999999999GiB"} {
		var s sizeFlag
		if err := s.Set(bad); err == nil {
			t.Errorf("Set(%q) = %d, want an error", bad, int64(s))
		}
	}
}
