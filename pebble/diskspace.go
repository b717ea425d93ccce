package pebble

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"

	"github.com/auditlog/auditlog"
)

// DefaultMinFreeDisk is the free space the store keeps on its file system
// by default: room for Pebble to flush a memtable (16 MiB) and compact
// after writes stop, and for the operator to act.
const DefaultMinFreeDisk = 64 << 20

// errDiskFull is the error of the writes refused for want of space; it
// wraps errDiskFullAPI, what a client is told.
var (
	errDiskFull    = errors.New("no space left on device")
	errDiskFullAPI = auditlog.Errorf(auditlog.EUNAVAILABLE, "the server's disk is full: nothing of this request was stored; send it again after Retry-After")
)

// diskGuard refuses the store's writes while the free space of its file
// system is below a reserve, so that the disk never fills under Pebble (see
// waitFS for when it does anyway). Each check is one statfs: a few
// microseconds, once per group commit and per ingest request. It logs one
// line when the space runs short and one when it is back, not one per write.
type diskGuard struct {
	path   string
	min    uint64 // 0 turns the guard off
	logger *slog.Logger

	mu   sync.Mutex
	full bool
}

// check returns nil while the free space is at least the reserve, and else
// an EUNAVAILABLE error (503 with Retry-After) wrapping errDiskFull.
func (g *diskGuard) check() error {
	if g == nil || g.min == 0 {
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(g.path, &st); err != nil {
		return nil // cannot tell: let the write try (waitFS is the net)
	}
	free := st.Bavail * uint64(st.Bsize)
	full := free < g.min
	g.mu.Lock()
	if full != g.full {
		g.full = full
		if full {
			g.logger.Error("no space left on device: refusing writes until space is freed", "path", g.path, "free", mib(free), "reserve", mib(g.min))
		} else {
			g.logger.Info("disk space is back: accepting writes again", "path", g.path, "free", mib(free))
		}
	}
	g.mu.Unlock()
	if full {
		return fmt.Errorf("%w: %w", errDiskFull, errDiskFullAPI)
	}
	return nil
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
