package merkle

import (
	"bytes"
	"strings"
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
	got, rest := timestamp([]byte(`"0001-02-03T04:05:06.789Z",`), new(dateCache))
	if want := time.Date(1, 2, 3, 4, 5, 6, 789e6, time.UTC); got != want || string(rest) != "," {
		t.Fatalf("timestamp() = %v, rest %q; want %v", got, rest, want)
	}
	bads := []string{`"2025-02-29T00:00:00.000Z"`, `"2024-04-31T00:00:00.000Z"`, `"2024-13-01T00:00:00.000Z"`, `"2024-00-01T00:00:00.000Z"`, `"2024-01-01T24:00:00.000Z"`}
	for _, bad := range bads {
		if _, rest := timestamp([]byte(bad), new(dateCache)); rest != nil {
			t.Errorf("timestamp() accepted %s", bad)
		}
	}
	// Every byte value at every place of a few timestamps: what timestamp()
	// accepts, time.Parse reads the same; with an empty date cache, and with
	// one that holds the timestamp's date, or holds it before the change.
	var dc dateCache
	for _, ts := range []string{"2024-01-01T00:00:00.000Z", "2026-11-26T23:59:59.999Z", "0000-12-31T19:09:18.270Z", "9999-02-28T12:34:56.789Z"} {
		for at := range len(ts) {
			for c := range 256 {
				v := []byte(ts)
				v[at] = byte(c)
				quoted := append(append([]byte{'"'}, v...), '"')
				got, rest := timestamp(quoted, new(dateCache))
				timestamp(append(append([]byte{'"'}, ts...), '"'), &dc) // dc holds ts's date
				if got2, rest2 := timestamp(quoted, &dc); !got2.Equal(got) || (rest2 == nil) != (rest == nil) {
					t.Fatalf("timestamp() of %q after %q: %v (ok %v); with an empty cache %v (ok %v)", v, ts, got2, rest2 != nil, got, rest != nil)
				}
				if got3, rest3 := timestamp(quoted, &dc); !got3.Equal(got) || (rest3 == nil) != (rest == nil) {
					t.Fatalf("timestamp() of %q twice: %v (ok %v); with an empty cache %v (ok %v)", v, got3, rest3 != nil, got, rest != nil)
				}
				bad := rest == nil
				want, err := time.Parse("2006-01-02T15:04:05.000Z07:00", string(v))
				switch {
				case !bad && err != nil:
					t.Fatalf("timestamp() accepted %q, which time.Parse does not: %v", v, err)
				case !bad && !got.Equal(want):
					t.Fatalf("timestamp() of %q = %v, time.Parse %v", v, got, want)
				case bad && err == nil && isDigit(ts[at]) && isDigit(v[at]):
					t.Fatalf("timestamp() refused %q, which time.Parse reads as %v", v, want)
				}
			}
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// TestInteger reads sequences: canonical non-negative integers of at most
// 18 digits, which cannot overflow; the general path takes the rest.
func TestInteger(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0,", 0, true}, {"7,", 7, true}, {"1234567890,", 1234567890, true},
		{"999999999999999999,", 999999999999999999, true},
		{"1000000000000000000,", 0, false}, {"9223372036854775807,", 0, false}, {"99999999999999999999,", 0, false},
		{"012,", 0, false}, {"00,", 0, false}, {",", 0, false}, {"", 0, false}, {"-1,", 0, false}, {"+1,", 0, false},
	} {
		got, rest := integer([]byte(tc.in))
		if (rest != nil) != tc.ok || tc.ok && (got != tc.want || string(rest) != ",") {
			t.Errorf("integer() of %q = %d, rest %q; want %d, ok %v", tc.in, got, rest, tc.want, tc.ok)
		}
	}
}

// TestObjectStopsAtItsLine: details with an escape are left to the general
// path where the escape is met. Read on, an escaped quote turns the strings
// inside out, and the object runs on past its line, to the end of the
// buffer (the whole rest of a mapped bundle, for every such line); here it
// would end on the next line's brace.
func TestObjectStopsAtItsLine(t *testing.T) {
	for _, in := range []string{
		`{"q":"\""}` + "\n" + `"}`,
		`{"q":"\"{{{"}` + "\n" + `{"event":{"q":"}}}"}}`,
		`{"q":"a` + "\n" + `"}`,
	} {
		if v, rest := object([]byte(in)); v != nil || rest != nil {
			t.Errorf("object(%q) = %q, rest %q; want it left to the general path", in, v, rest)
		}
	}
	if v, rest := object([]byte(`{"q":"}{","r":[1,{"s":2}]},"ipAddress"`)); string(v) != `{"q":"}{","r":[1,{"s":2}]}` || string(rest) != `,"ipAddress"` {
		t.Errorf("object() = %q, rest %q", v, rest)
	}
}

// TestStr reads strings of every length to 200, with their closing quote
// or without, and more quotes after, each ending where an inaccessible page
// begins: str finds the quote eight bytes at a time, and must not read past
// the line.
func TestStr(t *testing.T) {
	for n := range 201 {
		v := bytes.Repeat([]byte{'x'}, n)
		for i := range v {
			v[i] = byte('a' + (i*7+n)%26)
		}
		for _, tail := range []string{`"`, `","b":"c"`, `"` + strings.Repeat(`"`, 70), ""} {
			in := guarded(t, append(append([]byte{'"'}, v...), tail...)) // read past its end, it faults
			got, rest := str(in)
			switch {
			case tail == "" && rest != nil:
				t.Fatalf("str of an unended string of %d bytes: %q, rest %q", n, got, rest)
			case tail != "" && (got != string(v) || string(rest) != tail[1:]):
				t.Fatalf("str of %d bytes then %q = %q, rest %q", n, tail, got, rest)
			}
		}
	}
	if _, rest := str([]byte(`x"`)); rest != nil {
		t.Fatal("str read a string without its opening quote")
	}
}

// TestLit reads literals of every length to 40, in text that ends where an
// inaccessible page begins, alone and before more text, with each byte
// changed in turn and cut short: lit compares eight bytes at a time, the
// last eight overlapping, and must not read past the text.
func TestLit(t *testing.T) {
	for n := 1; n <= 40; n++ {
		l := make([]byte, n)
		for i := range l {
			l[i] = byte('a' + (i*5+n)%26)
		}
		for _, tail := range []string{"", `,"x":1`} {
			in := guarded(t, append(append([]byte(nil), l...), tail...))
			if rest := lit(in, string(l)); rest == nil || string(rest) != tail {
				t.Fatalf("lit of %d bytes then %q: rest %q", n, tail, rest)
			}
			for i := range n {
				bad := append([]byte(nil), in...)
				bad[i] ^= 0x20
				if rest := lit(guarded(t, bad), string(l)); rest != nil {
					t.Fatalf("lit of %d bytes read %q, with byte %d changed", n, bad, i)
				}
			}
		}
		if rest := lit(guarded(t, l[:n-1]), string(l)); rest != nil {
			t.Fatalf("lit of %d bytes read the %d before it", n, n-1)
		}
	}
}
