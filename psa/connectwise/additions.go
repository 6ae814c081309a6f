package connectwise

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/remote"
)

// Addition is an agreement addition: a catalog product billed on an agreement in some
// quantity. Quantities are exact decimals (the API types them as doubles).
type Addition struct {
	ID                 int64  `json:"id"`
	AgreementID        int64  `json:"agreementId"`
	Product            Ref    `json:"product"`
	Quantity           Number `json:"quantity"`
	LessIncluded       Number `json:"lessIncluded"`
	UnitPrice          Number `json:"unitPrice"`
	UnitCost           Number `json:"unitCost"`
	BillCustomer       string `json:"billCustomer"`
	EffectiveDate      Time   `json:"effectiveDate"`
	CancelledDate      Time   `json:"cancelledDate"`
	TaxableFlag        bool   `json:"taxableFlag"`
	Description        string `json:"description"`
	InvoiceDescription string `json:"invoiceDescription"`
	AgreementStatus    string `json:"agreementStatus"`
	Info               Info   `json:"_info"`
}

// CancelledBy reports whether the addition has stopped billing at t. A cancelledDate in
// the future leaves it billable until then.
func (a Addition) CancelledBy(t time.Time) bool {
	return !a.CancelledDate.IsZero() && !a.CancelledDate.After(t)
}

// BillCustomer values.
const (
	Billable  = "Billable"
	DoNotBill = "DoNotBill"
	NoCharge  = "NoCharge"
)

// NewAddition is what CreateAddition creates.
type NewAddition struct {
	ProductID     int64
	Quantity      decimal.Decimal
	BillCustomer  string    // empty: Billable
	EffectiveDate time.Time // required; the API refuses one before the agreement's start
	UnitPrice     *decimal.Decimal
	UnitCost      *decimal.Decimal
	// Description is shown to MSP staff; the marker is appended to it.
	Description string
	// InvoiceDescription is printed on the customer's invoice; the marker stays out of it.
	InvoiceDescription string
	// Marker identifies this creation (tenant, period, item) so a create whose response was
	// lost is recognised instead of repeated. Required.
	Marker string
}

type additionBody struct {
	Product            Ref     `json:"product"`
	Quantity           Number  `json:"quantity"`
	BillCustomer       string  `json:"billCustomer"`
	EffectiveDate      *Time   `json:"effectiveDate,omitempty"`
	UnitPrice          *Number `json:"unitPrice,omitempty"`
	UnitCost           *Number `json:"unitCost,omitempty"`
	Description        string  `json:"description,omitempty"`
	InvoiceDescription string  `json:"invoiceDescription,omitempty"`
}

// ListAdditions reads an agreement's additions matching o. A missing agreement is a
// remote.NotFound error.
func (c *Client) ListAdditions(ctx context.Context, agreementID int64, o ListOptions) ([]Addition, error) {
	return list[Addition](ctx, c, additionsPath(agreementID), o)
}

// CountAdditions counts an agreement's additions matching cond.
func (c *Client) CountAdditions(ctx context.Context, agreementID int64, cond Condition) (int, error) {
	return c.count(ctx, additionsPath(agreementID), cond)
}

// GetAddition reads one addition of an agreement; a missing one is a remote.NotFound error.
func (c *Client) GetAddition(ctx context.Context, agreementID, additionID int64) (Addition, error) {
	var a Addition
	_, err := c.getJSON(ctx, itemPath(additionsPath(agreementID), additionID), nil, &a)
	return a, err
}

// PatchAddition applies ops and returns the addition as the API holds it afterwards.
func (c *Client) PatchAddition(ctx context.Context, agreementID, additionID int64, ops ...PatchOp) (Addition, error) {
	var a Addition
	err := c.writeJSON(ctx, apiRequest{method: http.MethodPatch, path: itemPath(additionsPath(agreementID), additionID), body: ops}, &a)
	return a, err
}

// SetAdditionQuantity sets the quantity to an absolute value.
func (c *Client) SetAdditionQuantity(ctx context.Context, agreementID, additionID int64, q decimal.Decimal) (Addition, error) {
	return c.PatchAddition(ctx, agreementID, additionID, Replace("quantity", NewNumber(q)))
}

// SetAdditionDates changes the effective and/or cancelled date (nil leaves one alone).
func (c *Client) SetAdditionDates(ctx context.Context, agreementID, additionID int64, effective, cancelled *time.Time) (Addition, error) {
	var ops []PatchOp
	if effective != nil {
		ops = append(ops, Replace("effectiveDate", NewTime(*effective)))
	}
	if cancelled != nil {
		ops = append(ops, Replace("cancelledDate", NewTime(*cancelled)))
	}
	if len(ops) == 0 {
		return c.GetAddition(ctx, agreementID, additionID)
	}
	return c.PatchAddition(ctx, agreementID, additionID, ops...)
}

// CancelAddition stops an addition billing from on, by setting its cancelledDate; the record
// stays, so the billing history does.
func (c *Client) CancelAddition(ctx context.Context, agreementID, additionID int64, on time.Time) (Addition, error) {
	return c.PatchAddition(ctx, agreementID, additionID, Replace("cancelledDate", NewTime(on)))
}

// DeleteAddition removes an addition (204). It is rarely what billing wants: cancelling
// keeps the history. An addition that is already gone counts as deleted, so a DELETE
// resent after a lost response succeeds.
func (c *Client) DeleteAddition(ctx context.Context, agreementID, additionID int64) error {
	_, err := c.call(ctx, apiRequest{method: http.MethodDelete, path: itemPath(additionsPath(agreementID), additionID)})
	if remote.KindOf(err) == remote.NotFound {
		return nil
	}
	return err
}

// CreateAddition adds a product to an agreement, exactly once per Marker: it looks the
// addition up by its natural key (agreement, product, marker) before posting and again
// after any POST whose outcome is unknown, so a slow success is never duplicated.
func (c *Client) CreateAddition(ctx context.Context, agreementID int64, n NewAddition) (Addition, error) {
	path := additionsPath(agreementID)
	op := http.MethodPost + " " + path
	if err := checkMarker(op, n.Marker); err != nil {
		return Addition{}, err
	}
	switch {
	case n.ProductID <= 0:
		return Addition{}, invalid(op, "product", "a product id is required")
	case n.EffectiveDate.IsZero():
		return Addition{}, invalid(op, "effectiveDate", "an effective date is required")
	}
	body := additionBody{
		Product:            Ref{ID: n.ProductID},
		Quantity:           NewNumber(n.Quantity),
		BillCustomer:       n.BillCustomer,
		EffectiveDate:      TimePtr(n.EffectiveDate),
		Description:        withMarker(n.Description, n.Marker),
		InvoiceDescription: n.InvoiceDescription,
	}
	if body.BillCustomer == "" {
		body.BillCustomer = Billable
	}
	if n.UnitPrice != nil {
		v := NewNumber(*n.UnitPrice)
		body.UnitPrice = &v
	}
	if n.UnitCost != nil {
		v := NewNumber(*n.UnitCost)
		body.UnitCost = &v
	}
	return createOnce(ctx, c, apiRequest{method: http.MethodPost, path: path, body: body, create: true},
		func(ctx context.Context) (Addition, bool, error) {
			return c.FindAdditionByMarker(ctx, agreementID, n.ProductID, n.Marker)
		})
}

// FindAdditionByMarker looks for the addition CreateAddition made with marker. Only the
// product is filtered by the server; the marker is matched here, so the lookup does not
// depend on how the server treats special characters in `contains`. Cancelled additions
// count too: a marker is created once, and someone cancelling it is not a reason to
// create it again.
func (c *Client) FindAdditionByMarker(ctx context.Context, agreementID, productID int64, marker string) (Addition, bool, error) {
	rows, err := c.ListAdditions(ctx, agreementID, ListOptions{Conditions: Eq("product/id", productID)})
	if err != nil {
		return Addition{}, false, err
	}
	tag := markerTag(marker)
	var found []Addition
	for _, a := range rows {
		if a.Product.ID == productID && strings.Contains(a.Description, tag) {
			found = append(found, a)
		}
	}
	if len(found) == 0 {
		return Addition{}, false, nil
	}
	first := found[0]
	for _, a := range found[1:] {
		if a.ID < first.ID {
			first = a
		}
	}
	if len(found) > 1 {
		c.log.WarnContext(ctx, "connectwise: several additions carry one marker; using the oldest",
			"agreement", agreementID, "product", productID, "marker", marker, "count", len(found), "kept", first.ID)
	}
	return first, true, nil
}

// markerTag is how a marker is written into a description: bracketed and prefixed, so it
// cannot be mistaken for words people type.
// Unconfirmed: that an addition's description is not printed on invoices (the separate
// invoiceDescription is). If it is, customers see "[meterbridge:...]"; harmless, but the
// tag is kept short for that reason. Unconfirmed too: description's maximum length (the
// spec gives none); a marker is at most 100 characters.
func markerTag(marker string) string { return "[meterbridge:" + marker + "]" }

func withMarker(desc, marker string) string {
	if desc == "" {
		return markerTag(marker)
	}
	return desc + " " + markerTag(marker)
}

func checkMarker(op, marker string) error {
	switch {
	case marker == "":
		return invalid(op, "marker", "a marker is required: a create is never repeated without one")
	case len(marker) > 100:
		return invalid(op, "marker", "marker longer than 100 characters")
	case strings.ContainsAny(marker, "[]"):
		return invalid(op, "marker", "marker must not contain brackets")
	}
	for _, r := range marker {
		if r < 0x20 || r == 0x7f {
			return invalid(op, "marker", "marker holds a control character")
		}
	}
	return nil
}

// createAttempts bounds CreateAddition's look-up-then-post rounds.
const createAttempts = 4

// createOnce creates a record that must exist once. Before each POST it looks the record up
// by its natural key; a POST whose outcome is unknown (timeout, lost connection, 5xx) is
// followed by a pause and another look-up, never by a blind resend. A 429 means the POST
// was not taken and is simply waited out.
//
// A create so slow that it is still running after the pause can still be duplicated; the
// look-up then finds both and FindAdditionByMarker keeps the oldest, and the pause grows
// with each round to make that unlikely.
func createOnce[T any](ctx context.Context, c *Client, r apiRequest, find func(context.Context) (T, bool, error)) (T, error) {
	var zero T
	var last error
	p := c.send.Policy
	for attempt := 1; attempt <= createAttempts; attempt++ {
		found, ok, err := find(ctx)
		if err != nil {
			return zero, err
		}
		if ok {
			return found, nil
		}
		var created T
		err = c.writeJSON(ctx, r, &created)
		if err == nil {
			return created, nil
		}
		last = err
		var re *remote.Error
		if !asRemote(err, &re) || !re.Kind.Retryable() || attempt == createAttempts {
			return zero, err
		}
		wait := p.BaseDelay << (attempt - 1)
		if p.MaxDelay > 0 && wait > p.MaxDelay {
			wait = p.MaxDelay
		}
		if re.Kind == remote.RateLimited && !remote.WaitsAllowed(ctx) {
			return zero, err // not taken; the caller retries later
		}
		if re.RetryAfter > 0 {
			if re.RetryAfter > p.MaxRetryAfter || !remote.WaitsAllowed(ctx) {
				return zero, err
			}
			wait = re.RetryAfter
		}
		c.log.InfoContext(ctx, "connectwise create outcome unknown; looking it up before trying again",
			"op", r.op(), "attempt", attempt, "wait", wait, "error", err)
		if err := sleep(ctx, c.send.Sleep, wait); err != nil {
			return zero, last
		}
	}
	return zero, last
}
