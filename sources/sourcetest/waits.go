// Package sourcetest holds what the tests of the vendor source clients share.
package sourcetest

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/meterbridge/meterbridge/remote/egress"
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

// LoopbackClient reaches the tests' emulators on 127.0.0.1 over plain http, which the strict
// outbound policy of a client built without one refuses: the policy the dev stack runs with
// (METERBRIDGE_ALLOW_PRIVATE_TARGETS).
func LoopbackClient() *http.Client {
	return egress.New(egress.Options{AllowPrivate: true}).Client(30 * time.Second)
}
