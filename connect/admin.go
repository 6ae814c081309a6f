package connect

import (
	"context"
	"fmt"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
)

// Test checks the tenant's stored connection of a role with cheap reads (psa.Client.Check
// for the PSA, the vendor client's Check otherwise) and changes nothing anywhere. It
// returns the connection tested (its UpdatedAt identifies the credentials). The error is
// for a connection that is not stored (store.ErrNotFound) or the store failing; a
// connection that cannot even be opened is a failed CheckResult.
func (c *Connector) Test(ctx context.Context, tenantID, role string) (psa.CheckResult, store.ConnectionStatus, error) {
	st, err := c.store.GetConnectionStatus(ctx, tenantID, role)
	if err != nil {
		return psa.CheckResult{}, st, err
	}
	cl, err := c.get(ctx, tenantID, role)
	if err != nil {
		return psa.CheckResult{OK: false, Message: "the stored credentials cannot be used: " + err.Error()}, st, nil
	}
	return Check(ctx, cl), st, nil
}

// CheckTarget describes a mapping target in the tenant's PSA, proving it can be billed, and
// returns the kind of PSA that answered. Failures of the PSA are *remote.Error values
// (NotFound/Invalid: the target cannot be billed); a tenant without a PSA connection gives
// store.ErrNotFound.
func (c *Connector) CheckTarget(ctx context.Context, tenantID string, t psa.Target) (psa.TargetInfo, psa.Kind, error) {
	cl, err := c.PSA(ctx, tenantID)
	if err != nil {
		return psa.TargetInfo{}, "", err
	}
	info, err := cl.DescribeTarget(ctx, t)
	if err != nil {
		return psa.TargetInfo{}, cl.Kind(), fmt.Errorf("check target: %w", err)
	}
	return info, cl.Kind(), nil
}
