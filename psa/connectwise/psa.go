package connectwise

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

var (
	_ psa.Client            = (*Client)(nil)
	_ psa.BackupStatsWriter = (*Client)(nil)
)

// Kind names the PSA.
func (c *Client) Kind() psa.Kind { return psa.ConnectWise }

// Check tries, in order, the codebase look-up, /system/info and a one-row companies read.
// It only reads.
func (c *Client) Check(ctx context.Context) psa.CheckResult {
	var res psa.CheckResult
	fail := func(step string, err error) psa.CheckResult {
		res.Details = append(res.Details, step+" failed: "+err.Error())
		switch remote.KindOf(err) {
		case remote.Credentials:
			res.Message = "ConnectWise refused the company id or API keys: " + err.Error()
		case remote.RateLimited, remote.Unavailable:
			res.Message = "ConnectWise could not be reached or is busy; try again later: " + err.Error()
		default:
			res.Message = "ConnectWise answered unexpectedly: " + err.Error()
		}
		return res
	}
	info, err := c.CompanyInfo(ctx)
	if err != nil {
		return fail("company look-up", err)
	}
	step := fmt.Sprintf("company %q found; codebase %s", c.cfg.CompanyID, info.Codebase)
	if c.cfg.Codebase != "" && c.cfg.Codebase != info.Codebase {
		step += fmt.Sprintf(" (configured %s is used)", c.cfg.Codebase)
	}
	res.Details = append(res.Details, step)

	sys, err := c.SystemInfo(ctx)
	if err != nil {
		return fail("server info", err)
	}
	res.Details = append(res.Details, fmt.Sprintf("server version %s (cloud: %t); credentials accepted", sys.Version, sys.IsCloud))

	if _, err := c.ListCompanies(ctx, ListOptions{Fields: []string{"id"}, Limit: 1}); err != nil {
		return fail("companies read", err)
	}
	res.Details = append(res.Details, "companies readable")
	res.OK = true
	res.Message = "connected to ConnectWise PSA " + sys.Version
	return res
}

// ReadQuantities reads the targets' quantities with one agreements listing (by id) and one
// paged additions listing per agreement. A target whose agreement or addition is missing,
// cancelled, or belongs elsewhere gets a NotFound Reading.Err; credentials, throttling and
// outages fail the whole call. Addition quantities are not dated: the current one is read
// whatever `on` says, and Reading.AsOf stays zero.
func (c *Client) ReadQuantities(ctx context.Context, targets []psa.Target, _ time.Time) ([]psa.Reading, error) {
	out := make([]psa.Reading, len(targets))
	byAgreement := map[int64][]int{}
	var agreementIDs []int64
	for i, t := range targets {
		out[i].Target = t
		if _, seen := byAgreement[t.AgreementID]; !seen {
			agreementIDs = append(agreementIDs, t.AgreementID)
		}
		byAgreement[t.AgreementID] = append(byAgreement[t.AgreementID], i)
	}
	if len(targets) == 0 {
		return out, nil
	}
	agreements, err := c.AgreementsByID(ctx, agreementIDs)
	if err != nil {
		return nil, fmt.Errorf("read quantities: %w", err)
	}
	now := c.now()
	for _, agID := range agreementIDs {
		idx := byAgreement[agID]
		op := "GET " + additionsPath(agID)
		ag, ok := agreements[agID]
		if !ok {
			setErr(out, idx, notFound(op, "agreement %d does not exist", agID))
			continue
		}
		if why := ag.closed(); why != "" {
			setErr(out, idx, notFound(op, "agreement %d is %s", agID, why))
			continue
		}
		adds, err := c.ListAdditions(ctx, agID, ListOptions{Fields: []string{"id", "agreementId", "quantity", "cancelledDate"}})
		if remote.KindOf(err) == remote.NotFound {
			setErr(out, idx, notFound(op, "agreement %d does not exist", agID))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read quantities of agreement %d: %w", agID, err)
		}
		byID := make(map[int64]Addition, len(adds))
		for _, a := range adds {
			byID[a.ID] = a
		}
		for _, i := range idx {
			t := targets[i]
			a, ok := byID[t.AdditionID]
			switch {
			case ag.Company.ID != t.CompanyID:
				out[i].Err = notFound(op, "agreement %d belongs to company %d, not %d", agID, ag.Company.ID, t.CompanyID)
			case !ok:
				out[i].Err = notFound(op, "addition %d is not on agreement %d", t.AdditionID, agID)
			case a.CancelledBy(now):
				out[i].Err = notFound(op, "addition %d was cancelled on %s", t.AdditionID, a.CancelledDate.Format("2006-01-02"))
			default:
				out[i].Quantity = a.Quantity.Decimal
			}
		}
	}
	return out, nil
}

func setErr(out []psa.Reading, idx []int, err error) {
	for _, i := range idx {
		out[i].Err = err
	}
}

// SetQuantity makes the addition hold c.Quantity with a PATCH replace of quantity (skipped
// when it already does), then reads it back.
//
// The effective date is deliberately not patched: it is when the addition started billing,
// and moving it would rewrite history (and is refused before the agreement's start or
// inside an invoiced period). A quantity changed in place bills from the next invoice, the
// same as an edit in the ConnectWise UI; c.Effective only guards against writing to an
// addition already cancelled by then, and c.Until means nothing here. c.Marker is not stored: an absolute PATCH repeated
// after a lost response leaves the addition as one would.
// Unconfirmed: whether a PATCH of quantity triggers proration exactly like a UI edit.
func (c *Client) SetQuantity(ctx context.Context, ch psa.Change) (psa.Applied, error) {
	t := ch.Target
	path := itemPath(additionsPath(t.AgreementID), t.AdditionID)
	op := http.MethodPatch + " " + path
	if ch.Keep.Valid {
		return psa.Applied{}, invalid(op, "quantity", "an agreement addition holds one current quantity: a change cannot be limited to days before %s",
			ch.Until.Format("2006-01-02"))
	}
	if _, err := c.billableAddition(ctx, t); err != nil {
		return psa.Applied{}, err
	}
	a, err := c.GetAddition(ctx, t.AgreementID, t.AdditionID)
	if err != nil {
		return psa.Applied{}, fmt.Errorf("set quantity of addition %d: %w", t.AdditionID, err)
	}
	when := ch.Effective
	if when.IsZero() {
		when = c.now()
	}
	if a.CancelledBy(when) {
		return psa.Applied{}, notFound(op, "addition %d is cancelled from %s", t.AdditionID, a.CancelledDate.Format("2006-01-02"))
	}
	if !a.Quantity.Equal(ch.Quantity) {
		if _, err := c.SetAdditionQuantity(ctx, t.AgreementID, t.AdditionID, ch.Quantity); err != nil {
			return psa.Applied{}, fmt.Errorf("set quantity of addition %d: %w", t.AdditionID, err)
		}
	}
	back, err := c.GetAddition(ctx, t.AgreementID, t.AdditionID)
	if err != nil {
		return psa.Applied{}, fmt.Errorf("read back addition %d: %w", t.AdditionID, err)
	}
	applied := psa.Applied{Quantity: back.Quantity.Decimal}
	if !back.Quantity.Equal(ch.Quantity) {
		return applied, invalid(op, "quantity", "ConnectWise holds %s after being set to %s", back.Quantity.String(), ch.Quantity.String())
	}
	return applied, nil
}

// DescribeTarget names the target's company, agreement and product, checking that each
// level exists, is not cancelled and belongs to the level above.
func (c *Client) DescribeTarget(ctx context.Context, t psa.Target) (psa.TargetInfo, error) {
	info := psa.TargetInfo{Target: t}
	co, err := c.GetCompany(ctx, t.CompanyID)
	if err != nil {
		return info, fmt.Errorf("describe company %d: %w", t.CompanyID, err)
	}
	ag, err := c.billableAddition(ctx, t)
	if err != nil {
		return info, err
	}
	a, err := c.GetAddition(ctx, t.AgreementID, t.AdditionID)
	if err != nil {
		return info, fmt.Errorf("describe addition %d: %w", t.AdditionID, err)
	}
	op := "GET " + itemPath(additionsPath(t.AgreementID), t.AdditionID)
	if a.AgreementID != 0 && a.AgreementID != t.AgreementID {
		return info, notFound(op, "addition %d belongs to agreement %d, not %d", t.AdditionID, a.AgreementID, t.AgreementID)
	}
	if a.CancelledBy(c.now()) {
		return info, notFound(op, "addition %d was cancelled on %s", t.AdditionID, a.CancelledDate.Format("2006-01-02"))
	}
	product := a.Product.Identifier
	if product == "" && a.Product.ID != 0 {
		item, err := c.GetCatalogItem(ctx, a.Product.ID)
		if err != nil {
			return info, fmt.Errorf("describe product %d: %w", a.Product.ID, err)
		}
		product = item.Identifier
	}
	info.CompanyName, info.AgreementName, info.Product = co.Name, ag.Name, product
	return info, nil
}

// billableAddition checks the agreement level of a target: it exists, belongs to the
// target's company and is not cancelled or expired.
func (c *Client) billableAddition(ctx context.Context, t psa.Target) (Agreement, error) {
	op := "GET " + itemPath(agreementsPath, t.AgreementID)
	ag, err := c.GetAgreement(ctx, t.AgreementID)
	if err != nil {
		return ag, fmt.Errorf("agreement %d: %w", t.AgreementID, err)
	}
	if ag.Company.ID != t.CompanyID {
		return ag, notFound(op, "agreement %d belongs to company %d, not %d", t.AgreementID, ag.Company.ID, t.CompanyID)
	}
	if why := ag.closed(); why != "" {
		return ag, notFound(op, "agreement %d is %s", t.AgreementID, why)
	}
	return ag, nil
}
