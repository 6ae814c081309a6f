package autotask

import (
	"context"
	"fmt"
	"strings"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

// Check finds the zone, reads ThresholdInformation and one company, and asks
// entityInformation whether the API user may do what billing needs. It changes nothing.
func (c *Client) Check(ctx context.Context) psa.CheckResult {
	var res psa.CheckResult
	fail := func(step string, err error) psa.CheckResult {
		res.OK = false
		switch remote.KindOf(err) {
		case remote.Credentials:
			res.Message = "Autotask refused the credentials (" + step + "): " + err.Error()
		default:
			res.Message = step + " failed: " + err.Error()
		}
		res.Details = append(res.Details, step+": failed")
		return res
	}
	z, err := c.Zone(ctx)
	if err != nil {
		return fail("zone discovery", err)
	}
	if c.cfg.BaseURL != "" {
		res.Details = append(res.Details, "zone discovery skipped: base URL "+z.URL+" configured")
	} else {
		res.Details = append(res.Details, fmt.Sprintf("zone %q serves %s at %s", z.ZoneName, c.cfg.UserName, z.URL))
	}
	th, err := c.ThresholdInformation(ctx)
	if err != nil {
		return fail("threshold information", err)
	}
	res.Details = append(res.Details, fmt.Sprintf("%d of %d requests used in the last %d minutes",
		th.CurrentTimeframeRequestCount, th.ExternalRequestThreshold, th.RequestThresholdTimeframe))
	companies, err := c.CompaniesPage(ctx, 1, AllRows())
	if err != nil {
		return fail("companies query", err)
	}
	res.Details = append(res.Details, fmt.Sprintf("companies readable (%d returned)", len(companies)))
	step, denied, err := c.checkAccess(ctx)
	if err != nil {
		return fail("entity information", err)
	}
	if len(denied) > 0 {
		res.Details = append(res.Details, "entity information: the API user may not "+strings.Join(denied, ", "))
		res.Message = "the API user's security level does not allow " + strings.Join(denied, ", ") +
			"; grant it in the API user's security level in Autotask, or units cannot be read and changed"
		return res
	}
	res.Details = append(res.Details, step)
	res.OK = true
	res.Message = "connected to Autotask"
	if z.ZoneName != "" {
		res.Message += " zone " + z.ZoneName
	}
	return res
}

// billingAccess is what meterbridge does with each entity when it bills.
var billingAccess = []struct {
	entity, verb string
	may          func(EntityInfo) bool
	restricted   func(EntityInfo) bool
}{
	{"Contracts", "query", EntityInfo.MayQuery, func(i EntityInfo) bool { return i.UserAccessForQuery == AccessRestricted }},
	{"ContractServices", "query", EntityInfo.MayQuery, func(i EntityInfo) bool { return i.UserAccessForQuery == AccessRestricted }},
	{"ContractServiceUnits", "query", EntityInfo.MayQuery, func(i EntityInfo) bool { return i.UserAccessForQuery == AccessRestricted }},
	{"ContractServiceAdjustments", "create", EntityInfo.MayCreate, func(i EntityInfo) bool { return i.UserAccessForCreate == AccessRestricted }},
}

// checkAccess asks entityInformation whether the API user's security level allows what
// billing does: read contracts, their services and units, and create adjustments. denied
// names what is refused; Restricted access passes with a note, because whether it
// suffices depends on the security level's conditions.
func (c *Client) checkAccess(ctx context.Context) (step string, denied []string, err error) {
	var restricted []string
	for _, a := range billingAccess {
		info, err := c.EntityInformation(ctx, a.entity)
		if err != nil {
			return "", nil, err
		}
		switch {
		case !a.may(info):
			denied = append(denied, a.verb+" "+a.entity)
		case a.restricted(info):
			restricted = append(restricted, a.verb+" "+a.entity)
		}
	}
	step = "API user may query Contracts, ContractServices and ContractServiceUnits and create ContractServiceAdjustments"
	if len(restricted) > 0 {
		step += " (restricted by the security level: " + strings.Join(restricted, ", ") + ")"
	}
	return step, denied, nil
}
