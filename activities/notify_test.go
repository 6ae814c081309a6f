package activities

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

type countingNotifier struct {
	emails, webhooks int
	webhookErr       error
}

func (n *countingNotifier) Email(context.Context, []string, string, string) error {
	n.emails++
	return nil
}

func (n *countingNotifier) Webhook(context.Context, string, any) error {
	n.webhooks++
	return n.webhookErr
}

// When the e-mail went out and the webhook failed, a retry sends only the webhook: managers
// do not get a copy of the message for every retry.
func TestNotifyRetrySendsOnlyWhatFailed(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t, testenv.NewSecretBox())
	settings := tenant.Defaults()
	settings.Notify = tenant.NotifySettings{Emails: []string{"ops@acme.example"}, WebhookURL: "https://chat.example/hook"}
	_, err := st.CreateTenant(ctx, tenant.Tenant{ID: "acme", Name: "Acme", TimeZone: "UTC", Settings: settings})
	require.NoError(t, err)
	id := uuid.NewString()
	_, _, err = st.CreateCycle(ctx, store.Cycle{ID: id, TenantID: "acme", Kind: billing.UsagePublish, Period: "2026-11", Mode: "advanced", Trigger: billing.Manual, WorkflowID: "w"})
	require.NoError(t, err)

	n := &countingNotifier{webhookErr: errors.New("chat is down")}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Store: st, Notifier: n})
	in := billing.NotifyInput{CycleID: id, TenantID: "acme", Notice: billing.NoticeFinished}

	_, err = env.ExecuteActivity("Notify", in)
	require.Error(t, err)
	require.Equal(t, 1, n.emails)

	// The retry carries the first attempt's heartbeat details.
	n.webhookErr = nil
	env.SetHeartbeatDetails(delivered{Email: true})
	_, err = env.ExecuteActivity("Notify", in)
	require.NoError(t, err)
	require.Equal(t, 1, n.emails, "the e-mail is not sent again")
	require.Equal(t, 2, n.webhooks)
}
