// Package sourcetest holds what the tests of the vendor source clients share.
package sourcetest

import (
	"context"
	"sync"
	"time"
)

// Waits records a client's pauses between attempts instead of sleeping through them; give
// its Sleep to the client's WithSleep option.
type Waits struct {
	mu sync.Mutex
	d  []time.Duration
}

// Sleep records d and returns at once, with the context's error if it has ended.
func (w *Waits) Sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return ctx.Err()
}

// All returns the pauses recorded so far, in order.
func (w *Waits) All() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}
