package tenant

import "github.com/shopspring/decimal"

// ResetForPSASwitch returns the settings after the tenant switches its PSA to newKind, and
// the setting paths that changed. Everything that would act on the new PSA without a person
// is turned off, because the mappings it would act on are deleted with the switch:
//   - the publish schedule and the licence refresh and sync schedules are disabled (their
//     cadence, day and hour are kept, so enabling them again restores the old timing);
//   - approval of both jobs goes back to manual: mode "manual", the rule's max_units and
//     max_percent 0, no deadline (deadline_hours 0, deadline_action "hold_and_alert"), so
//     nothing is approved on anyone's behalf — usage publishes too, although they approve
//     themselves by default: the new PSA's first numbers are for a person to see;
//   - switching to Autotask sets publish.mode to "advanced": "Backup Stats" records (basic
//     mode) exist only in ConnectWise.
//
// Reminders, notification recipients, the webhook, the time zone and licence rounding are
// kept: they tell people things or shape numbers, they do not act on the PSA.
func (s Settings) ResetForPSASwitch(newKind string) (Settings, []string) {
	var changed []string
	set := func(path string, differs bool, apply func()) {
		if differs {
			apply()
			changed = append(changed, path)
		}
	}
	set("settings.publish.schedule.enabled", s.Publish.Schedule.Enabled, func() { s.Publish.Schedule.Enabled = false })
	set("settings.licences.refresh.enabled", s.Licences.Refresh.Enabled, func() { s.Licences.Refresh.Enabled = false })
	set("settings.licences.sync.enabled", s.Licences.Sync.Enabled, func() { s.Licences.Sync.Enabled = false })
	for _, job := range []struct {
		path string
		a    *ApprovalSettings
	}{{"settings.publish.approval", &s.Publish.Approval}, {"settings.licences.approval", &s.Licences.Approval}} {
		a := job.a
		set(job.path+".mode", a.Mode != ApproveManual, func() { a.Mode = ApproveManual })
		set(job.path+".max_units", !a.MaxUnits.IsZero(), func() { a.MaxUnits = decimal.Zero })
		set(job.path+".max_percent", !a.MaxPercent.IsZero(), func() { a.MaxPercent = decimal.Zero })
		set(job.path+".deadline_hours", a.DeadlineHours != 0, func() { a.DeadlineHours = 0 })
		set(job.path+".deadline_action", a.DeadlineAction != DeadlineHold, func() { a.DeadlineAction = DeadlineHold })
	}
	set("settings.publish.mode", newKind == "autotask" && s.Publish.Mode != ModeAdvanced, func() { s.Publish.Mode = ModeAdvanced })
	return s, changed
}
