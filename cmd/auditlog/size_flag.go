package main

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeFlag is a byte count given as a number with an optional unit: B, KiB,
// MiB, GiB, or KB, MB, GB (powers of 1000).
type sizeFlag int64

var sizeUnits = []struct {
	suffix string
	scale  int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

func (s *sizeFlag) Set(v string) error {
	num, scale := strings.TrimSpace(v), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, scale = strings.TrimSpace(n), u.scale
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/scale {
		return fmt.Errorf("%q is not a size such as 64MiB, 1GiB or 0", v)
	}
	*s = sizeFlag(n * scale)
	return nil
}

func (s *sizeFlag) String() string {
	n := int64(*s)
	for _, u := range sizeUnits[:3] {
		if n >= u.scale && n%u.scale == 0 && (u.scale == 1<<30 || n%(u.scale<<10) != 0) {
			return strconv.FormatInt(n/u.scale, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
