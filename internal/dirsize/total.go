package dirsize

import (
	"errors"
	"io/fs"
)

// Total returns the bytes allocated to the files under dir. The directory
// may be in use: a walk that meets a file removed meanwhile (a compaction,
// a rotated log) starts again, up to ten times.
func Total(dir string) (int64, error) {
	for try := 1; ; try++ {
		byExt, err := ByExt(dir)
		if errors.Is(err, fs.ErrNotExist) && try < 10 {
			continue
		}
		if err != nil {
			return 0, err
		}
		var n int64
		for _, v := range byExt {
			n += v
		}
		return n, nil
	}
}
