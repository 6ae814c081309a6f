package autotask

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

// maxCreateAttempts bounds how often one SetQuantity posts an adjustment that did not land.
const maxCreateAttempts = 4

// ReadQuantities reads each target's units from the ContractServiceUnits row in force today.
// Target.AgreementID is the contract id and Target.AdditionID the contract service id.
func (c *Client) ReadQuantities(ctx context.Context, targets []psa.Target) ([]psa.Reading, error) {
	d := c.today()
	var csIDs []int64
	seen := map[int64]bool{}
	for _, t := range targets {
		if t.AdditionID > 0 && t.AgreementID > 0 && !seen[t.AdditionID] {
			seen[t.AdditionID] = true
			csIDs = append(csIDs, t.AdditionID)
		}
	}
	rows, err := c.UnitsOn(ctx, csIDs, d)
	if err != nil {
		return nil, fmt.Errorf("read units of %d contract services: %w", len(csIDs), err)
	}
	var contractIDs []int64
	seenContract := map[int64]bool{}
	for _, t := range targets {
		if _, ok := rows[t.AdditionID]; ok && t.CompanyID != 0 && !seenContract[t.AgreementID] {
			seenContract[t.AgreementID] = true
			contractIDs = append(contractIDs, t.AgreementID)
		}
	}
	contracts, err := c.contractsByID(ctx, contractIDs)
	if err != nil {
		return nil, fmt.Errorf("read %d contracts: %w", len(contractIDs), err)
	}
	out := make([]psa.Reading, len(targets))
	for i, t := range targets {
		out[i] = psa.Reading{Target: t}
		row, ok := rows[t.AdditionID]
		var contract *Contract
		if k, found := contracts[t.AgreementID]; found {
			contract = &k
		}
		if err := checkTarget(t, ok, row, contract, d); err != nil {
			out[i].Err = err
			continue
		}
		out[i].Quantity = row.Units
	}
	return out, nil
}

// checkTarget says why a units row does not belong to the target, or nil when it does.
// contract is needed only when the target names a company.
func checkTarget(t psa.Target, found bool, row ContractServiceUnit, contract *Contract, d time.Time) error {
	op := fmt.Sprintf("read units of contract service %d", t.AdditionID)
	switch {
	case t.AdditionID <= 0:
		return invalid(op, "addition_id", "the target names no contract service")
	case t.AgreementID <= 0:
		return invalid(op, "agreement_id", "the target names no contract")
	case !found:
		return notFound(op, noUnitsMessage(t.AdditionID, d))
	case row.ContractID != t.AgreementID:
		return notFound(op, fmt.Sprintf("contract %d has no contract service %d", t.AgreementID, t.AdditionID))
	case t.CompanyID == 0:
		return nil
	case contract == nil:
		return notFound(op, fmt.Sprintf("contract %d not found", t.AgreementID))
	case contract.CompanyID != t.CompanyID:
		return invalid(op, "company_id", fmt.Sprintf("contract %d belongs to company %d, not %d", t.AgreementID, contract.CompanyID, t.CompanyID))
	}
	return nil
}

// SetQuantity makes the contract service hold ch.Quantity units from ch.Effective on (today
// when zero). Autotask keeps whole units only: round first with RoundUnits; a fractional or
// negative quantity is refused as Invalid. The change is an adjustment of the difference
// from the units in force on that day; no difference creates nothing.
//
// Autotask adjustments have no free-text field, so ch.Marker is not stored; a lost response
// is recognised by reading the units back instead.
//
// Unconfirmed: whether Autotask accepts an adjustment that brings units to 0; zero is sent
// like any other value and a refusal comes back as Invalid.
func (c *Client) SetQuantity(ctx context.Context, ch psa.Change) (psa.Applied, error) {
	t := ch.Target
	op := fmt.Sprintf("set units of contract service %d", t.AdditionID)
	q := ch.Quantity
	switch {
	case q.IsNegative():
		return psa.Applied{}, invalid(op, "units", fmt.Sprintf("units cannot be negative (asked for %s)", q))
	case !q.Equal(q.Truncate(0)):
		return psa.Applied{}, invalid(op, "units", fmt.Sprintf("Autotask holds whole units only; round %s before setting it", q))
	case q.GreaterThan(decimal.NewFromInt(math.MaxInt32)):
		return psa.Applied{}, invalid(op, "units", fmt.Sprintf("%s units is more than Autotask can hold", q))
	case t.AdditionID <= 0:
		return psa.Applied{}, invalid(op, "addition_id", "the target names no contract service")
	case t.AgreementID <= 0:
		return psa.Applied{}, invalid(op, "agreement_id", "the target names no contract")
	}
	d := c.today()
	if !ch.Effective.IsZero() {
		d = day(ch.Effective)
	}
	cs, err := c.contractServiceOf(ctx, t)
	if err != nil {
		return psa.Applied{}, err
	}
	return c.setUnits(ctx, cs, d, q.IntPart())
}

// contractServiceOf reads the target's contract service and checks it hangs where the target
// says: on that contract, of that company.
func (c *Client) contractServiceOf(ctx context.Context, t psa.Target) (ContractService, error) {
	op := fmt.Sprintf("check contract service %d", t.AdditionID)
	cs, err := c.ContractService(ctx, t.AdditionID)
	if err != nil {
		if remote.KindOf(err) == remote.NotFound {
			return ContractService{}, notFound(op, fmt.Sprintf("contract %d has no contract service %d", t.AgreementID, t.AdditionID))
		}
		return ContractService{}, err
	}
	if cs.ContractID != t.AgreementID {
		return ContractService{}, notFound(op, fmt.Sprintf("contract %d has no contract service %d (it belongs to contract %d)", t.AgreementID, t.AdditionID, cs.ContractID))
	}
	if t.CompanyID != 0 {
		k, err := c.Contract(ctx, t.AgreementID)
		if err != nil {
			return ContractService{}, err
		}
		if k.CompanyID != t.CompanyID {
			return ContractService{}, invalid(op, "company_id", fmt.Sprintf("contract %d belongs to company %d, not %d", t.AgreementID, k.CompanyID, t.CompanyID))
		}
	}
	return cs, nil
}

// setUnits adjusts cs so that `want` units are in force from day d, and reads them back.
func (c *Client) setUnits(ctx context.Context, cs ContractService, d time.Time, want int64) (psa.Applied, error) {
	op := fmt.Sprintf("adjust units of contract service %d", cs.ID)
	row, err := c.unitsOn(ctx, cs.ID, d)
	if err != nil {
		return psa.Applied{}, err
	}
	current, err := wholeUnits(op, row.Units)
	if err != nil {
		return psa.Applied{}, err
	}
	if current == want {
		return psa.Applied{Quantity: decimal.NewFromInt(want)}, nil
	}
	var lastErr error
	for attempt := 1; attempt <= maxCreateAttempts; attempt++ {
		ref := AdjustmentRef{ContractID: cs.ContractID, ContractServiceID: cs.ID, ServiceID: cs.ServiceID,
			UnitChange: want - current, Effective: d, From: current, To: want}
		id, err := c.CreateContractServiceAdjustment(ctx, ContractServiceAdjustment{
			ContractID: cs.ContractID, ContractServiceID: cs.ID, ServiceID: cs.ServiceID,
			UnitChange: ref.UnitChange, EffectiveDate: DateTime{d},
		})
		if err == nil {
			ref.ID = id
			return c.readBack(ctx, op, cs.ID, d, want, ref)
		}
		lastErr = err
		retryable := remote.KindOf(err).Retryable()
		if !retryable && !outcomeUnknown(err) {
			return psa.Applied{}, err
		}
		if retryable && attempt < maxCreateAttempts {
			wait, ok := c.createWait(err, attempt)
			if !ok {
				return psa.Applied{}, err
			}
			if serr := c.sleep(ctx, wait); serr != nil {
				return psa.Applied{}, err
			}
		}
		// Whether the adjustment landed shows in the units: never post again before looking.
		row, rerr := c.unitsOn(ctx, cs.ID, d)
		if rerr != nil {
			return psa.Applied{}, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Err: err,
				Message: fmt.Sprintf("adjustment may or may not have landed: posting failed (%v) and reading units back failed (%v)", err, rerr)}
		}
		now, werr := wholeUnits(op, row.Units)
		if werr != nil {
			return psa.Applied{}, werr
		}
		if now == want {
			return psa.Applied{Quantity: decimal.NewFromInt(want), Reference: ref.String()}, nil
		}
		if !retryable {
			return psa.Applied{}, err
		}
		// Not landed (or moved by someone else meanwhile): aim from what is there now.
		current = now
	}
	return psa.Applied{}, lastErr
}

// outcomeUnknown reports whether a failed create may still have been carried out: no
// response at all, a server failure, or errors reported inside a 2xx body.
func outcomeUnknown(err error) bool {
	var re *remote.Error
	if !errors.As(err, &re) {
		return true
	}
	switch {
	case re.Kind == remote.Credentials:
		return false
	case re.Status == 0:
		return re.Kind == remote.Unavailable
	default:
		return re.Status >= 500 || re.Status < 300
	}
}

// createWait is how long to wait before looking again after a retryable create failure.
func (c *Client) createWait(err error, attempt int) (time.Duration, bool) {
	p := c.sender.Policy
	var re *remote.Error
	if errors.As(err, &re) && re.RetryAfter > 0 {
		return re.RetryAfter, re.RetryAfter <= p.MaxRetryAfter
	}
	d := p.BaseDelay << (attempt - 1)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d, true
}

func (c *Client) readBack(ctx context.Context, op string, csID int64, d time.Time, want int64, ref AdjustmentRef) (psa.Applied, error) {
	applied := psa.Applied{Reference: ref.String()}
	row, err := c.unitsOn(ctx, csID, d)
	if err != nil {
		return applied, fmt.Errorf("adjustment created (%s); reading units back: %w", ref, err)
	}
	applied.Quantity = row.Units
	if !row.Units.Equal(decimal.NewFromInt(want)) {
		return applied, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op,
			Message: fmt.Sprintf("adjustment created, but units read back as %s, want %d (changed by someone else meanwhile?)", row.Units, want)}
	}
	return applied, nil
}

func wholeUnits(op string, u decimal.Decimal) (int64, error) {
	if !u.Equal(u.Truncate(0)) {
		return 0, invalid(op, "units", fmt.Sprintf("Autotask reported fractional units %s", u))
	}
	return u.IntPart(), nil
}

// Reverse undoes an adjustment named by a psa.Applied.Reference by creating the opposite
// adjustment on the same effective date. It is safe to repeat: when the units on that date
// are back at the adjustment's starting value, nothing is created. When they are neither
// its result nor its start, someone changed them since, and Reverse refuses (Invalid)
// rather than guess.
func (c *Client) Reverse(ctx context.Context, reference string) (psa.Applied, error) {
	const op = "reverse adjustment"
	ref, err := ParseReference(reference)
	if err != nil {
		return psa.Applied{}, invalid(op, "reference", err.Error())
	}
	cs, err := c.contractServiceOf(ctx, psa.Target{AgreementID: ref.ContractID, AdditionID: ref.ContractServiceID})
	if err != nil {
		return psa.Applied{}, err
	}
	row, err := c.unitsOn(ctx, cs.ID, ref.Effective)
	if err != nil {
		return psa.Applied{}, err
	}
	units, err := wholeUnits(op, row.Units)
	if err != nil {
		return psa.Applied{}, err
	}
	switch units {
	case ref.From:
		return psa.Applied{Quantity: decimal.NewFromInt(units)}, nil
	case ref.To:
		return c.setUnits(ctx, cs, ref.Effective, ref.From)
	default:
		return psa.Applied{}, invalid(op, "reference", fmt.Sprintf(
			"contract service %d holds %d units on %s, neither the adjustment's result (%d) nor its start (%d); it changed since and must be reversed by hand",
			cs.ID, units, ref.Effective.Format(time.DateOnly), ref.To, ref.From))
	}
}
