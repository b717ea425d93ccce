package groupcommit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/groupcommit"
)

// TestQueue: concurrent requests share commits, each gets its own result,
// a failed commit fails every request of its group, and Close commits what
// was queued before it.
func TestQueue(t *testing.T) {
	var commits atomic.Int32
	errClosed := errors.New("closed")
	q := groupcommit.New(100, func(n int) int { return n }, errClosed, func(group []int) ([]int, error) {
		commits.Add(1)
		time.Sleep(2 * time.Millisecond) // like an fsync
		out := make([]int, len(group))
		for i, n := range group {
			if n < 0 {
				return nil, errors.New("bad request in the group")
			}
			out[i] = n * 2
		}
		return out, nil
	})
	var wg sync.WaitGroup
	for i := 1; i <= 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := q.Submit(context.Background(), i%7+1)
			if err != nil || got != (i%7+1)*2 {
				t.Errorf("Submit(%d) = %d, %v", i%7+1, got, err)
			}
		}()
	}
	wg.Wait()
	if c := commits.Load(); c >= 200 {
		t.Errorf("200 concurrent requests took %d commits: none were shared", c)
	}
	if _, err := q.Submit(context.Background(), -1); err == nil {
		t.Error("a failed commit answered without an error")
	}
	q.Close()
	if _, err := q.Submit(context.Background(), 1); !errors.Is(err, errClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
}
