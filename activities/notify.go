package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/notify"
	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/workflows"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/store"
)

// Notify tells the tenant's recipients about a cycle: e-mail to every manager address and a
// JSON post to the webhook, with times in the tenant's zone. Recipients that cannot be
// reached make the activity retry; the failure is also written to site history.
func (a *Activities) Notify(ctx context.Context, in billing.NotifyInput) error {
	t, err := a.tenant(ctx, in.TenantID)
	if err != nil {
		return err
	}
	c, err := a.Store.GetCycle(ctx, in.TenantID, in.CycleID)
	if err != nil {
		return cycleError("load cycle", err)
	}
	items, err := a.Store.CycleItems(ctx, in.TenantID, in.CycleID)
	if err != nil {
		return fmt.Errorf("load items: %w", err)
	}
	msg := composeNotice(t.Name, t.Location(), in, c, items)
	if a.Notifier == nil || (len(t.Settings.Notify.Emails) == 0 && t.Settings.Notify.WebhookURL == "") {
		a.log().Info("notification has no recipients", "tenant", t.ID, "cycle", c.ID, "subject", msg.Subject)
		return nil
	}
	// A retry sends only what earlier attempts did not: the channels already delivered travel
	// with the attempt's heartbeat details.
	var sent delivered
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &sent)
	}
	var failures []string
	// retry says whether trying again may deliver what failed: not without an SMTP server,
	// nor to a webhook the outbound policy refuses.
	retry := false
	if len(t.Settings.Notify.Emails) > 0 && !sent.Email {
		if err := a.Notifier.Email(ctx, t.Settings.Notify.Emails, msg.Subject, msg.Text); err != nil {
			failures = append(failures, "e-mail: "+err.Error())
			retry = retry || !errors.Is(err, notify.ErrNoSMTP)
		} else {
			sent.Email = true
			activity.RecordHeartbeat(ctx, sent)
		}
	}
	if url := t.Settings.Notify.WebhookURL; url != "" && !sent.Webhook {
		if err := a.Notifier.Webhook(ctx, url, msg.Webhook); err != nil {
			failures = append(failures, "webhook: "+err.Error())
			var refused *egress.RefusedError
			retry = retry || !errors.As(err, &refused)
		} else {
			sent.Webhook = true
			activity.RecordHeartbeat(ctx, sent)
		}
	}
	if len(failures) > 0 {
		text := "notification about " + string(c.Period) + " not delivered: " + strings.Join(failures, "; ")
		if activity.GetInfo(ctx).Attempt == 1 {
			// Once per notice, not once per retry.
			_ = a.Store.AddHistory(ctx, t.ID, store.SeverityError, store.ActorAutomatic, "notify.failed", text+" (retrying)", map[string]any{"cycle_id": c.ID})
		}
		if !retry {
			// Retrying cannot help until someone configures SMTP or a usable webhook.
			return temporal.NewNonRetryableApplicationError(text, workflows.ErrNotConfigured, nil)
		}
		return fmt.Errorf("%s", text)
	}
	return a.Store.AddHistory(ctx, t.ID, store.SeverityInfo, store.ActorAutomatic, "notify.sent",
		fmt.Sprintf("%q sent to %d recipient(s)", msg.Subject, len(t.Settings.Notify.Emails)), map[string]any{"cycle_id": c.ID, "notice": in.Notice})
}

// delivered remembers, across retries of one notice, which channels already have it.
type delivered struct {
	Email   bool
	Webhook bool
}

// notice is one message in the forms each channel takes.
type notice struct {
	Subject string
	Text    string
	Webhook map[string]any
}

func composeNotice(tenantName string, loc *time.Location, in billing.NotifyInput, c store.Cycle, items []store.Item) notice {
	what := kindWords(c.Kind)
	kind := in.Notice
	var subject string
	switch kind {
	case billing.NoticeReminder:
		subject = fmt.Sprintf("[meterbridge] %s %s: %d update(s) wait for approval", what, c.Period, c.Counts.Pending)
		if in.Reminder >= billing.MaxReminders {
			subject += " (last reminder)"
		}
	case billing.NoticeDeadline:
		subject = fmt.Sprintf("[meterbridge] %s %s: approval deadline reached", what, c.Period)
	default:
		subject = fmt.Sprintf("[meterbridge] %s %s %s", what, c.Period, statusWords(c.Status))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s of %s\n\n", tenantName, what, c.Period)
	fmt.Fprintf(&b, "Status:     %s\n", statusWords(c.Status))
	fmt.Fprintf(&b, "Started:    %s by %s\n", c.StartedAt.In(loc).Format("2006-01-02 15:04 MST"), c.StartedByLabel())
	if c.FinishedAt != nil {
		fmt.Fprintf(&b, "Finished:   %s\n", c.FinishedAt.In(loc).Format("2006-01-02 15:04 MST"))
	}
	fmt.Fprintf(&b, "Applied:    %d\nUp to date: %d\nRemoved:    %d\nPending:    %d\nFailed:     %d\n",
		c.Counts.Applied, c.Counts.Unchanged, c.Counts.Rejected, c.Counts.Pending, c.Counts.Failed)
	if c.Counts.Abandoned > 0 {
		fmt.Fprintf(&b, "Not pushed: %d (the cycle ended before pushing them)\n", c.Counts.Abandoned)
	}
	if n := c.Counts.Unmapped + c.Counts.Excluded; n > 0 {
		fmt.Fprintf(&b, "Not published: %d (%d unmapped, %d excluded)\n", n, c.Counts.Unmapped, c.Counts.Excluded)
	}
	if len(c.Clients) > 0 {
		fmt.Fprintf(&b, "Clients:    %s only\n", strings.Join(c.Clients, ", "))
	}
	if c.Error != "" {
		fmt.Fprintf(&b, "\nWhy: %s\n", c.Error)
	}
	var failed []map[string]any
	for _, it := range items {
		if it.State == billing.ItemFailed {
			failed = append(failed, map[string]any{"account": it.AccountName, "item": it.Item, "reason": it.Reason})
		}
	}
	if len(failed) > 0 {
		b.WriteString("\nFailed clients:\n")
		for _, it := range items {
			if it.State == billing.ItemFailed {
				fmt.Fprintf(&b, "  - %s (%s): %s\n", it.AccountName, it.Item, it.Reason)
			}
		}
	}
	// Clients left out on purpose are listed apart: they are not failures.
	var notPublished []map[string]any
	for _, it := range items {
		if it.State.NotPublished() {
			notPublished = append(notPublished, map[string]any{"account": it.AccountName, "state": it.State, "reason": it.Reason})
		}
	}
	if len(notPublished) > 0 {
		b.WriteString("\nNot published:\n")
		for _, it := range items {
			if it.State.NotPublished() {
				fmt.Fprintf(&b, "  - %s: %s\n", it.AccountName, it.Reason)
			}
		}
	}
	if kind == billing.NoticeReminder || c.Counts.Pending > 0 {
		b.WriteString("\nApprove or remove pending updates with POST /api/v1/tenants/{tenant}/pending/approve or /reject.\n")
	}
	if kind == billing.NoticeReminder && in.Reminder > 0 {
		if in.Reminder >= billing.MaxReminders {
			fmt.Fprintf(&b, "This is reminder %d of %d, the last: the updates keep waiting, without further reminders.\n", in.Reminder, billing.MaxReminders)
		} else {
			fmt.Fprintf(&b, "Reminder %d of at most %d.\n", in.Reminder, billing.MaxReminders)
		}
	}
	return notice{
		Subject: subject,
		Text:    b.String(),
		Webhook: map[string]any{
			"tenant": c.TenantID, "cycle_id": c.ID, "kind": c.Kind, "period": c.Period, "notice": kind,
			"status": c.Status, "counts": c.Counts, "error": c.Error, "failed": failed, "not_published": notPublished,
			"started_at": c.StartedAt.In(loc).Format(time.RFC3339), "started_by": c.StartedByLabel(),
		},
	}
}
