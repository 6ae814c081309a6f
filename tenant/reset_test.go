package tenant

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestPSASwitchTurnsOffEverythingThatActsAlone(t *testing.T) {
	s := Defaults()
	s.Publish.Mode = ModeBasic
	s.Publish.Schedule = Schedule{Enabled: true, Cadence: Monthly, Day: "last", Hour: 4}
	s.Licences.Refresh.Enabled, s.Licences.Sync.Enabled = true, true
	s.Licences.Approval = ApprovalSettings{Mode: ApproveRule, MaxUnits: decimal.NewFromInt(3), MaxPercent: decimal.NewFromInt(5),
		ReminderHours: 8, DeadlineHours: 24, DeadlineAction: DeadlineApplyRule}
	s.Notify = NotifySettings{Emails: []string{"ops@msp.example"}, WebhookURL: "https://chat.example/hook"}

	got, changed := s.ResetForPSASwitch("autotask")
	require.NoError(t, got.Validate())
	require.Equal(t, []string{
		"settings.publish.schedule.enabled", "settings.licences.refresh.enabled", "settings.licences.sync.enabled",
		"settings.publish.approval.mode",
		"settings.licences.approval.mode", "settings.licences.approval.max_units", "settings.licences.approval.max_percent",
		"settings.licences.approval.deadline_hours", "settings.licences.approval.deadline_action", "settings.publish.mode",
	}, changed)
	require.Equal(t, Schedule{Cadence: Monthly, Day: "last", Hour: 4}, got.Publish.Schedule, "timing kept, schedule off")
	require.Equal(t, ApproveManual, got.Licences.Approval.Mode)
	require.Equal(t, ApproveManual, got.Publish.Approval.Mode, "the hands-off publish asks a person after a switch too")
	require.Equal(t, 8, got.Licences.Approval.ReminderHours)
	require.Equal(t, s.Notify, got.Notify)
	require.Equal(t, ModeAdvanced, got.Publish.Mode)
	require.True(t, s.Licences.Approval.MaxUnits.Equal(decimal.NewFromInt(3)), "the receiver is not changed")

	again, changed := got.ResetForPSASwitch("connectwise")
	require.Empty(t, changed, "nothing left to reset")
	require.Equal(t, got, again)

	cw, changed := s.ResetForPSASwitch("connectwise")
	require.NotContains(t, changed, "settings.publish.mode")
	require.Equal(t, ModeBasic, cw.Publish.Mode, "ConnectWise keeps basic mode")
}
