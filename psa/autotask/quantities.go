package autotask

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

// maxCreateAttempts bounds how often one SetQuantity posts an adjustment that did not land.
const maxCreateAttempts = 4

// ReadQuantities reads each target's units as of the day `on` (today when zero): from the
// ContractServiceUnits row in force that day, or — for a contract service that starts later
// in that month (a service added mid-month, a contract that begins mid-month) — from its
// first row, on the day it starts. Reading.AsOf says which day was read, and a change made
// from that reading must be dated that day (psa.Change.Effective), so the read, the
// adjustment and the read-back all look at the same day.
//
// Target.AgreementID is the contract id and Target.AdditionID the contract service id.
func (c *Client) ReadQuantities(ctx context.Context, targets []psa.Target, on time.Time) ([]psa.Reading, error) {
	from := c.today()
	if !on.IsZero() {
		from = day(on)
	}
	until := monthAfter(from)
	var csIDs []int64
	seen := map[int64]bool{}
	for _, t := range targets {
		if t.AdditionID > 0 && t.AgreementID > 0 && !seen[t.AdditionID] {
			seen[t.AdditionID] = true
			csIDs = append(csIDs, t.AdditionID)
		}
	}
	rows, err := c.UnitRowsBetween(ctx, csIDs, from, until)
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
		asOf, row, ok := firstInForce(rows[t.AdditionID], from, until)
		var contract *Contract
		if k, found := contracts[t.AgreementID]; found {
			contract = &k
		}
		if err := checkTarget(t, ok, row, contract, from, until); err != nil {
			out[i].Err = err
			continue
		}
		out[i].Quantity, out[i].AsOf = row.Units, asOf
	}
	return out, nil
}

// monthAfter is the first day of the month after d's.
func monthAfter(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
}

// firstInForce finds the first day in [from, until) that a units row covers, and that row:
// from itself when a row covers it, else the start of the earliest row beginning inside the
// range.
func firstInForce(rows []ContractServiceUnit, from, until time.Time) (time.Time, ContractServiceUnit, bool) {
	if r, ok := inForce(rows, from); ok {
		return from, r, true
	}
	var first *ContractServiceUnit
	for i, r := range rows {
		s := day(r.StartDate.Time)
		if s.After(from) && s.Before(until) && (first == nil || s.Before(first.StartDate.Time)) {
			first = &rows[i]
		}
	}
	if first == nil {
		return time.Time{}, ContractServiceUnit{}, false
	}
	return day(first.StartDate.Time), *first, true
}

// inForce returns the row in force on day d: the latest-starting row that covers d.
func inForce(rows []ContractServiceUnit, d time.Time) (ContractServiceUnit, bool) {
	var best ContractServiceUnit
	found := false
	for _, r := range rows {
		if covers(r, d) && (!found || r.StartDate.After(best.StartDate.Time)) {
			best, found = r, true
		}
	}
	return best, found
}

// checkTarget says why a units row does not belong to the target, or nil when it does.
// contract is needed only when the target names a company.
func checkTarget(t psa.Target, found bool, row ContractServiceUnit, contract *Contract, from, until time.Time) error {
	op := fmt.Sprintf("read units of contract service %d", t.AdditionID)
	switch {
	case t.AdditionID <= 0:
		return invalid(op, "addition_id", "the target names no contract service")
	case t.AgreementID <= 0:
		return invalid(op, "agreement_id", "the target names no contract")
	case !found:
		return notFound(op, fmt.Sprintf("no ContractServiceUnits row of contract service %d falls between %s and %s: the contract service does not exist or its contract does not run then",
			t.AdditionID, from.Format(time.DateOnly), until.AddDate(0, 0, -1).Format(time.DateOnly)))
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

// SetQuantity makes the contract service hold ch.Quantity units from ch.Effective (today when
// zero) up to ch.Until (Effective alone when Until is not after it). Autotask keeps whole
// units only: round first with RoundUnits; a fractional or negative quantity is refused as
// Invalid.
//
// An adjustment changes the units from its effective date to the end of the contract, and
// splits the period it falls in. So the change is one adjustment of the difference on
// Effective, plus one more on each later day inside the range where the units stepped
// (someone adjusted them mid-month): afterwards every day of the range holds the quantity,
// and later periods keep the steps dated after Until. With ch.Keep, one more adjustment on
// Until brings that day back to Keep, so every later day holds what it held before: the
// change stays inside [Effective, Until), and reading back covers Until too. Days that
// already hold what they should get no adjustment; an unchanged range creates nothing.
// psa.Applied.Reference lists every adjustment created, for Reverse.
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
	from := c.today()
	if !ch.Effective.IsZero() {
		from = day(ch.Effective)
	}
	var keep *int64
	if ch.Keep.Valid {
		k := ch.Keep.Decimal
		switch {
		case !day(ch.Until).After(from):
			return psa.Applied{}, invalid(op, "until", fmt.Sprintf("a change kept before %s must start before it (it starts %s)",
				day(ch.Until).Format(time.DateOnly), from.Format(time.DateOnly)))
		case k.IsNegative() || !k.Equal(k.Truncate(0)) || k.GreaterThan(decimal.NewFromInt(math.MaxInt32)):
			return psa.Applied{}, invalid(op, "keep", fmt.Sprintf("%s is not a number of units Autotask can hold", k))
		}
		n := k.IntPart()
		keep = &n
	}
	cs, err := c.contractServiceOf(ctx, t)
	if err != nil {
		return psa.Applied{}, err
	}
	return c.setUnits(ctx, cs, from, day(ch.Until), q.IntPart(), keep)
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

// maxAdjustmentDays bounds how many days of one range setUnits corrects; a month has at most
// a few steps, and a range that keeps moving under it is someone else's change in progress.
const maxAdjustmentDays = 31

// setUnits adjusts cs so that `want` units are in force on every day from `from` up to
// `until` (from alone when until is not after it) — and, with keep, `*keep` units on the
// day until itself — and reads them back. It walks the days the units may step on — from,
// and each units row starting inside the range, then until — in order; at the first that
// does not hold what it should it posts the difference dated that day, and reads again.
// Reading after every post is also how a create whose response was lost is found to have
// landed: a day is never posted to twice on a guess.
//
// A rate limit (429, or the hourly threshold used up) ends the call with the RateLimited
// error and its Retry-After instead of a wait: the caller holds the target's lock, and the
// retry of its activity honours the wait and finds what was done so far in the units.
func (c *Client) setUnits(ctx context.Context, cs ContractService, from, until time.Time, want int64, keep *int64) (psa.Applied, error) {
	op := fmt.Sprintf("adjust units of contract service %d", cs.ID)
	if !until.After(from) {
		until = from.AddDate(0, 0, 1)
		keep = nil
	}
	readUntil := until
	if keep != nil {
		readUntil = until.AddDate(0, 0, 1)
	}
	var (
		refs     []AdjustmentRef
		posted   = map[time.Time]bool{}
		unknown  *AdjustmentRef // the last create, when whether it landed is not known yet
		lastErr  error
		failures int
	)
	applied := func() psa.Applied { return psa.Applied{Reference: joinReferences(refs)} }
	for {
		rows, err := c.UnitRowsBetween(ctx, []int64{cs.ID}, from, readUntil)
		if err != nil {
			switch {
			case unknown != nil:
				return applied(), &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Err: lastErr,
					Message: fmt.Sprintf("adjustment may or may not have landed: posting failed (%v) and reading units back failed (%v)", lastErr, err)}
			case len(refs) > 0:
				return applied(), fmt.Errorf("adjustment created (%s); reading units back: %w", joinReferences(refs), err)
			}
			return psa.Applied{}, err
		}
		at, have, should, err := firstMismatch(op, cs.ID, rows[cs.ID], from, until, want, keep)
		if err != nil {
			return applied(), err
		}
		if unknown != nil {
			if at.IsZero() || at.After(unknown.Effective) {
				// The create landed although its answer did not come back.
				refs = append(refs, *unknown)
				posted[unknown.Effective] = true
			} else if !remote.KindOf(lastErr).Retryable() || failures >= maxCreateAttempts {
				return applied(), lastErr
			}
			unknown = nil
		}
		if at.IsZero() {
			return psa.Applied{Quantity: decimal.NewFromInt(want), Reference: joinReferences(refs)}, nil
		}
		if posted[at] || len(posted) >= maxAdjustmentDays {
			back := applied()
			back.Quantity = decimal.NewFromInt(have)
			return back, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op,
				Message: fmt.Sprintf("adjustment created, but units read back as %d on %s, want %d (changed by someone else meanwhile?)",
					have, at.Format(time.DateOnly), should)}
		}
		ref := AdjustmentRef{ContractID: cs.ContractID, ContractServiceID: cs.ID, ServiceID: cs.ServiceID,
			UnitChange: should - have, Effective: at, From: have, To: should}
		id, err := c.CreateContractServiceAdjustment(ctx, ContractServiceAdjustment{
			ContractID: cs.ContractID, ContractServiceID: cs.ID, ServiceID: cs.ServiceID,
			UnitChange: ref.UnitChange, EffectiveDate: DateTime{at},
		})
		if err == nil {
			ref.ID = id
			refs = append(refs, ref)
			posted[at] = true
			continue
		}
		lastErr = err
		retryable := remote.KindOf(err).Retryable()
		if (!retryable && !outcomeUnknown(err)) || remote.KindOf(err) == remote.RateLimited {
			// Refused, or refused for now (a 429 was not carried out): nothing landed.
			return applied(), err
		}
		failures++
		if retryable && failures < maxCreateAttempts {
			wait, ok := c.createWait(ctx, err, failures)
			if !ok {
				return applied(), err
			}
			if serr := c.sleep(ctx, wait); serr != nil {
				return applied(), err
			}
		}
		// Whether the adjustment landed shows in the units: never post again before looking.
		unknown = &ref
	}
}

// firstMismatch returns the first day in [from, until) on which the rows do not hold want —
// trying from and each row's start inside the range, where the units can step — or, with
// keep, the day until when it does not hold *keep; with the units held that day and the
// units it should hold. A zero day when every day holds what it should. No row covering from
// is NotFound: the contract service is not billed on the day the change applies from.
func firstMismatch(op string, csID int64, rows []ContractServiceUnit, from, until time.Time, want int64, keep *int64) (at time.Time, have, should int64, err error) {
	days := []time.Time{from}
	for _, r := range rows {
		if s := day(r.StartDate.Time); s.After(from) && s.Before(until) {
			days = append(days, s)
		}
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	days = slices.Compact(days)
	if keep != nil {
		days = append(days, until)
	}
	for i, d := range days {
		should := want
		if keep != nil && d.Equal(until) {
			should = *keep
		}
		row, ok := inForce(rows, d)
		if !ok {
			if i == 0 {
				return time.Time{}, 0, 0, notFound(op, noUnitsMessage(csID, from))
			}
			continue
		}
		units, err := wholeUnits(op, row.Units)
		if err != nil {
			return time.Time{}, 0, 0, err
		}
		if units != should {
			return d, units, should, nil
		}
	}
	return time.Time{}, 0, 0, nil
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

// createWait is how long to wait before looking again after a retryable create failure;
// false when the service asked for a wait longer than a short backoff (a Retry-After), or
// for any wait in a context that must not wait out the service (remote.WithoutWaits): the
// call then ends, and the next one reads the units before it posts anything.
func (c *Client) createWait(ctx context.Context, err error, attempt int) (time.Duration, bool) {
	p := c.sender.Policy
	var re *remote.Error
	if errors.As(err, &re) && re.RetryAfter > 0 {
		return re.RetryAfter, re.RetryAfter <= p.MaxDelay && remote.WaitsAllowed(ctx)
	}
	d := p.BaseDelay << (attempt - 1)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d, true
}

func wholeUnits(op string, u decimal.Decimal) (int64, error) {
	if !u.Equal(u.Truncate(0)) {
		return 0, invalid(op, "units", fmt.Sprintf("Autotask reported fractional units %s", u))
	}
	return u.IntPart(), nil
}

// Reverse undoes the adjustments named by a psa.Applied.Reference, the last first, each by
// creating the opposite adjustment on its effective date; undone in that order they leave
// every day as it was before. It is safe to repeat: when the units on a date are back at the
// adjustment's starting value, nothing is created for it. When they are neither its result
// nor its start, someone changed them since, and Reverse refuses (Invalid) rather than guess.
func (c *Client) Reverse(ctx context.Context, reference string) (psa.Applied, error) {
	const op = "reverse adjustment"
	refs, err := ParseReferences(reference)
	if err != nil {
		return psa.Applied{}, invalid(op, "reference", err.Error())
	}
	var out psa.Applied
	var created []string
	for i := len(refs) - 1; i >= 0; i-- {
		back, err := c.reverse(ctx, refs[i])
		if back.Reference != "" {
			created = append(created, back.Reference)
		}
		if err != nil {
			return psa.Applied{Quantity: back.Quantity, Reference: strings.Join(created, " ")}, err
		}
		out.Quantity = back.Quantity
	}
	out.Reference = strings.Join(created, " ")
	return out, nil
}

func (c *Client) reverse(ctx context.Context, ref AdjustmentRef) (psa.Applied, error) {
	const op = "reverse adjustment"
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
		return c.setUnits(ctx, cs, ref.Effective, time.Time{}, ref.From, nil)
	default:
		return psa.Applied{}, invalid(op, "reference", fmt.Sprintf(
			"contract service %d holds %d units on %s, neither the adjustment's result (%d) nor its start (%d); it changed since and must be reversed by hand",
			cs.ID, units, ref.Effective.Format(time.DateOnly), ref.To, ref.From))
	}
}
