package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// keepAlive heartbeats in the background while a long activity works, so a live worker is
// never mistaken for a dead one while it waits on a slow PSA or a Retry-After; a worker that
// dies stops heartbeating and its attempt is retried elsewhere after the heartbeat timeout.
// Hung calls are still bounded by the activity's start-to-close timeout. Call the returned
// function when done.
func keepAlive(ctx context.Context, details func() any) func() {
	timeout := activity.GetInfo(ctx).HeartbeatTimeout
	if timeout <= 0 {
		return func() {}
	}
	every := timeout / 3
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, details())
			}
		}
	}()
	return func() { close(done) }
}
