//go:build !amd64 || purego

package prefetch

// Range hints that b's bytes will be read soon; here it does nothing.
func Range(b []byte) {}
