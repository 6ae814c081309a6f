package gauges

import (
	"time"

	"github.com/shopspring/decimal"
)

// Demo fixture: the OAuth client and gauges NewDemo seeds.
const (
	DemoClientID     = "demo-gauges-client"
	DemoClientSecret = "demo-gauges-secret"

	DemoGaugeOpenTickets   = "g_open_tickets"
	DemoGaugeMRR           = "g_mrr"
	DemoGaugeBackupSuccess = "g_backup_success"
)

// triangle rises by one each step (an hour or more) from 0 to half a period and falls back,
// giving values that move day to day with integer arithmetic only.
func triangle(t time.Time, step time.Duration, period int64) int64 {
	n := t.Unix() / int64(step/time.Second) % period
	if n < 0 {
		n += period
	}
	if n > period/2 {
		n = period - n
	}
	return n
}

// DemoGauges are the gauges of NewDemo; each Func gives the value read at a time.
func DemoGauges() []Gauge {
	return []Gauge{
		{
			ID: DemoGaugeOpenTickets, Name: "Open tickets", Unit: "tickets",
			// 30–72 over a fortnight, one ticket every four hours.
			Func: func(t time.Time) decimal.Decimal {
				return decimal.NewFromInt(30 + triangle(t, 4*time.Hour, 84))
			},
		},
		{
			ID: DemoGaugeMRR, Name: "Monthly recurring revenue", Unit: "USD",
			// 48,250.00 rising by 12.35 a day for about a month, then falling back.
			Func: func(t time.Time) decimal.Decimal {
				return decimal.RequireFromString("48250.00").Add(decimal.RequireFromString("12.35").Mul(decimal.NewFromInt(triangle(t, 24*time.Hour, 60))))
			},
		},
		{
			ID: DemoGaugeBackupSuccess, Name: "Backup success rate", Unit: "%",
			// 96.5–100.0 in steps of 0.1 every two hours.
			Func: func(t time.Time) decimal.Decimal {
				return decimal.RequireFromString("96.5").Add(decimal.New(triangle(t, 2*time.Hour, 70), -1))
			},
		},
	}
}

// NewDemo returns a service accepting the demo client, with DemoGauges.
func NewDemo() *Server { return NewDemoAt(time.Now) }

// NewDemoAt is NewDemo on another clock, for tests that move time.
func NewDemoAt(now func() time.Time) *Server {
	s := New(Options{ClientID: DemoClientID, ClientSecret: DemoClientSecret, Now: now})
	for _, g := range DemoGauges() {
		s.SetGauge(g)
	}
	return s
}
