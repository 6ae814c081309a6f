package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/workflows"
)

// RefreshPage reads one page of vendor data and the PSA's current quantities for it, and
// stores one item per client or account: old and new quantity, delta, and the state the
// approval policy gives it. A client that cannot be matched or read fails alone.
func (a *Activities) RefreshPage(ctx context.Context, in billing.RefreshInput) (billing.RefreshResult, error) {
	t, err := a.tenant(ctx, in.TenantID)
	if err != nil {
		return billing.RefreshResult{}, err
	}
	defer keepAlive(ctx, func() any { return in.Cursor })()
	var page refreshPage
	switch in.Kind {
	case billing.UsagePublish:
		page, err = a.usagePage(ctx, t, in)
	case billing.LicenceSync:
		page, err = a.licencePage(ctx, t, in)
	default:
		return billing.RefreshResult{}, temporal.NewNonRetryableApplicationError("unknown cycle kind "+string(in.Kind), workflows.ErrInvalid, nil)
	}
	if err != nil {
		return billing.RefreshResult{}, err
	}
	activity.RecordHeartbeat(ctx, len(page.items))
	if err := a.Store.RecordReadings(ctx, in.TenantID, in.Period, page.readings); err != nil {
		return billing.RefreshResult{}, fmt.Errorf("record readings: %w", err)
	}
	if err := a.Store.InsertItems(ctx, page.items); err != nil {
		return billing.RefreshResult{}, cycleError("store items", err)
	}
	res := billing.RefreshResult{Next: page.next, Items: len(page.items)}
	for _, it := range page.items {
		res.Counts.Add(it.State, 1)
	}
	return res, nil
}

type refreshPage struct {
	items    []store.Item
	readings []store.Reading
	next     string
}

// candidate is one client or account item before the PSA's quantity is known.
type candidate struct {
	accountID, accountName, item, mappingID string
	target                                  store.ItemTarget
	label                                   string
	newQty                                  decimal.Decimal
	// skip is the state of a client left out on purpose (unmapped, excluded); failure says
	// why it is left out, or why it already failed.
	skip    billing.ItemState
	failure string
}

// usagePage turns one page of backup usage into items. The tenant's choices decide each
// client's item (store.PlanClient): an excluded client and one with nowhere to go (no
// mapping, no Managed ID) are recorded as not published, not as failures; a typed Managed
// ID wins over the reported one. A publish of some clients reads only those.
func (a *Activities) usagePage(ctx context.Context, t tenant.Tenant, in billing.RefreshInput) (refreshPage, error) {
	scope, err := a.cycleClients(ctx, in.CycleID)
	if err != nil {
		return refreshPage{}, err
	}
	src, err := a.Connect.Backup(ctx, t.ID)
	if err != nil {
		return refreshPage{}, outsideError("open backup source", err)
	}
	year, month := in.Period.YearMonth()
	up, err := src.Usage(ctx, year, month, in.Cursor)
	if err != nil {
		return refreshPage{}, outsideError("read backup usage", err)
	}
	page := refreshPage{next: up.Next}
	cands := make([]candidate, 0, len(up.Clients))
	choices, err := a.Store.BackupClientSettings(ctx, t.ID)
	if err != nil {
		return page, fmt.Errorf("load backup client settings: %w", err)
	}
	var mappings map[string]store.Mapping
	if in.Mode == tenant.ModeAdvanced {
		if mappings, err = a.mappingsByAccount(ctx, t.ID, "backup"); err != nil {
			return page, err
		}
	}
	for _, cl := range up.Clients {
		if scope != nil && !scope[cl.ClientID] {
			continue
		}
		page.readings = append(page.readings, store.Reading{
			Source: "backup", AccountID: cl.ClientID, AccountName: cl.Name, ManagedID: cl.ManagedID,
			Item: billing.StorageItem, Quantity: cl.BillableGB,
		})
		c := candidate{accountID: cl.ClientID, accountName: cl.Name, item: billing.StorageItem, newQty: cl.BillableGB}
		m, mapped := mappings[cl.ClientID+"\x00"+billing.StorageItem]
		plan := store.PlanClient(in.Mode, choices[cl.ClientID], cl.ManagedID, mapped)
		switch {
		case plan.Skip != "":
			c.skip, c.failure = plan.Skip, plan.Reason
		case in.Mode == tenant.ModeBasic:
			c.target.ManagedID = plan.ManagedID
		default:
			c.mappingID, c.target.Target, c.label = m.ID, m.Target, targetLabel(m)
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return page, nil
	}
	client, err := a.Connect.PSA(ctx, t.ID)
	if err != nil {
		return page, outsideError("open PSA connection", err)
	}
	if in.Mode == tenant.ModeBasic {
		page.items, err = a.basicItems(ctx, client, backupLayout(t), in, cands)
	} else {
		page.items, err = a.quantityItems(ctx, client, t, in, cands)
	}
	return page, err
}

// cycleClients is the set of clients a publish of some clients covers; nil for all.
func (a *Activities) cycleClients(ctx context.Context, cycleID string) (map[string]bool, error) {
	c, err := a.Store.CycleByID(ctx, cycleID)
	if err != nil {
		return nil, fmt.Errorf("load cycle %s: %w", cycleID, err)
	}
	if len(c.Clients) == 0 {
		return nil, nil
	}
	out := make(map[string]bool, len(c.Clients))
	for _, id := range c.Clients {
		out[id] = true
	}
	return out, nil
}

// backupLayout is where the tenant keeps basic-mode records in ConnectWise.
func backupLayout(t tenant.Tenant) psa.BackupStatsLayout {
	b := t.Settings.Publish.BackupStats
	return psa.BackupStatsLayout{ConfigurationType: b.ConfigurationType, BillableSpaceQuestion: b.BillableSpaceQuestion,
		YearQuestion: b.YearQuestion, MonthQuestion: b.MonthQuestion}
}

func (a *Activities) licencePage(ctx context.Context, t tenant.Tenant, in billing.RefreshInput) (refreshPage, error) {
	src, err := a.Connect.Licences(ctx, t.ID)
	if err != nil {
		return refreshPage{}, outsideError("open licence portal", err)
	}
	lp, err := src.Counts(ctx, in.Cursor)
	if err != nil {
		return refreshPage{}, outsideError("read licence counts", err)
	}
	page := refreshPage{next: lp.Next}
	mappings, err := a.mappingsByAccount(ctx, t.ID, "licenses")
	if err != nil {
		return page, err
	}
	var cands []candidate
	for _, lc := range lp.Counts {
		page.readings = append(page.readings, store.Reading{
			Source: "licenses", AccountID: lc.AccountID, AccountName: lc.AccountName, Item: lc.LicenceType, Quantity: lc.Units,
		})
		m, ok := mappings[lc.AccountID+"\x00"+lc.LicenceType]
		if !ok {
			// Unmapped licence types are listed under accounts, not billed.
			continue
		}
		cands = append(cands, candidate{
			accountID: lc.AccountID, accountName: lc.AccountName, item: lc.LicenceType,
			mappingID: m.ID, target: store.ItemTarget{Target: m.Target}, label: targetLabel(m), newQty: lc.Units,
		})
	}
	if len(cands) == 0 {
		return page, nil
	}
	client, err := a.Connect.PSA(ctx, t.ID)
	if err != nil {
		return page, outsideError("open PSA connection", err)
	}
	page.items, err = a.quantityItems(ctx, client, t, in, cands)
	return page, err
}

// quantityItems reads the current quantity of every mapped target in one batch and turns
// candidates into items.
func (a *Activities) quantityItems(ctx context.Context, client psa.Client, t tenant.Tenant, in billing.RefreshInput, cands []candidate) ([]store.Item, error) {
	var targets []psa.Target
	for _, c := range cands {
		if c.failure == "" && c.skip == "" {
			targets = append(targets, c.target.Target)
		}
	}
	readings := map[psa.Target]psa.Reading{}
	on := periodStart(in.Period)
	if len(targets) > 0 {
		rs, err := client.ReadQuantities(ctx, targets, on)
		if err != nil {
			return nil, outsideError("read PSA quantities", err)
		}
		for _, r := range rs {
			readings[r.Target] = r
		}
	}
	wholeUnits := client.Kind() == psa.Autotask
	carried, err := a.carriedApprovals(ctx, t, in, cands, readings, wholeUnits)
	if err != nil {
		return nil, err
	}
	items := make([]store.Item, 0, len(cands))
	for i, c := range cands {
		it := a.newItem(in, i, c)
		newQty := c.newQty
		if wholeUnits {
			newQty = billing.RoundUnits(newQty, t.Settings.Licences.Rounding)
		}
		it.NewQty = decimal.NewNullDecimal(newQty)
		switch r, ok := readings[c.target.Target]; {
		case c.skip != "":
			it.State, it.Reason = c.skip, c.failure
		case c.failure != "":
			it.State, it.Reason = billing.ItemFailed, c.failure
		case !ok:
			it.State, it.Reason = billing.ItemFailed, "the PSA returned no reading for this target"
		case r.Err != nil:
			it.State, it.Reason = billing.ItemFailed, itemReason(r.Err)
		default:
			// The item's as-of day is fixed here, once: the push reads, writes and reads back
			// as of the same day the old quantity was read.
			asOf := on
			if !r.AsOf.IsZero() {
				asOf = r.AsOf
			}
			it.AsOf = &asOf
			it.OldQty = decimal.NewNullDecimal(r.Quantity)
			it.Delta = decimal.NewNullDecimal(newQty.Sub(r.Quantity))
			it.State, it.DecidedBy = in.Approval.Decide(r.Quantity, newQty)
			if ca, ok := carried[c.accountID+"\x00"+c.item]; ok && it.State == billing.Pending {
				it.State, it.DecidedBy = billing.Approved, ca.Actor
				it.Reason = "approval carried over from the refresh of " + string(ca.Period)
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// periodStart is the first day of a period (UTC midnight): the day its quantities are read
// as of and its changes apply from. A monthly period starts on the 1st; a daily licence
// period (a daily refresh schedule) on its own day, so a seat added on the 20th is billed
// from the 20th, as Autotask's dated adjustments intend. Either way the change holds to the
// end of the period's month (see PushPage). The PSA may move the day later for a target that
// only starts billing after it.
func periodStart(p billing.Period) time.Time {
	if d, err := time.Parse(time.DateOnly, string(p)); err == nil {
		return d
	}
	year, month := p.YearMonth()
	return time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
}

// carriedApprovals finds approvals a person gave to the identical change in an older licence
// cycle that this very refresh superseded before it was synced, so daily refreshes do not
// make people approve the same change again, and an old approval never decides a new change.
func (a *Activities) carriedApprovals(ctx context.Context, t tenant.Tenant, in billing.RefreshInput, cands []candidate,
	readings map[psa.Target]psa.Reading, wholeUnits bool) (map[string]store.CarriedApproval, error) {
	if in.Kind != billing.LicenceSync {
		return nil, nil
	}
	var keys []store.ItemKey
	for _, c := range cands {
		r, ok := readings[c.target.Target]
		if c.failure != "" || c.skip != "" || !ok || r.Err != nil {
			continue
		}
		newQty := c.newQty
		if wholeUnits {
			newQty = billing.RoundUnits(newQty, t.Settings.Licences.Rounding)
		}
		keys = append(keys, store.ItemKey{AccountID: c.accountID, Item: c.item, Target: c.target, Old: r.Quantity, New: newQty})
	}
	carried, err := a.Store.CarriedApprovals(ctx, t.ID, in.CycleID, keys)
	if err != nil {
		return nil, fmt.Errorf("look up carried approvals: %w", err)
	}
	return carried, nil
}

// basicItems reads the Backup Stats record of every Managed ID in one batch.
func (a *Activities) basicItems(ctx context.Context, client psa.Client, layout psa.BackupStatsLayout, in billing.RefreshInput, cands []candidate) ([]store.Item, error) {
	bw, ok := client.(psa.BackupStatsWriter)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("basic publish mode needs ConnectWise; this tenant's PSA is %s", client.Kind()), workflows.ErrNotConfigured, nil)
	}
	var ids []string
	for _, c := range cands {
		if c.failure == "" && c.skip == "" {
			ids = append(ids, c.target.ManagedID)
		}
	}
	stats := map[string]psa.BackupStatsReading{}
	if len(ids) > 0 {
		rs, err := bw.ReadBackupStats(ctx, layout, ids)
		if err != nil {
			return nil, outsideError("read backup stats", err)
		}
		for _, r := range rs {
			stats[r.ManagedID] = r
		}
	}
	year, month := in.Period.YearMonth()
	items := make([]store.Item, 0, len(cands))
	for i, c := range cands {
		it := a.newItem(in, i, c)
		it.NewQty = decimal.NewNullDecimal(c.newQty)
		switch r, ok := stats[c.target.ManagedID]; {
		case c.skip != "":
			it.State, it.Reason = c.skip, c.failure
		case c.failure != "":
			it.State, it.Reason = billing.ItemFailed, c.failure
		case !ok:
			it.State, it.Reason = billing.ItemFailed, "the PSA returned no record for Managed ID "+c.target.ManagedID
		case r.Err != nil:
			it.State, it.Reason = billing.ItemFailed, "Managed ID "+c.target.ManagedID+": "+itemReason(r.Err)
		default:
			old := decimal.Zero
			if r.Exists {
				old = r.Stats.BillableSpaceGB
			}
			it.OldQty = decimal.NewNullDecimal(old)
			it.Delta = decimal.NewNullDecimal(c.newQty.Sub(old))
			if r.Exists && r.Stats.Year == year && r.Stats.Month == int(month) {
				it.State, it.DecidedBy = in.Approval.Decide(old, c.newQty)
			} else {
				// No record for this month yet: it needs writing even if the space is the same.
				it.State, it.DecidedBy = in.Approval.DecideChange(old, c.newQty)
			}
		}
		items = append(items, it)
	}
	return items, nil
}

func (a *Activities) newItem(in billing.RefreshInput, i int, c candidate) store.Item {
	it := store.Item{
		CycleID: in.CycleID, TenantID: in.TenantID, Seq: in.SeqStart + i,
		AccountID: c.accountID, AccountName: c.accountName, Item: c.item, MappingID: c.mappingID, Target: c.target,
	}
	switch {
	case c.label != "":
		it.TargetLabel = c.label
	case c.target.ManagedID != "":
		it.TargetLabel = "Managed ID " + c.target.ManagedID
	}
	return it
}

// targetLabel names a mapping's target as people know it.
func targetLabel(m store.Mapping) string {
	info := m.TargetInfo
	if info.CompanyName != "" {
		return info.CompanyName + " / " + info.AgreementName + " / " + info.Product
	}
	return fmt.Sprintf("company %d / agreement %d / addition %d", m.Target.CompanyID, m.Target.AgreementID, m.Target.AdditionID)
}

func (a *Activities) mappingsByAccount(ctx context.Context, tenantID, source string) (map[string]store.Mapping, error) {
	ms, err := a.Store.ListMappings(ctx, tenantID, source)
	if err != nil {
		return nil, fmt.Errorf("load mappings: %w", err)
	}
	out := make(map[string]store.Mapping, len(ms))
	for _, m := range ms {
		out[m.AccountID+"\x00"+m.Item] = m
	}
	return out, nil
}
