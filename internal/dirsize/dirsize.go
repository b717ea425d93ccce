// Package dirsize measures what a store's files take on disk, for the
// benchmarks that report bytes per event.
package dirsize

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// ByExt returns the bytes allocated to the files under dir (their blocks,
// not their apparent sizes), by file extension, or by name for files without one.
func ByExt(dir string) (map[string]int64, error) {
	byExt := map[string]int64{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n := info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n = st.Blocks * 512
		}
		ext := filepath.Ext(path)
		if ext == "" {
			ext = d.Name()
		}
		byExt[ext] += n
		return nil
	})
	return byExt, err
}
