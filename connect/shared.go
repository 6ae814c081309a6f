package connect

import (
	"context"
	"fmt"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
)

// TestAndRecord is "test connection" of a tenant's stored credentials: it tests them with
// cheap reads and keeps the outcome on the connection (the dashboard alerts on a failure)
// and in the site history, until the credentials change. The API and the console both call
// it. A tenant without such a connection gives store.ErrNotFound; one whose budget of tests
// is used up, *TestTooSoonError.
func (c *Connector) TestAndRecord(ctx context.Context, tenantID, role, actor string, details map[string]any) (psa.CheckResult, store.ConnectionStatus, error) {
	if wait, ok := c.AllowTest(tenantID); !ok {
		return psa.CheckResult{}, store.ConnectionStatus{}, &TestTooSoonError{Wait: wait}
	}
	res, st, err := c.Test(ctx, tenantID, role)
	if err != nil {
		return res, st, err
	}
	if _, err := c.store.RecordCheck(context.WithoutCancel(ctx), store.CheckRecord{TenantID: tenantID, Role: role, UpdatedAt: st.UpdatedAt,
		OK: res.OK, Message: res.Message, Actor: actor, Details: details}); err != nil {
		return res, st, fmt.Errorf("record the connection test: %w", err)
	}
	return res, st, nil
}

// SaveMapping checks a mapping's target in the tenant's PSA (it must be billable there) and
// creates or replaces the mapping with the target's names, writing its site-history row in
// the same transaction (store.PutCheckedMapping). PSA failures are CheckTarget's.
func (c *Connector) SaveMapping(ctx context.Context, m store.Mapping, actor string, details map[string]any) (store.MappingChange, error) {
	info, kind, err := c.CheckTarget(ctx, m.TenantID, m.Target)
	if err != nil {
		return store.MappingChange{}, err
	}
	m.Target, m.TargetInfo = info.Target, info
	return c.store.PutCheckedMapping(ctx, m, actor, string(kind), details)
}
