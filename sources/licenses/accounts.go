package licenses

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources"
	"github.com/meterbridge/meterbridge/sources/vendorapi"
)

// perPage asks for the portal's maximum page; it may answer with fewer.
const perPage = 100

// accountsResponse is GET /v1/accounts.
type accountsResponse struct {
	// Data is a pointer so a body without it is told apart from an empty portal.
	Data  *[]accountWire `json:"data"`
	Links struct {
		Next string `json:"next"`
	} `json:"links"`
}

type accountWire struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Licenses []struct {
		Type  string         `json:"type"`
		Units remote.Decimal `json:"units"`
	} `json:"licenses"`
}

// Counts returns the licence counts of one page of accounts, one row per account and licence
// type. The cursor is the portal's page number ("" for the first page).
func (c *Client) Counts(ctx context.Context, cursor string) (sources.LicencePage, error) {
	const op = "GET /v1/accounts"
	page := 1
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 1 {
			return sources.LicencePage{}, &remote.Error{Kind: remote.Invalid, Service: service, Op: op, Code: "invalid_cursor", Field: "cursor", Message: fmt.Sprintf("cursor %q is not a page number", cursor)}
		}
		page = n
	}
	resp, err := c.api.Get(ctx, "/v1/accounts", url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}})
	if err != nil {
		return sources.LicencePage{}, err
	}
	out, err := decodeAccountsPage(resp.Body, page)
	if err != nil {
		return sources.LicencePage{}, vendorapi.BadResponse(service, op, resp.Status, err)
	}
	return out, nil
}

// decodeAccountsPage flattens accounts into counts. Units are required: reading a missing
// figure as zero would bill an account for nothing.
func decodeAccountsPage(body []byte, page int) (sources.LicencePage, error) {
	var r accountsResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return sources.LicencePage{}, fmt.Errorf("decode accounts page: %w", err)
	}
	if r.Data == nil {
		return sources.LicencePage{}, errors.New("decode accounts page: no data")
	}
	out := sources.LicencePage{Counts: []sources.LicenceCount{}}
	type key struct{ account, licence string }
	seen := map[key]bool{}
	for i, a := range *r.Data {
		if a.ID == "" {
			return sources.LicencePage{}, fmt.Errorf("account %d: no id", i)
		}
		for _, l := range a.Licenses {
			k := key{a.ID, l.Type}
			switch {
			case l.Type == "":
				return sources.LicencePage{}, fmt.Errorf("account %s: licence without type", a.ID)
			case seen[k]:
				// Two figures for one type would make a mapping ambiguous.
				return sources.LicencePage{}, fmt.Errorf("account %s: licence type %q listed twice", a.ID, l.Type)
			case !l.Units.Set:
				return sources.LicencePage{}, fmt.Errorf("account %s: licence %q has no units", a.ID, l.Type)
			case l.Units.D.IsNegative():
				return sources.LicencePage{}, fmt.Errorf("account %s: licence %q has negative units %s", a.ID, l.Type, l.Units.D)
			}
			seen[k] = true
			out.Counts = append(out.Counts, sources.LicenceCount{AccountID: a.ID, AccountName: a.Name, LicenceType: l.Type, Units: l.Units.D})
		}
	}
	if r.Links.Next == "" {
		return out, nil
	}
	u, err := url.Parse(r.Links.Next)
	if err != nil {
		return sources.LicencePage{}, fmt.Errorf("next link %q: %w", r.Links.Next, err)
	}
	next, err := strconv.Atoi(u.Query().Get("page"))
	if err != nil || next <= page {
		// A next page that does not move forward would loop forever.
		return sources.LicencePage{}, fmt.Errorf("next link %q does not move past page %d", r.Links.Next, page)
	}
	out.Next = strconv.Itoa(next)
	return out, nil
}
