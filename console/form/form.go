// Package form parses and validates the console's forms. Each form is a struct with a Parse
// function that reads the posted values and answers the struct and the problems found, per
// field, in words a person can act on. Rules that belong to the product (what a valid
// schedule or approval rule is) stay in their packages (tenant, store); the forms call them.
package form

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/tenant"
)

// Errors are problems per form field; "" is the form as a whole.
type Errors map[string]string

// Add records the first problem of a field.
func (e Errors) Add(field, message string) {
	if _, ok := e[field]; !ok {
		e[field] = message
	}
}

// OK reports a form without problems.
func (e Errors) OK() bool { return len(e) == 0 }

// FromField turns a product rule's *tenant.FieldError into a problem of the form field it
// names; fields maps the rule's field names to the form's (unmapped ones go to the form).
func (e Errors) FromField(err error, fields map[string]string) bool {
	var fe *tenant.FieldError
	if !errors.As(err, &fe) {
		return false
	}
	name, ok := fields[fe.Field]
	if !ok {
		name = ""
	}
	e.Add(name, fe.Reason)
	return true
}

func text(v url.Values, name string) string { return strings.TrimSpace(v.Get(name)) }

func checked(v url.Values, name string) bool {
	switch v.Get(name) {
	case "on", "true", "1", "yes":
		return true
	}
	return false
}

func integer(v url.Values, name string, lo, hi int, errs Errors, what string) int {
	s := text(v, name)
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		errs.Add(name, what+" must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
		return 0
	}
	return n
}

// SignIn is the sign-in form.
type SignIn struct {
	Token string
	Next  string
}

// ParseSignIn reads the sign-in form.
func ParseSignIn(v url.Values) (SignIn, Errors) {
	f := SignIn{Token: text(v, "token"), Next: v.Get("next")}
	errs := Errors{}
	if f.Token == "" {
		errs.Add("token", "Paste your API token")
	}
	return f, errs
}

// Decision is the pending grid's form: the ticked rows and the button pressed.
type Decision struct {
	IDs     []int64
	All     bool
	Approve bool
}

// maxDecisionIDs is the API's bound on one decision's IDs.
const maxDecisionIDs = 1000

// ParseDecision reads the pending grid's form.
func ParseDecision(v url.Values) (Decision, Errors) {
	errs := Errors{}
	var d Decision
	switch v.Get("action") {
	case "approve":
		d.Approve = true
	case "reject":
	case "approve_all":
		d.Approve, d.All = true, true
		return d, errs
	default:
		errs.Add("", "Choose approve selected, remove selected or approve all")
		return d, errs
	}
	seen := map[int64]bool{}
	for _, s := range v["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			errs.Add("", "The selection could not be read; reload the page and select the rows again")
			return d, errs
		}
		if !seen[id] {
			seen[id] = true
			d.IDs = append(d.IDs, id)
		}
	}
	switch {
	case len(d.IDs) == 0:
		errs.Add("", "Select at least one row first")
	case len(d.IDs) > maxDecisionIDs:
		errs.Add("", "Select at most 1,000 rows at once, or use approve all")
	}
	return d, errs
}

// Token is the new-token form.
type Token struct {
	Role       string
	TenantID   string
	OwnerEmail string
	Name       string
}

// ParseToken reads the new-token form; tenantID is the tenant of the page (empty on the
// admin tokens page, where the form names it).
func ParseToken(v url.Values, tenantID string) (Token, Errors) {
	errs := Errors{}
	f := Token{Role: text(v, "role"), TenantID: tenantID, OwnerEmail: strings.ToLower(text(v, "owner_email")), Name: text(v, "name")}
	if tenantID == "" {
		f.TenantID = text(v, "tenant_id")
	}
	switch f.Role {
	case "admin":
		if f.TenantID != "" {
			errs.Add("tenant_id", "An admin token reaches every tenant; leave the tenant empty")
		}
	case "approver", "viewer":
		if f.TenantID == "" {
			errs.Add("tenant_id", "Choose the tenant this token belongs to")
		}
	default:
		errs.Add("role", "Choose admin, approver or viewer")
	}
	if err := tenant.ValidateEmail(f.OwnerEmail); err != nil {
		errs.Add("owner_email", "Enter the e-mail address of the person who will use the token ("+err.Error()+")")
	}
	if len(f.Name) > 100 || strings.ContainsAny(f.Name, "\r\n") {
		errs.Add("name", "The label is one line of at most 100 characters")
	}
	return f, errs
}

// Override is a manual value for a week.
type Override struct {
	Week        scorecard.Week
	Value       decimal.Decimal
	AllowFrozen bool
}

// ParseOverride reads the override form of a week.
func ParseOverride(v url.Values, week string) (Override, Errors) {
	errs := Errors{}
	var f Override
	w, err := scorecard.ParseWeek(week)
	if err != nil {
		errs.Add("week", err.Error())
	}
	f.Week = w
	d, err := decimal.NewFromString(text(v, "value"))
	if err != nil || !tenant.SaneDecimal(d) {
		errs.Add("value", "Enter the week's value as a number, such as 42 or 1234.50")
	}
	f.Value = d
	f.AllowFrozen = checked(v, "override_frozen")
	return f, errs
}

// ParseSnapshotSchedule reads a metric's snapshot schedule; "default" restores every day at
// 06:00. The scorecard's own rule checks it.
func ParseSnapshotSchedule(v url.Values) (scorecard.Schedule, Errors) {
	errs := Errors{}
	if checked(v, "default") {
		return scorecard.DefaultSchedule(), errs
	}
	s := scorecard.Schedule{Cadence: text(v, "cadence"), Weekday: text(v, "weekday"), Time: text(v, "time")}
	if s.Cadence == scorecard.Daily {
		s.Weekday = ""
	}
	s = s.Normalize()
	if err := s.Validate("schedule"); err != nil {
		var fe *tenant.FieldError
		if errors.As(err, &fe) {
			errs.Add(strings.TrimPrefix(fe.Field, "schedule."), fe.Reason)
		} else {
			errs.Add("", err.Error())
		}
	}
	return s, errs
}
