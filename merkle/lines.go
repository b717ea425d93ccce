package merkle

import (
	"bytes"
	"io"

	"github.com/auditlog/auditlog/internal/prefetch"
)

// lineReader reads a bundle into one buffer that it reuses, so that the
// lines a verifier reads are not copied again, and so that the fast parser
// can find a line's end as it reads the line, instead of searching for it
// first (see next).
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int   // the unread bytes are buf[start:end]
	fetched    int   // buf[:fetched] is read, or prefetched
	touched    int   // the next byte prefetch reads ahead; one each touchAhead before it was
	sink       byte  // the bytes read ahead, summed so that the reads stay
	err        error // the reader's error, io.EOF at its end
	eof        bool  // err is io.EOF: the lines end at buf[end]
	ahead      int   // how much next keeps buffered ahead
	// release, if not nil, is told now and then that the bytes before the
	// n it is given were read (see mapfile.Mapping.Release); released is
	// the last n.
	release  func(n int)
	released int
	// moving, if not nil, is called before the buffer's bytes move, which
	// ends the life of every slice of the lines read so far.
	moving func()
}

// lineBuffer is the size of a bundle's read buffer.
const lineBuffer = 1 << 20

// newLineReader returns a lineReader of r with a buffer of size bytes, which
// keeps a sixteenth of them buffered ahead: with a megabyte, more than any
// line of a bundle of ordinary events.
func newLineReader(r io.Reader, size int) *lineReader {
	return &lineReader{r: r, buf: make([]byte, size), ahead: size / 16}
}

// newBytesLineReader returns a lineReader of data, a whole bundle in
// memory: its lines are read where they are, and never move.
func newBytesLineReader(data []byte) *lineReader {
	return &lineReader{buf: data, end: len(data), err: io.EOF, eof: true}
}

// next returns the unread bytes, at least lr.ahead of them unless the
// reader has ended. The caller takes what it reads with advance.
func (lr *lineReader) next() []byte {
	if lr.willMove() {
		lr.fill()
	}
	return lr.buf[lr.start:lr.end]
}

// prefetchAhead is how far ahead of the lines it reads prefetch asks for
// the bytes: about as far as the processor verifies lines in the time that
// main memory takes to deliver them.
const prefetchAhead = 4096

// prefetch looks after the memory around the unread bytes, once per line:
// it asks the processor for those up to prefetchAhead past them, each once
// (a bundle in memory is read from main memory, where a reader's bytes were
// just copied into the buffer, and are in the processor's caches), reads a
// byte of each 64 KB further ahead, and, with release, releases what lies
// behind.
func (lr *lineReader) prefetch() {
	to := min(lr.start+prefetchAhead, lr.end)
	if from := max(lr.fetched, lr.start); from < to {
		prefetch.Range(lr.buf[from:to])
		lr.fetched = to
	}
	// A mapped file's pages enter the page tables when first read, 64 KB
	// at a time (the kernel's fault-around), and a prefetch of a page not
	// yet there is dropped: so a byte of each 64 KB is read a block ahead.
	for until := min(to+touchAhead, lr.end); lr.touched < until; lr.touched += touchAhead {
		lr.sink += lr.buf[lr.touched]
	}
	if lr.release != nil && lr.start-lr.released >= releaseEvery {
		lr.released = lr.start
		lr.release(lr.start)
	}
}

// releaseEvery is how many bytes prefetch lets a reader with release read
// before it releases them.
var releaseEvery = 64 << 20

// touchAhead is how far ahead of what it prefetches prefetch reads a byte.
const touchAhead = 64 << 10

// willMove reports whether the next call of next will move the buffer's
// bytes, ending the life of the lines read so far.
func (lr *lineReader) willMove() bool { return lr.end-lr.start < lr.ahead && lr.err == nil }

// advance takes n bytes of what next returned.
func (lr *lineReader) advance(n int) { lr.start += n }

// line returns the next line, with its newline unless it is the last, or
// io.EOF after the last. The line lives until the buffer next moves.
func (lr *lineReader) line() ([]byte, error) {
	for searched := 0; ; {
		if i := bytes.IndexByte(lr.buf[lr.start+searched:lr.end], '\n'); i >= 0 {
			line := lr.buf[lr.start : lr.start+searched+i+1]
			lr.start += len(line)
			return line, nil
		}
		searched = lr.end - lr.start
		if lr.err != nil {
			if searched == 0 {
				return nil, lr.err
			}
			line := lr.buf[lr.start:lr.end]
			lr.start = lr.end
			if lr.err == io.EOF {
				return line, nil
			}
			return line, lr.err
		}
		lr.fill()
	}
}

// fill moves the unread bytes to the buffer's start, doubling the buffer if
// they fill it, and reads until it is full or the reader ends.
func (lr *lineReader) fill() {
	if lr.moving != nil {
		lr.moving()
	}
	n := copy(lr.buf, lr.buf[lr.start:lr.end])
	lr.start, lr.end = 0, n
	defer func() { lr.fetched, lr.touched = lr.end, lr.end }()
	if n == len(lr.buf) {
		lr.buf = append(lr.buf, make([]byte, len(lr.buf))...)
	}
	for empty := 0; lr.end < len(lr.buf) && lr.err == nil; {
		m, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += m
		switch {
		case err != nil:
			lr.err, lr.eof = err, err == io.EOF
		case m > 0:
			empty = 0
		default:
			if empty++; empty == 100 { // as bufio gives up on a reader
				lr.err = io.ErrNoProgress
			}
		}
	}
}
