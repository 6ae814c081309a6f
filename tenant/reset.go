package tenant

import "github.com/shopspring/decimal"

// ResetForPSASwitch returns the settings after the tenant switches its PSA to newKind, and
// the setting paths that changed. Everything that would act on the new PSA without a person
// is turned off, because the mappings it would act on are deleted with the switch:
//   - the publish schedule and the licence refresh and sync schedules are disabled (their
//     cadence, day and hour are kept, so enabling them again restores the old timing);
//   - approval goes back to manual: mode "manual", the rule's max_units and max_percent 0,
//     no deadline (deadline_hours 0, deadline_action "hold_and_alert"), so nothing is
//     approved on anyone's behalf;
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
	set("settings.approval.mode", s.Approval.Mode != ApproveManual, func() { s.Approval.Mode = ApproveManual })
	set("settings.approval.max_units", !s.Approval.MaxUnits.IsZero(), func() { s.Approval.MaxUnits = decimal.Zero })
	set("settings.approval.max_percent", !s.Approval.MaxPercent.IsZero(), func() { s.Approval.MaxPercent = decimal.Zero })
	set("settings.approval.deadline_hours", s.Approval.DeadlineHours != 0, func() { s.Approval.DeadlineHours = 0 })
	set("settings.approval.deadline_action", s.Approval.DeadlineAction != DeadlineHold, func() { s.Approval.DeadlineAction = DeadlineHold })
	set("settings.publish.mode", newKind == "autotask" && s.Publish.Mode != ModeAdvanced, func() { s.Publish.Mode = ModeAdvanced })
	return s, changed
}
