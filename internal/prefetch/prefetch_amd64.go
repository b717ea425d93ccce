//go:build !purego

package prefetch

// Range hints that b's bytes will be read soon. It reads nothing: b may
// hold anything, and an address that cannot be read is no fault.
//
//go:noescape
func Range(b []byte)
