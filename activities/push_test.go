package activities

import (
	"testing"

	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// MaxHold must be able to end a push that hangs: an item that waited the longest for its
// target's lock and then held it for MaxHold still ends inside the push activity's
// StartToClose, instead of the activity timing out around it.
func TestMaxHoldCanEndAPushBeforeItsActivityTimesOut(t *testing.T) {
	d := store.DefaultPushLockTimings
	if d.Wait+d.MaxHold >= workflows.OutsideStartToClose {
		t.Fatalf("a push may wait %v and hold %v, but its activity ends after %v", d.Wait, d.MaxHold, workflows.OutsideStartToClose)
	}
	if lease := d.Idle - d.Ping; lease <= 0 || d.Ping <= 0 {
		t.Fatalf("pings every %v cannot keep a session alive that the server ends after %v", d.Ping, d.Idle)
	}
}
