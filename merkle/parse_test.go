package merkle

import (
	"testing"
	"time"
)

// TestCivilDays holds the bundle reader's date arithmetic to time.Date on
// every day of years around the edges of the calendar and a sample of the rest.
func TestCivilDays(t *testing.T) {
	years := []int{0, 1, 3, 4, 99, 100, 399, 400, 401, 1600, 1900, 1969, 1970, 2000, 2024, 2025, 2100, 2400, 9999}
	for y := 0; y < 10000; y += 37 {
		years = append(years, y)
	}
	for _, y := range years {
		for m := 1; m <= 12; m++ {
			want := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
			if got := daysIn(y, m); got != want {
				t.Fatalf("daysIn(%d, %d) = %d, want %d", y, m, got, want)
			}
			for d := 1; d <= want; d++ {
				if got, want := civilDays(y, m, d), time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix()/86400; got != want {
					t.Fatalf("civilDays(%d, %d, %d) = %d, want %d", y, m, d, got, want)
				}
			}
		}
	}
	s := &scanner{b: []byte(`"0001-02-03T04:05:06.789Z"`)}
	if got, want := s.time(), time.Date(1, 2, 3, 4, 5, 6, 789e6, time.UTC); s.bad || got != want {
		t.Fatalf("time() = %v (bad %v), want %v", got, s.bad, want)
	}
	for _, bad := range []string{`"2025-02-29T00:00:00.000Z"`, `"2024-04-31T00:00:00.000Z"`, `"2024-13-01T00:00:00.000Z"`, `"2024-00-01T00:00:00.000Z"`, `"2024-01-01T24:00:00.000Z"`} {
		s := &scanner{b: []byte(bad)}
		if s.time(); !s.bad {
			t.Errorf("time() accepted %s", bad)
		}
	}
}
