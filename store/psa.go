package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/tenant"
)

// PSAChange sets a tenant's PSA kind and credentials.
type PSAChange struct {
	TenantID string
	Kind     string
	// Config is shown; Secret is sealed (see connect.Prepare).
	Config json.RawMessage
	Secret json.RawMessage
	Actor  string
	// ConfirmReset allows switching to another kind of PSA, which deletes every mapping and
	// resets the automation settings (tenant.Settings.ResetForPSASwitch).
	ConfirmReset bool
	// Details are added to the site-history warning a switch writes (the request ID).
	Details map[string]any
	// Now is the clock that decides which month's publish a switch drops (time.Now when zero).
	Now time.Time
}

// MissedPublish is this month's automatic publish that a switch of PSA turns off before it
// ran: the month is not published automatically (the switch's confirmation is the choice).
type MissedPublish struct {
	Period billing.Period `json:"period"`
	DueAt  time.Time      `json:"due_at"`
}

// PSAChangeResult is what SetPSA did.
type PSAChangeResult struct {
	Connection ConnectionStatus
	Tenant     tenant.Tenant
	// From is the PSA kind before the change ("" when there was none).
	From     string
	Switched bool
	// MappingsDeleted and SettingsReset say what a switch removed.
	MappingsDeleted int64
	SettingsReset   []string
	// MissedPublish is set when the switch turned off this month's publish before it ran.
	MissedPublish *MissedPublish
}

// ResetRequiredError refuses a switch of PSA kind sent without confirm_reset, saying what
// the switch would delete.
type ResetRequiredError struct {
	From, To string
	Mappings int64
	Settings []string
	// MissedPublish is this month's publish the switch would turn off before it ran.
	MissedPublish *MissedPublish
}

func (e *ResetRequiredError) Error() string {
	msg := fmt.Sprintf("switching the PSA from %s to %s deletes all %d mapping(s)", e.From, e.To, e.Mappings)
	if len(e.Settings) > 0 {
		msg += " and resets " + strings.Join(e.Settings, ", ")
	} else {
		msg += " (no automation setting is on, so none is reset)"
	}
	if m := e.MissedPublish; m != nil {
		msg += fmt.Sprintf("; the automatic publish of %s, due %s, would not run (publish it with POST /publish once the new PSA's mappings are in place)",
			m.Period, m.DueAt.UTC().Format(time.RFC3339))
	}
	return msg + `; send "confirm_reset": true to do it`
}

// OpenCyclesError refuses a switch of PSA kind while cycles that were built against the old
// PSA have not finished: their updates name the old PSA's companies and additions.
type OpenCyclesError struct {
	From, To string
	Cycles   []Cycle
}

func (e *OpenCyclesError) Error() string {
	ids := make([]string, len(e.Cycles))
	for i, c := range e.Cycles {
		ids[i] = c.WorkflowID
	}
	return fmt.Sprintf("cannot switch the PSA from %s to %s while %d cycle(s) are open (%s); cancel them (POST …/cycles/{cycle}/cancel) or let them finish first",
		e.From, e.To, len(e.Cycles), strings.Join(ids, ", "))
}

// SetPSA stores a tenant's PSA credentials and kind in one transaction. Keeping the kind
// only updates the credentials. Switching kind (ConnectWise ↔ Autotask) needs
// c.ConfirmReset (else *ResetRequiredError) and no open cycle (else *OpenCyclesError); it
// then deletes every mapping of the tenant, resets its automation settings, and writes a
// site-history warning with the counts — all or nothing. A tenant without a recorded kind
// counts as having the kind of its stored PSA connection, if any.
func (s *Store) SetPSA(ctx context.Context, c PSAChange) (PSAChangeResult, error) {
	var res PSAChangeResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		t, err := s.scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1 FOR UPDATE`, c.TenantID))
		if err != nil {
			return err
		}
		// Locking the connection row first orders this against PutCheckedMapping, which holds
		// it shared while it writes a mapping checked against the current PSA.
		var stored string
		err = tx.QueryRow(ctx, `SELECT provider FROM connections WHERE tenant_id = $1 AND role = $2 FOR UPDATE`, c.TenantID, RolePSA).Scan(&stored)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		from := t.PSAKind
		if from == "" {
			from = stored
		}
		res.From = from
		settings := t.Settings
		if from != "" && from != c.Kind {
			var reset []string
			settings, reset = t.Settings.ResetForPSASwitch(c.Kind)
			missed, err := missedPublish(ctx, tx, t, settings, c.Now)
			if err != nil {
				return err
			}
			if open, err := queryCycles(ctx, tx, `SELECT `+cycleColumns+` FROM cycles WHERE tenant_id = $1 AND finished_at IS NULL
				ORDER BY started_at, id`, c.TenantID); err != nil {
				return err
			} else if len(open) > 0 {
				return &OpenCyclesError{From: from, To: c.Kind, Cycles: open}
			}
			if !c.ConfirmReset {
				var n int64
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM mappings WHERE tenant_id = $1`, c.TenantID).Scan(&n); err != nil {
					return err
				}
				return &ResetRequiredError{From: from, To: c.Kind, Mappings: n, Settings: reset, MissedPublish: missed}
			}
			tag, err := tx.Exec(ctx, `DELETE FROM mappings WHERE tenant_id = $1`, c.TenantID)
			if err != nil {
				return err
			}
			res.Switched, res.MappingsDeleted, res.SettingsReset, res.MissedPublish = true, tag.RowsAffected(), reset, missed
		}
		sj, webhook, err := s.storedSettings(c.TenantID, settings)
		if err != nil {
			return err
		}
		res.Tenant, err = s.scanTenant(tx.QueryRow(ctx, `UPDATE tenants SET psa_kind = $2, settings = $3, webhook_sealed = $4, updated_at = now()
			WHERE id = $1 RETURNING `+tenantColumns, c.TenantID, c.Kind, sj, webhook))
		if err != nil {
			return err
		}
		if err := s.putConnection(ctx, tx, Connection{TenantID: c.TenantID, Role: RolePSA, Provider: c.Kind,
			Config: c.Config, Secret: c.Secret, UpdatedBy: c.Actor}); err != nil {
			return err
		}
		if res.Switched {
			details := map[string]any{"from": from, "to": c.Kind, "mappings_deleted": res.MappingsDeleted, "settings_reset": orEmpty(res.SettingsReset)}
			for k, v := range c.Details {
				details[k] = v
			}
			msg := fmt.Sprintf("PSA switched from %s to %s by %s: %d mapping(s) deleted, %d automation setting(s) reset", from, c.Kind, c.Actor,
				res.MappingsDeleted, len(res.SettingsReset))
			if len(res.SettingsReset) > 0 {
				msg += " (" + strings.Join(res.SettingsReset, ", ") + ")"
			}
			if err := insertHistory(ctx, tx, c.TenantID, SeverityWarning, c.Actor, "psa.switched", msg, details); err != nil {
				return err
			}
			if m := res.MissedPublish; m != nil {
				if err := insertNote(ctx, tx, Note{TenantID: c.TenantID, Severity: SeverityWarning, Actor: c.Actor, Action: "schedule.publish_period",
					Message: fmt.Sprintf("the PSA switch turned the publish schedule off before this month's run: %s, due %s, is not published automatically; publish it with POST /publish once the new PSA's mappings are in place, or turn the schedule on again before then",
						m.Period, m.DueAt.In(t.Location()).Format("Mon 2 Jan 2006 15:04 MST")),
					Details: map[string]any{"period": m.Period, "due_at": m.DueAt, "outcome": "skipped", "request_id": c.Details["request_id"]}}); err != nil {
					return err
				}
			}
		}
		res.Connection, err = scanConnectionStatus(tx.QueryRow(ctx, `SELECT `+connectionStatusColumns+` FROM connections
			WHERE tenant_id = $1 AND role = $2`, c.TenantID, RolePSA))
		return err
	})
	if err != nil {
		return PSAChangeResult{}, err
	}
	return res, nil
}

// missedPublish reports this month's automatic publish that a change of settings from t's to
// after turns off before it ran, when the month is not published yet.
func missedPublish(ctx context.Context, tx pgx.Tx, t tenant.Tenant, after tenant.Settings, now time.Time) (*MissedPublish, error) {
	if now.IsZero() {
		now = time.Now()
	}
	loc := t.Location()
	due := t.Settings.Publish.Schedule.NextInMonth(now, loc)
	if due.IsZero() || !after.Publish.Schedule.NextInMonth(now, loc).IsZero() {
		return nil, nil
	}
	period := billing.MonthOf(now, loc)
	holder, err := periodPublisher(ctx, tx, t.ID, billing.UsagePublish, period)
	if err != nil || holder != "" {
		return nil, err
	}
	return &MissedPublish{Period: period, DueAt: due.UTC()}, nil
}

// insertHistory is AddHistory inside a transaction.
func insertHistory(ctx context.Context, db execer, tenantID, severity, actor, action, message string, details any) error {
	return insertNote(ctx, db, Note{TenantID: tenantID, Severity: severity, Actor: actor, Action: action, Message: message, Details: details})
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
