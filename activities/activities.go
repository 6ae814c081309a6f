// Package activities holds every call the workflows make to the outside world: PostgreSQL,
// PSA and vendor APIs, mail and webhooks. Each method is a thin adapter between a workflow's
// types and a client's calls, idempotent by business key so a retried attempt leaves the
// world as one attempt would.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// Connector opens a tenant's outside clients from its stored (encrypted) connections, so
// credentials are loaded inside activities and never travel in workflow payloads.
type Connector interface {
	PSA(ctx context.Context, tenantID string) (psa.Client, error)
	Backup(ctx context.Context, tenantID string) (sources.BackupUsage, error)
	Licences(ctx context.Context, tenantID string) (sources.Licences, error)
	Gauges(ctx context.Context, tenantID string) (sources.GaugeValues, error)
}

// Notifier delivers messages to people and chat tools.
type Notifier interface {
	Email(ctx context.Context, to []string, subject, text string) error
	Webhook(ctx context.Context, url string, payload any) error
}

// CycleWorkflows tells how a cycle's workflow stands in Temporal (the starter implements it).
type CycleWorkflows interface {
	// CycleWorkflowEnded reports whether the workflow chain of a cycle has ended and, if so,
	// how, as people read it.
	CycleWorkflowEnded(ctx context.Context, workflowID, cycleID string) (ended bool, how string, err error)
}

// Activities holds the dependencies of every activity.
type Activities struct {
	Store    *store.Store
	Connect  Connector
	Notifier Notifier
	Logger   *slog.Logger
	// Workflows lets the reconciler see which cycles' workflows ended outside workflow code.
	Workflows CycleWorkflows
	// Schedules syncs a tenant's Temporal Schedules when a scheduled run finds them stale
	// (nil: they are left to the next settings change or worker start).
	Schedules ScheduleSyncer
}

func (a *Activities) log() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

// outsideError turns a client failure into what Temporal should do about it: credentials and
// invalid requests are not retried; a rate limit is retried after the wait the service asked
// for; everything else is retried with the activity's backoff.
func outsideError(what string, err error) error {
	if err == nil {
		return nil
	}
	var re *remote.Error
	if !errors.As(err, &re) {
		if errors.Is(err, store.ErrNotFound) {
			return temporal.NewNonRetryableApplicationError(what+": "+err.Error(), workflows.ErrNotConfigured, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	msg := what + ": " + re.Error()
	switch re.Kind {
	case remote.Credentials:
		return temporal.NewNonRetryableApplicationError(msg, workflows.ErrCredentials, err)
	case remote.Refused:
		// The outbound policy refuses the connection's URL: a person must change it.
		return temporal.NewNonRetryableApplicationError(msg, workflows.ErrNotConfigured, err)
	case remote.Invalid, remote.NotFound:
		return temporal.NewNonRetryableApplicationError(msg, workflows.ErrInvalid, err)
	case remote.RateLimited:
		return temporal.NewApplicationErrorWithOptions(msg, "RateLimited", temporal.ApplicationErrorOptions{
			Cause: err, NextRetryDelay: re.RetryAfter,
		})
	default:
		return temporal.NewApplicationErrorWithOptions(msg, "Unavailable", temporal.ApplicationErrorOptions{Cause: err})
	}
}

// itemReason is the sentence stored on an item that failed alone.
func itemReason(err error) string {
	var re *remote.Error
	if errors.As(err, &re) {
		switch re.Kind {
		case remote.NotFound:
			return "not found in the PSA: " + re.Error()
		case remote.Invalid:
			return "rejected by the PSA: " + re.Error()
		}
	}
	return err.Error()
}
