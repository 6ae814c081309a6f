package connectwise

import "github.com/shopspring/decimal"

// validateAddition holds the addition rules vendors have run into (psa-apis.md 1.13).
func validateAddition(s *Server, d, old, parent doc) []FieldError {
	errs := oneOf("addition", "billCustomer", d["billCustomer"], "Billable", "DoNotBill", "NoCharge")
	if q, ok := numberOf(d["quantity"]); ok && q.IsNegative() {
		// Unconfirmed: the real API may allow negative quantities (credits); the emulator
		// refuses them so a sign error in a client shows up as a validation failure.
		errs = append(errs, FieldError{Code: "InvalidField", Message: "The quantity must not be negative.", Resource: "addition", Field: "quantity"})
	}
	if p, ok := d["product"].(map[string]any); ok {
		if item, found := s.store.get(CatalogItems, idOf(p["id"])); found && item.doc["productClass"] == "Bundle" {
			// Anecdote: bundle-class products cannot be agreement additions.
			errs = append(errs, FieldError{Code: "InvalidField", Message: "A bundle cannot be added to an agreement.", Resource: "addition", Field: "product"})
		}
	}
	eff, _ := d["effectiveDate"].(string)
	effChanged := eff != "" && (old == nil || old["effectiveDate"] != d["effectiveDate"])
	if effChanged && parent != nil {
		if start, _ := parent["startDate"].(string); start != "" && eff < start {
			errs = append(errs, FieldError{Code: "InvalidField", Message: "The effective date may not be earlier than the agreement's start date.", Resource: "addition", Field: "effectiveDate"})
		}
		prorated, _ := parent["prorateFlag"].(bool)
		if next, _ := parent["nextInvoiceDate"].(string); !prorated && next != "" && eff < next {
			errs = append(errs, FieldError{Code: "InvalidField", Message: "The effective date falls in an invoiced period of a non-prorated agreement; use the next invoice date or later.", Resource: "addition", Field: "effectiveDate"})
		}
	}
	if cancelled, _ := d["cancelledDate"].(string); cancelled != "" && eff != "" && cancelled < eff {
		errs = append(errs, FieldError{Code: "InvalidField", Message: "The cancelled date may not be earlier than the effective date.", Resource: "addition", Field: "cancelledDate"})
	}
	return errs
}

// deriveAddition mirrors the parent agreement's status, as the read-only field does.
func deriveAddition(_ *Server, d, parent doc) {
	if parent != nil {
		d["agreementStatus"] = parent["agreementStatus"]
	}
	if _, ok := d["quantity"]; !ok || d["quantity"] == nil {
		d["quantity"] = numberLiteral(decimal.Zero)
	}
}

// deriveAgreement computes agreementStatus. Unconfirmed: the exact rules; cancelled wins,
// then an end date in the past, else Active.
func deriveAgreement(s *Server, d, _ doc) {
	now := s.now().UTC().Format(wireTime)
	switch cancelled, _ := d["cancelledFlag"].(bool); {
	case cancelled:
		d["agreementStatus"] = "Cancelled"
		if d["dateCancelled"] == nil {
			d["dateCancelled"] = now
		}
	default:
		end, _ := d["endDate"].(string)
		open, _ := d["noEndingDateFlag"].(bool)
		if end != "" && !open && end < now {
			d["agreementStatus"] = "Expired"
		} else {
			d["agreementStatus"] = "Active"
		}
	}
}

func validateCatalogItem(_ *Server, d, _, _ doc) []FieldError {
	return oneOf("catalogItem", "productClass", d["productClass"], "Agreement", "Bundle", "Inventory", "NonInventory", "Service")
}
