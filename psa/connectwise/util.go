package connectwise

import (
	"context"
	"errors"
	"time"

	"github.com/meterbridge/meterbridge/remote"
)

func asRemote(err error, target **remote.Error) bool { return errors.As(err, target) }

// sleep waits d with the sender's sleep function (tests replace it), or remote.Sleep.
func sleep(ctx context.Context, f func(context.Context, time.Duration) error, d time.Duration) error {
	if f == nil {
		f = remote.Sleep
	}
	return f(ctx, d)
}
