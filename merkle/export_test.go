package merkle

import (
	"io"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// VerifyBundleBuffer is VerifyBundle with a read buffer of size bytes, so
// that tests move the buffer between the lines of small bundles.
func VerifyBundleBuffer(r io.Reader, size int, v note.Verifier) (*BundleReport, error) {
	return verifyLines(newLineReader(r, size), v, nil)
}

// SetBatchLines sets how many lines a bundle's batch holds, until the
// returned function puts it back.
func SetBatchLines(n int) (restore func()) {
	old := batchLines
	batchLines = n
	return func() { batchLines = old }
}

// Guarded is guarded, for the package's external tests.
func Guarded(tb testing.TB, b []byte) []byte { return guarded(tb, b) }

// SetReleaseEvery sets how many bytes of a mapped bundle are read between
// releases, until the returned function puts it back.
func SetReleaseEvery(n int) (restore func()) {
	old := releaseEvery
	releaseEvery = n
	return func() { releaseEvery = old }
}
