package connectwise

import (
	"context"
	"strings"
)

const catalogPath = "/procurement/catalog"

// CatalogItem is a product in the procurement catalog (what an addition bills).
type CatalogItem struct {
	ID                  int64  `json:"id"`
	Identifier          string `json:"identifier"`
	Description         string `json:"description"`
	CustomerDescription string `json:"customerDescription"`
	ProductClass        string `json:"productClass"`
	Price               Number `json:"price"`
	Cost                Number `json:"cost"`
	UnitOfMeasure       *Ref   `json:"unitOfMeasure,omitempty"`
	InactiveFlag        bool   `json:"inactiveFlag"`
	RecurringFlag       bool   `json:"recurringFlag"`
	Info                Info   `json:"_info"`
}

// GetCatalogItem reads one catalog item; a missing one is a remote.NotFound error.
func (c *Client) GetCatalogItem(ctx context.Context, id int64) (CatalogItem, error) {
	var it CatalogItem
	_, err := c.getJSON(ctx, itemPath(catalogPath, id), nil, &it)
	return it, err
}

// ListCatalogItems reads every catalog item matching o.
func (c *Client) ListCatalogItems(ctx context.Context, o ListOptions) ([]CatalogItem, error) {
	return list[CatalogItem](ctx, c, catalogPath, o)
}

// CatalogItemByIdentifier reads the one catalog item with that identifier (e.g. "BKP-GB"):
// NotFound when there is none, Invalid when several match exactly.
func (c *Client) CatalogItemByIdentifier(ctx context.Context, identifier string) (CatalogItem, error) {
	rows, err := c.ListCatalogItems(ctx, ListOptions{Conditions: Eq("identifier", identifier)})
	if err != nil {
		return CatalogItem{}, err
	}
	var exact []CatalogItem
	for _, it := range rows {
		if strings.EqualFold(it.Identifier, identifier) {
			exact = append(exact, it)
		}
	}
	return exactlyOne(exact, "GET "+catalogPath, "catalog item", identifier)
}
