package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources"
	"github.com/meterbridge/meterbridge/sources/vendorapi"
)

// pageSize asks for the service's usual maximum; it may answer with fewer.
const pageSize = 100

// usageResponse is GET /v1/usage.
type usageResponse struct {
	// Data is a pointer so a body without it (an unrelated JSON object) is told apart from
	// an empty month.
	Data   *[]usageRow `json:"data"`
	Paging struct {
		NextCursor string `json:"next_cursor"`
		Next       string `json:"next"`
	} `json:"paging"`
}

type usageRow struct {
	ClientID   string         `json:"client_id"`
	Name       string         `json:"name"`
	ManagedID  string         `json:"managed_id"`
	BillableGB remote.Decimal `json:"billable_gb"`
	Year       int            `json:"year"`
	Month      int            `json:"month"`
}

// Usage returns one page of clients' billable space for the month.
func (c *Client) Usage(ctx context.Context, year int, month time.Month, cursor string) (sources.UsagePage, error) {
	const op = "GET /v1/usage"
	if month < time.January || month > time.December || year < 1 || year > 9999 {
		return sources.UsagePage{}, &remote.Error{Kind: remote.Invalid, Service: service, Op: op, Code: "invalid_period", Message: fmt.Sprintf("no such month %d-%02d", year, int(month))}
	}
	q := url.Values{
		"year":      {strconv.Itoa(year)},
		"month":     {strconv.Itoa(int(month))},
		"page_size": {strconv.Itoa(pageSize)},
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	resp, err := c.api.Get(ctx, "/v1/usage", q)
	if err != nil {
		return sources.UsagePage{}, err
	}
	page, err := decodeUsagePage(resp.Body, year, month)
	if err != nil {
		return sources.UsagePage{}, vendorapi.BadResponse(service, op, resp.Status, err)
	}
	if page.Next != "" && page.Next == cursor {
		// Following it would loop forever.
		return sources.UsagePage{}, vendorapi.BadResponse(service, op, resp.Status, errors.New("next cursor repeats the current one"))
	}
	return page, nil
}

// decodeUsagePage reads one usage page. Billable space is required on every row: publishing
// a missing figure as zero would bill the client nothing.
func decodeUsagePage(body []byte, year int, month time.Month) (sources.UsagePage, error) {
	var r usageResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return sources.UsagePage{}, fmt.Errorf("decode usage page: %w", err)
	}
	if r.Data == nil {
		return sources.UsagePage{}, errors.New("decode usage page: no data")
	}
	page := sources.UsagePage{Clients: make([]sources.ClientUsage, 0, len(*r.Data))}
	for i, row := range *r.Data {
		switch {
		case row.ClientID == "":
			return sources.UsagePage{}, fmt.Errorf("usage row %d: no client_id", i)
		case !row.BillableGB.Set:
			return sources.UsagePage{}, fmt.Errorf("usage row %d (client %s): no billable_gb", i, row.ClientID)
		case row.BillableGB.D.IsNegative():
			return sources.UsagePage{}, fmt.Errorf("usage row %d (client %s): negative billable_gb %s", i, row.ClientID, row.BillableGB.D)
		case row.Year != 0 && row.Year != year, row.Month != 0 && row.Month != int(month):
			return sources.UsagePage{}, fmt.Errorf("usage row %d (client %s): period %d-%02d, asked for %d-%02d", i, row.ClientID, row.Year, row.Month, year, int(month))
		}
		page.Clients = append(page.Clients, sources.ClientUsage{
			ClientID:   row.ClientID,
			Name:       row.Name,
			ManagedID:  row.ManagedID,
			BillableGB: row.BillableGB.D,
		})
	}
	next, err := nextCursor(r.Paging.NextCursor, r.Paging.Next)
	if err != nil {
		return sources.UsagePage{}, err
	}
	page.Next = next
	return page, nil
}

// nextCursor prefers the explicit cursor and falls back to the one inside the next link, so
// a service that only sends links still pages.
func nextCursor(cursor, link string) (string, error) {
	if cursor != "" || link == "" {
		return cursor, nil
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("next link %q: %w", link, err)
	}
	c := u.Query().Get("cursor")
	if c == "" {
		return "", fmt.Errorf("next link %q has no cursor", link)
	}
	return c, nil
}
