package connectwise

import (
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

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

// typeQuestions are the questions of a configuration's type, by id.
func (s *Server) typeQuestions(d doc) map[int64]doc {
	typ, _ := d["type"].(map[string]any)
	out := map[int64]doc{}
	for _, r := range s.store.list(ConfigurationTypeQuestions, idOf(typ["id"])) {
		out[idOf(r.doc["id"])] = r.doc
	}
	return out
}

// validateConfiguration checks a configuration's answers: each names a question of the
// configuration's own type by questionId, and a Number, Currency or Percent question's
// answer is a number (sent as a JSON number or a numeric string).
// Unconfirmed: the real API's messages, and whether it refuses or ignores an answer to a
// question of another type; the emulator refuses, so a client that resolves the wrong
// question hears of it.
func validateConfiguration(s *Server, d, _, _ doc) []FieldError {
	answers, _ := d["questions"].([]any)
	if len(answers) == 0 {
		return nil
	}
	bad := func(msg string) FieldError {
		return FieldError{Code: "InvalidField", Message: msg, Resource: "configuration", Field: "questions"}
	}
	questions := s.typeQuestions(d)
	var errs []FieldError
	for i, a := range answers {
		m, ok := a.(map[string]any)
		if !ok {
			errs = append(errs, bad("Each question must be an object with a questionId and an answer."))
			continue
		}
		id := idOf(m["questionId"])
		q, ok := questions[id]
		if !ok {
			errs = append(errs, bad("Question "+strconv.FormatInt(id, 10)+" (at "+strconv.Itoa(i)+") is not a question of this configuration's type."))
			continue
		}
		switch q["fieldType"] {
		case "Number", "Currency", "Percent":
			if v := m["answer"]; v != nil && v != "" {
				if _, ok := numberOf(v); !ok {
					errs = append(errs, bad("The answer to "+strconv.Quote(textOf(q["question"]))+" must be a number."))
				}
			}
		}
	}
	return errs
}

// deriveConfiguration stores the answers as the API shows them: every question of the
// configuration's type, in sequence order, with its text, field type and the answer given
// (none when it was not answered). Answers are kept as sent.
func deriveConfiguration(s *Server, d, _ doc) {
	answers, _ := d["questions"].([]any)
	given := map[int64]any{}
	for _, a := range answers {
		if m, ok := a.(map[string]any); ok {
			given[idOf(m["questionId"])] = m["answer"]
		}
	}
	var out []any
	typ, _ := d["type"].(map[string]any)
	for _, r := range s.store.list(ConfigurationTypeQuestions, idOf(typ["id"])) {
		q := r.doc
		if inactive, _ := q["inactiveFlag"].(bool); inactive {
			continue
		}
		id := idOf(q["id"])
		e := map[string]any{"questionId": jsonInt(id), "question": q["question"], "fieldType": q["fieldType"],
			"sequenceNumber": q["sequenceNumber"], "numberOfDecimals": q["numberOfDecimals"], "requiredFlag": q["requiredFlag"]}
		if v, ok := given[id]; ok && v != nil {
			e["answerId"] = jsonInt(idOf(d["id"])*1000 + id%1000)
			e["answer"] = v
		}
		out = append(out, e)
	}
	if out == nil {
		delete(d, "questions")
		return
	}
	d["questions"] = out
}

func textOf(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}
