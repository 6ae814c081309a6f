package autotask

import (
	"context"
	"fmt"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

// Check finds the zone, reads ThresholdInformation and one company. It changes nothing.
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
	res.OK = true
	res.Message = "connected to Autotask"
	if z.ZoneName != "" {
		res.Message += " zone " + z.ZoneName
	}
	return res
}
