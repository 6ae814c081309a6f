// Package tenant describes an MSP using meterbridge and the settings that drive its cycles:
// time zone, schedules, each job's approval, where basic-mode records live, and
// notifications. It validates settings and has no
// I/O, so API, starter, activities and workflows share one definition.
package tenant

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones are evaluated from embedded data, not whatever the host has
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/remote/egress"
)

// Tenant is one MSP.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"time_zone"`
	PSAKind   string    `json:"psa_kind,omitempty"`
	Settings  Settings  `json:"settings"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Location returns the tenant's time zone (UTC when unset or unknown).
func (t Tenant) Location() *time.Location {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil || t.TimeZone == "" {
		return time.UTC
	}
	return loc
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)

// ValidID reports whether s can name a tenant: 2–40 lower-case letters, digits and dashes.
func ValidID(s string) bool { return idRE.MatchString(s) }

// Settings drive a tenant's cycles. Approval is set per job (Publish.Approval,
// Licences.Approval): usage publishes and licence syncs move different money at different
// paces, as the products they replace did.
type Settings struct {
	Publish  PublishSettings `json:"publish"`
	Licences LicenceSettings `json:"licences"`
	Notify   NotifySettings  `json:"notify"`
}

// Publish modes.
const (
	// ModeBasic writes a "Backup Stats" record on the company found by Managed ID.
	ModeBasic = "basic"
	// ModeAdvanced sets the quantity of a mapped agreement addition.
	ModeAdvanced = "advanced"
)

// PublishSettings control the usage publish (job 1).
type PublishSettings struct {
	Mode string `json:"mode"`
	// Schedule runs the publish automatically; disabled means publish-now only.
	Schedule Schedule `json:"schedule"`
	// Approval says who approves a publish's changes; by default nobody waits (automatic),
	// as in the usage product.
	Approval ApprovalSettings `json:"approval"`
	// BackupStats names where basic mode keeps its records in ConnectWise.
	BackupStats BackupStatsSettings `json:"backup_stats"`
}

// LicenceSettings control the licence sync (job 2).
type LicenceSettings struct {
	Refresh Schedule `json:"refresh"`
	Sync    Schedule `json:"sync"`
	// Rounding turns decimal units into the whole units Autotask stores: up, nearest, down.
	Rounding string `json:"rounding"`
	// Approval says who approves a sync's changes; by default a person (manual), as in the
	// licence product.
	Approval ApprovalSettings `json:"approval"`
}

// The usage product's names for its ConnectWise record, the defaults of BackupStatsSettings.
const (
	DefaultBackupConfigurationType = "Backup Stats"
	DefaultBillableSpaceQuestion   = "Billable Space"
	DefaultYearQuestion            = "Year"
	DefaultMonthQuestion           = "Month"
)

// BackupStatsSettings name the ConnectWise configuration type that holds a company's
// "Backup Stats" record in basic mode, and the questions of that type the figures are
// answered in. A question left empty is not written (the figures still go to the
// configuration's own backup fields); tenants that published before these settings existed
// keep their old type and no questions.
type BackupStatsSettings struct {
	ConfigurationType     string `json:"configuration_type"`
	BillableSpaceQuestion string `json:"billable_space_question"`
	YearQuestion          string `json:"year_question"`
	MonthQuestion         string `json:"month_question"`
}

// Cadences.
const (
	Monthly = "monthly"
	Daily   = "daily"
)

// LastDay is the Schedule.Day value for "the last day of every month".
const LastDay = "last"

// Schedule is a monthly (day and hour) or daily (hour) run time in the tenant's zone.
type Schedule struct {
	Enabled bool   `json:"enabled"`
	Cadence string `json:"cadence,omitempty"`
	// Day is "1".."31" or "last"; monthly only. A day a month lacks runs nothing that month.
	Day  string `json:"day,omitempty"`
	Hour int    `json:"hour"`
}

// DayOfMonth returns the day number, or 0 for "last".
func (s Schedule) DayOfMonth() int {
	n, _ := strconv.Atoi(s.Day)
	return n
}

// Approval modes.
const (
	ApproveManual    = "manual"
	ApproveAutomatic = "automatic"
	ApproveRule      = "rule"
)

// Deadline actions.
const (
	// DeadlineApplyRule approves what the rule allows and skips the rest.
	DeadlineApplyRule = "apply_rule_skip_rest"
	// DeadlineHold keeps waiting and alerts the recipients.
	DeadlineHold = "hold_and_alert"
)

// ApprovalSettings say who approves changes.
type ApprovalSettings struct {
	Mode string `json:"mode"`
	// Rule: auto-approve when |delta| ≤ MaxUnits and |delta| ≤ MaxPercent of the old quantity.
	MaxUnits   decimal.Decimal `json:"max_units"`
	MaxPercent decimal.Decimal `json:"max_percent"`
	// ReminderHours repeats a reminder while anything waits; 0 sends none.
	ReminderHours int `json:"reminder_hours"`
	// DeadlineHours after the cycle starts waiting, DeadlineAction happens; 0 waits forever.
	DeadlineHours  int    `json:"deadline_hours"`
	DeadlineAction string `json:"deadline_action,omitempty"`
}

// NotifySettings say who hears about cycles.
type NotifySettings struct {
	Emails     []string `json:"emails"`
	WebhookURL string   `json:"webhook_url,omitempty"`
}

// Defaults returns the settings of a new tenant: advanced publish without a schedule whose
// changes need no approval (as in the usage product), licence syncs approved by a person
// (as in the licence product), the usage product's Backup Stats names, no notifications.
func Defaults() Settings {
	return Settings{
		Publish: PublishSettings{Mode: ModeAdvanced, Schedule: Schedule{Cadence: Monthly, Day: "1", Hour: 6},
			Approval:    ApprovalSettings{Mode: ApproveAutomatic, MaxUnits: decimal.Zero, MaxPercent: decimal.Zero, DeadlineAction: DeadlineHold},
			BackupStats: DefaultBackupStats()},
		Licences: LicenceSettings{Refresh: Schedule{Cadence: Daily, Hour: 5}, Sync: Schedule{Cadence: Daily, Hour: 7}, Rounding: "up",
			Approval: ApprovalSettings{Mode: ApproveManual, MaxUnits: decimal.Zero, MaxPercent: decimal.Zero, DeadlineAction: DeadlineHold}},
		Notify: NotifySettings{Emails: []string{}},
	}
}

// DefaultBackupStats are the usage product's names.
func DefaultBackupStats() BackupStatsSettings {
	return BackupStatsSettings{ConfigurationType: DefaultBackupConfigurationType, BillableSpaceQuestion: DefaultBillableSpaceQuestion,
		YearQuestion: DefaultYearQuestion, MonthQuestion: DefaultMonthQuestion}
}

// ApprovalFor returns the approval settings of the job that moves kind ("usage_publish" or
// "licence_sync").
func (s Settings) ApprovalFor(kind string) ApprovalSettings {
	if kind == "licence_sync" {
		return s.Licences.Approval
	}
	return s.Publish.Approval
}

// FieldError names the setting that is wrong and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ValidateTimeZone accepts IANA zone names only ("Europe/Berlin", "UTC"), not "Local" or
// offsets, so schedules mean the same on every machine.
func ValidateTimeZone(field, tz string) error {
	if tz == "" || tz == "Local" || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..") {
		return fieldErr(field, "must be an IANA time zone name such as Europe/Berlin")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return fieldErr(field, "unknown time zone %q (use an IANA name such as America/New_York)", tz)
	}
	return nil
}

// Validate checks every setting and returns the first problem as a *FieldError.
func (s Settings) Validate() error {
	switch s.Publish.Mode {
	case ModeBasic, ModeAdvanced:
	default:
		return fieldErr("settings.publish.mode", "must be basic or advanced")
	}
	if err := s.Publish.Schedule.validate("settings.publish.schedule", false); err != nil {
		return err
	}
	if err := s.Publish.Approval.validate("settings.publish.approval"); err != nil {
		return err
	}
	if err := s.Publish.BackupStats.validate("settings.publish.backup_stats"); err != nil {
		return err
	}
	if err := s.Licences.Refresh.validate("settings.licences.refresh", true); err != nil {
		return err
	}
	if err := s.Licences.Sync.validate("settings.licences.sync", true); err != nil {
		return err
	}
	switch s.Licences.Rounding {
	case "up", "nearest", "down":
	default:
		return fieldErr("settings.licences.rounding", "must be up, nearest or down")
	}
	if err := s.Licences.Approval.validate("settings.licences.approval"); err != nil {
		return err
	}
	return s.Notify.validate()
}

func (s Schedule) validate(field string, dailyAllowed bool) error {
	if s.Hour < 0 || s.Hour > 23 {
		return fieldErr(field+".hour", "must be 0–23")
	}
	switch s.Cadence {
	case Monthly:
		if s.Day == LastDay {
			return nil
		}
		if n, err := strconv.Atoi(s.Day); err != nil || n < 1 || n > 31 || strconv.Itoa(n) != s.Day {
			return fieldErr(field+".day", "must be 1–31 or \"last\"")
		}
	case Daily:
		if !dailyAllowed {
			return fieldErr(field+".cadence", "must be monthly")
		}
		if s.Day != "" {
			return fieldErr(field+".day", "must be empty for a daily schedule")
		}
	case "":
		if s.Enabled {
			return fieldErr(field+".cadence", "is required when the schedule is enabled")
		}
	default:
		if dailyAllowed {
			return fieldErr(field+".cadence", "must be monthly or daily")
		}
		return fieldErr(field+".cadence", "must be monthly")
	}
	return nil
}

func (a ApprovalSettings) validate(field string) error {
	switch a.Mode {
	case ApproveManual, ApproveAutomatic, ApproveRule:
	default:
		return fieldErr(field+".mode", "must be manual, automatic or rule")
	}
	// Bound the size first: a value such as 1e9999 is accepted by the decimal parser but
	// prints as ten thousand digits wherever the settings are shown or stored.
	if !SaneDecimal(a.MaxUnits) {
		return fieldErr(field+".max_units", "must be a decimal of at most 40 digits")
	}
	if !SaneDecimal(a.MaxPercent) {
		return fieldErr(field+".max_percent", "must be 0–1000")
	}
	if a.MaxUnits.IsNegative() {
		return fieldErr(field+".max_units", "must not be negative")
	}
	if a.MaxPercent.IsNegative() || a.MaxPercent.GreaterThan(decimal.NewFromInt(1000)) {
		return fieldErr(field+".max_percent", "must be 0–1000")
	}
	if a.ReminderHours < 0 || a.ReminderHours > 24*31 {
		return fieldErr(field+".reminder_hours", "must be 0–744")
	}
	if a.DeadlineHours < 0 || a.DeadlineHours > 24*62 {
		return fieldErr(field+".deadline_hours", "must be 0–1488")
	}
	switch a.DeadlineAction {
	case DeadlineApplyRule, DeadlineHold:
	case "":
		if a.DeadlineHours > 0 {
			return fieldErr(field+".deadline_action", "is required with a deadline")
		}
	default:
		return fieldErr(field+".deadline_action", "must be apply_rule_skip_rest or hold_and_alert")
	}
	return nil
}

// validate checks the names: the type is required (ConnectWise allows 50 characters), the
// questions may be empty (not written) but are one line each, and no two name the same
// question, since each holds its own figure.
func (b BackupStatsSettings) validate(field string) error {
	if strings.TrimSpace(b.ConfigurationType) == "" {
		return fieldErr(field+".configuration_type", "is required: the ConnectWise configuration type that holds the Backup Stats records")
	}
	if strings.TrimSpace(b.ConfigurationType) != b.ConfigurationType {
		return fieldErr(field+".configuration_type", "must not start or end with spaces")
	}
	if err := oneLine(b.ConfigurationType, 50); err != nil {
		return fieldErr(field+".configuration_type", "%v", err)
	}
	seen := map[string]string{}
	for _, q := range []struct{ name, value string }{
		{"billable_space_question", b.BillableSpaceQuestion}, {"year_question", b.YearQuestion}, {"month_question", b.MonthQuestion},
	} {
		if q.value == "" {
			continue
		}
		if strings.TrimSpace(q.value) != q.value {
			return fieldErr(field+"."+q.name, "must not start or end with spaces")
		}
		if err := oneLine(q.value, 100); err != nil {
			return fieldErr(field+"."+q.name, "%v", err)
		}
		key := strings.ToLower(q.value)
		if other, ok := seen[key]; ok {
			return fieldErr(field+"."+q.name, "names the same question as %s: each figure needs its own question", other)
		}
		seen[key] = q.name
	}
	return nil
}

// oneLine accepts a name of at most max characters without control characters.
func oneLine(s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return fmt.Errorf("must be at most %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errors.New("must be one line without control characters")
		}
	}
	return nil
}

// MaxRecipients bounds the notification list.
const MaxRecipients = 20

func (n NotifySettings) validate() error {
	if len(n.Emails) > MaxRecipients {
		return fieldErr("settings.notify.emails", "at most %d addresses", MaxRecipients)
	}
	for i, e := range n.Emails {
		if err := ValidateEmail(e); err != nil {
			return fieldErr(fmt.Sprintf("settings.notify.emails[%d]", i), "%v", err)
		}
	}
	if n.WebhookURL != "" {
		if err := ValidateOutboundURL(n.WebhookURL); err != nil {
			return fieldErr("settings.notify.webhook_url", "%v", err)
		}
	}
	return nil
}

// ValidateEmail accepts a bare address (no display name), at most 254 characters.
func ValidateEmail(s string) error {
	if len(s) > 254 {
		return errors.New("address is longer than 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("%q is not a valid e-mail address", s)
	}
	if !strings.Contains(s[strings.LastIndex(s, "@"):], ".") && !strings.HasSuffix(s, "@localhost") {
		return fmt.Errorf("%q has no domain", s)
	}
	return nil
}

// ValidateOutboundURL checks the form of a URL meterbridge will send to (absolute, http or
// https, with a host, without credentials). Whether it may be sent to is the outbound
// policy's to say (remote/egress), when the URL is saved through the API and again when it
// is used.
func ValidateOutboundURL(s string) error {
	_, err := egress.ParseURL(s)
	return err
}

// SaneDecimal reports whether d, read from outside, is of a size meterbridge means: at most
// 40 digits and an exponent within ±30. The decimal library refuses exponents beyond 10000,
// but 1e9999 still passes it and prints (and compares) as ten thousand digits.
func SaneDecimal(d decimal.Decimal) bool {
	e := d.Exponent()
	return e >= -30 && e <= 30 && d.NumDigits() <= 40
}
