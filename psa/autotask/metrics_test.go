package autotask

import (
	"testing"
	"time"

	emu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	"github.com/meterbridge/meterbridge/telemetry"
)

// The client's own waits for Autotask's limits are counted in the rate-limit metrics: a
// wait for the hourly budget inside the call (budget), one too long and handed back to the
// workflow (deferred), and the pause past half the database's threshold (threshold).
func TestClientSideLimitWaitsAreCounted(t *testing.T) {
	waits := func(reason string) float64 {
		return telemetry.Value("meterbridge_rate_limit_waits_total", "service", "autotask", "reason", reason)
	}
	budget0, deferred0, threshold0 := waits("budget"), waits("deferred"), waits("threshold")

	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	e := newTestEnv(t, emu.Options{}, func(c *Config) { c.HourlyBudget = 2 })
	e.client.now, e.client.sleep = clock.now, clock.sleep
	ctx := testCtx(t)
	if _, err := e.client.CountCompanies(ctx, AllRows()); err != nil { // zone discovery + 1
		t.Fatal(err)
	}
	if _, err := e.client.CountCompanies(ctx, AllRows()); err == nil {
		t.Fatal("the request over budget was sent")
	}
	clock.advance(time.Hour - 20*time.Second)
	if _, err := e.client.CountCompanies(ctx, AllRows()); err != nil {
		t.Fatal(err)
	}
	if got := waits("deferred") - deferred0; got != 1 {
		t.Errorf("deferred waits counted %v, want 1", got)
	}
	if got := waits("budget") - budget0; got != 1 {
		t.Errorf("budget waits counted %v, want 1", got)
	}

	pressure := &fakeClock{t: time.Now()}
	p := newTestEnv(t, emu.Options{HourlyQuota: 20}, func(c *Config) { c.ThresholdPollEvery = 1 })
	p.client.sleep = pressure.sleep
	for range 12 {
		if _, err := p.client.CountCompanies(ctx, AllRows()); err != nil {
			break
		}
	}
	if waits("threshold") == threshold0 {
		t.Error("pauses past half the threshold are not counted")
	}
}
