package billing

import "github.com/shopspring/decimal"

// Approval modes (the same words as tenant settings).
const (
	ApproveManual    = "manual"
	ApproveAutomatic = "automatic"
	ApproveRule      = "rule"
)

// Deadline actions (the same words as tenant settings).
const (
	DeadlineApplyRule = "apply_rule_skip_rest"
	DeadlineHold      = "hold_and_alert"
)

// Actors recorded for decisions nobody typed.
const (
	ActorAutomatic = "automatic"
	ActorRule      = "rule"
	ActorDeadline  = "deadline"
)

// ApprovalPolicy decides which changes need a person.
type ApprovalPolicy struct {
	Mode string
	// Rule mode: a change is approved without a person when |delta| ≤ MaxUnits and
	// |delta| ≤ MaxPercent % of the old quantity.
	MaxUnits   decimal.Decimal
	MaxPercent decimal.Decimal
}

// Decide returns the state a new item starts in and who decided it ("" for pending).
func (p ApprovalPolicy) Decide(oldQty, newQty decimal.Decimal) (ItemState, string) {
	if oldQty.Equal(newQty) {
		return Unchanged, ""
	}
	return p.DecideChange(oldQty, newQty)
}

// DecideChange is Decide for an item known to need a write even when the quantity is the
// same (a basic-mode record of another month).
func (p ApprovalPolicy) DecideChange(oldQty, newQty decimal.Decimal) (ItemState, string) {
	switch p.Mode {
	case ApproveAutomatic:
		return Approved, ActorAutomatic
	case ApproveRule:
		if p.WithinRule(oldQty, newQty) {
			return Approved, ActorRule
		}
	}
	return Pending, ""
}

var hundred = decimal.NewFromInt(100)

// WithinRule reports whether a change is small enough for the rule. A change from zero has
// no percentage, so it is never small: a new client's first bill waits for a person.
func (p ApprovalPolicy) WithinRule(oldQty, newQty decimal.Decimal) bool {
	delta := newQty.Sub(oldQty).Abs()
	if delta.GreaterThan(p.MaxUnits) {
		return false
	}
	if oldQty.IsZero() {
		return false
	}
	return delta.Mul(hundred).LessThanOrEqual(p.MaxPercent.Mul(oldQty.Abs()))
}

// RoundUnits turns a decimal quantity into whole units by a tenant's rounding policy:
// "up" (the default, never under-bills), "nearest" (half away from zero) or "down".
func RoundUnits(q decimal.Decimal, policy string) decimal.Decimal {
	switch policy {
	case "down":
		return q.Floor()
	case "nearest":
		return q.Round(0)
	default:
		return q.Ceil()
	}
}
