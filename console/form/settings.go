package form

import (
	"net/url"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/tenant"
)

// Settings forms name their fields after the settings they set, without "settings."
// ("publish.schedule.day"), so a rule's *tenant.FieldError lands next to its field.

// SettingsField maps a settings rule's field ("settings.notify.emails[2]") to the form field.
func SettingsField(field string) string {
	f := strings.TrimPrefix(field, "settings.")
	if i := strings.Index(f, "["); i >= 0 {
		f = f[:i]
	}
	return f
}

// SettingsErrors turns a settings rule's *tenant.FieldError into the form's problem.
func (e Errors) Settings(err error) bool {
	if fe, ok := err.(*tenant.FieldError); ok {
		e.Add(SettingsField(fe.Field), fe.Reason)
		return true
	}
	return false
}

// Schedule reads a schedule's fields under prefix ("publish.schedule"). Day and hour are
// checked by the settings' own rule when the form is applied.
func Schedule(v url.Values, prefix string, cur tenant.Schedule, errs Errors) tenant.Schedule {
	s := cur
	s.Enabled = checked(v, prefix+".enabled")
	if c := text(v, prefix+".cadence"); c != "" {
		s.Cadence = c
	}
	if s.Cadence == tenant.Daily {
		s.Day = ""
	} else {
		s.Day = text(v, prefix+".day")
	}
	s.Hour = integer(v, prefix+".hour", 0, 23, errs, "The hour")
	return s
}

// Publish is the publish settings form: mode, schedule and, for basic mode, the ConnectWise
// names of the Backup Stats records.
func Publish(v url.Values, cur tenant.Settings) (tenant.Settings, Errors) {
	errs := Errors{}
	s := cur
	s.Publish.Mode = text(v, "publish.mode")
	s.Publish.Schedule = Schedule(v, "publish.schedule", cur.Publish.Schedule, errs)
	s.Publish.Schedule.Cadence = tenant.Monthly
	s.Publish.BackupStats = BackupStats(v, cur.Publish.BackupStats)
	return s, errs
}

// Licences is the licence schedules form: refresh and sync schedules and rounding.
func Licences(v url.Values, cur tenant.Settings) (tenant.Settings, Errors) {
	errs := Errors{}
	s := cur
	s.Licences.Refresh = Schedule(v, "licences.refresh", cur.Licences.Refresh, errs)
	s.Licences.Sync = Schedule(v, "licences.sync", cur.Licences.Sync, errs)
	if r := text(v, "licences.rounding"); r != "" {
		s.Licences.Rounding = r
	}
	return s, errs
}

// Approval is the approval form: each job's mode, rule thresholds, reminders and deadline
// (fields "publish.approval.mode", "licences.approval.mode", …).
func Approval(v url.Values, cur tenant.Settings) (tenant.Settings, Errors) {
	errs := Errors{}
	s := cur
	for _, job := range []struct {
		prefix string
		a      *tenant.ApprovalSettings
	}{{"publish.approval", &s.Publish.Approval}, {"licences.approval", &s.Licences.Approval}} {
		a, p := job.a, job.prefix
		a.Mode = text(v, p+".mode")
		a.MaxUnits = number(v, p+".max_units", errs)
		a.MaxPercent = number(v, p+".max_percent", errs)
		a.ReminderHours = integer(v, p+".reminder_hours", 0, 744, errs, "Reminder hours")
		a.DeadlineHours = integer(v, p+".deadline_hours", 0, 8760, errs, "Deadline hours")
		a.DeadlineAction = text(v, p+".deadline_action")
	}
	return s, errs
}

func number(v url.Values, name string, errs Errors) decimal.Decimal {
	s := text(v, name)
	if s == "" {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		errs.Add(name, "Enter a number such as 5 or 2.5")
		return decimal.Zero
	}
	return d
}

// Notify is the notifications form: time zone, recipients (one per line or separated by
// commas) and the chat webhook. keepWebhook leaves the stored webhook when the field is
// left empty and "remove" is not ticked, since the stored one is not shown whole.
func Notify(v url.Values, cur tenant.Tenant) (tz string, s tenant.Settings, errs Errors) {
	errs = Errors{}
	s = cur.Settings
	tz = text(v, "time_zone")
	if err := tenant.ValidateTimeZone("time_zone", tz); err != nil {
		errs.FromField(err, map[string]string{"time_zone": "time_zone"})
	}
	s.Notify.Emails = []string{}
	for _, e := range strings.FieldsFunc(v.Get("notify.emails"), func(r rune) bool { return r == ',' || r == '\n' || r == ';' }) {
		if e = strings.TrimSpace(e); e != "" {
			s.Notify.Emails = append(s.Notify.Emails, e)
		}
	}
	switch w := text(v, "notify.webhook_url"); {
	case checked(v, "notify.webhook_remove"):
		s.Notify.WebhookURL = ""
	case w != "":
		s.Notify.WebhookURL = w
	}
	return tz, s, errs
}

// BackupStats is the part of the publish form that names where basic mode keeps its
// records in ConnectWise; an empty type keeps the one stored (the type is required).
func BackupStats(v url.Values, cur tenant.BackupStatsSettings) tenant.BackupStatsSettings {
	b := cur
	if !v.Has("publish.backup_stats.configuration_type") {
		return b
	}
	b.ConfigurationType = text(v, "publish.backup_stats.configuration_type")
	b.BillableSpaceQuestion = text(v, "publish.backup_stats.billable_space_question")
	b.YearQuestion = text(v, "publish.backup_stats.year_question")
	b.MonthQuestion = text(v, "publish.backup_stats.month_question")
	return b
}
