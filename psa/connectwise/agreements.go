package connectwise

import (
	"context"
	"fmt"
	"strings"
)

const (
	agreementsPath     = "/finance/agreements"
	agreementTypesPath = "/finance/agreements/types"
)

// Agreement statuses as the API spells them.
const (
	AgreementActive    = "Active"
	AgreementCancelled = "Cancelled"
	AgreementExpired   = "Expired"
	AgreementInactive  = "Inactive"
)

// Agreement is a ConnectWise agreement: what a company is billed under.
type Agreement struct {
	ID               int64  `json:"id"`
	Name             string `json:"name"`
	Type             Ref    `json:"type"`
	Company          Ref    `json:"company"`
	ParentAgreement  *Ref   `json:"parentAgreement,omitempty"`
	StartDate        Time   `json:"startDate"`
	EndDate          Time   `json:"endDate"`
	NoEndingDateFlag bool   `json:"noEndingDateFlag"`
	CancelledFlag    bool   `json:"cancelledFlag"`
	DateCancelled    Time   `json:"dateCancelled"`
	AgreementStatus  string `json:"agreementStatus"`
	ProrateFlag      bool   `json:"prorateFlag"`
	BillStartDate    Time   `json:"billStartDate"`
	Info             Info   `json:"_info"`
}

// closed says why nothing can be billed on the agreement any more ("" when it can).
// Unconfirmed: whether an Expired agreement still accepts addition changes; we treat it
// like a cancelled one so money is never moved onto a dead agreement. Inactive is left
// usable: nothing says it is final.
func (a Agreement) closed() string {
	switch {
	case a.CancelledFlag:
		return "cancelled"
	case strings.EqualFold(a.AgreementStatus, AgreementCancelled):
		return "cancelled"
	case strings.EqualFold(a.AgreementStatus, AgreementExpired):
		return "expired"
	}
	return ""
}

// AgreementType is an agreement type (e.g. "Managed Services", "Backup").
type AgreementType struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	DefaultFlag  bool   `json:"defaultFlag"`
	InactiveFlag bool   `json:"inactiveFlag"`
	Info         Info   `json:"_info"`
}

// GetAgreement reads one agreement; a missing one is a remote.NotFound error.
func (c *Client) GetAgreement(ctx context.Context, id int64) (Agreement, error) {
	var a Agreement
	_, err := c.getJSON(ctx, itemPath(agreementsPath, id), nil, &a)
	return a, err
}

// ListAgreements reads every agreement matching o.
func (c *Client) ListAgreements(ctx context.Context, o ListOptions) ([]Agreement, error) {
	return list[Agreement](ctx, c, agreementsPath, o)
}

// AgreementsByID reads the agreements with the given ids (absent ones are simply missing
// from the map), with `id in (...)` listings instead of one call per agreement.
func (c *Client) AgreementsByID(ctx context.Context, ids []int64) (map[int64]Agreement, error) {
	out := map[int64]Agreement{}
	for _, chunk := range chunks(ids, inChunk) {
		rows, err := c.ListAgreements(ctx, ListOptions{Conditions: InInts("id", chunk)})
		if err != nil {
			return nil, err
		}
		for _, a := range rows {
			out[a.ID] = a
		}
	}
	return out, nil
}

// ActiveAgreements reads a company's active agreements of one type (by type name).
// Several can legitimately exist; the caller decides what ambiguity means.
func (c *Client) ActiveAgreements(ctx context.Context, companyID int64, typeName string) ([]Agreement, error) {
	rows, err := c.ListAgreements(ctx, ListOptions{Conditions: And(
		Eq("company/id", companyID),
		Eq("type/name", typeName),
		Eq("agreementStatus", AgreementActive),
		Eq("cancelledFlag", false),
	)})
	if err != nil {
		return nil, err
	}
	// Re-check: the condition parser is not documented well enough to trust blindly.
	var out []Agreement
	for _, a := range rows {
		if a.Company.ID == companyID && strings.EqualFold(a.Type.Name, typeName) && a.closed() == "" {
			out = append(out, a)
		}
	}
	return out, nil
}

// ListAgreementTypes reads every agreement type matching o.
func (c *Client) ListAgreementTypes(ctx context.Context, o ListOptions) ([]AgreementType, error) {
	return list[AgreementType](ctx, c, agreementTypesPath, o)
}

func additionsPath(agreementID int64) string {
	return fmt.Sprintf("%s/%d/additions", agreementsPath, agreementID)
}
