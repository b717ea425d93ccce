package merkle

import (
	"io"

	"golang.org/x/mod/sumdb/note"
)

// VerifyBundleBuffer is VerifyBundle with a read buffer of size bytes, so
// that tests move the buffer between the lines of small bundles.
func VerifyBundleBuffer(r io.Reader, size int, v note.Verifier) (*BundleReport, error) {
	return verifyLines(newLineReader(r, size), v, nil)
}
