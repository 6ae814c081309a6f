package autotask

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestValidateNamesEachWrongField(t *testing.T) {
	err := Config{ZoneDiscoveryURL: "ftp://x", BaseURL: "https://user:pw@host", Rounding: "sideways", ImpersonationResourceID: -1, HourlyBudget: -5}.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a FieldError", e)
		}
		fields = append(fields, fe.Field)
	}
	want := "zone_discovery_url base_url user_name secret integration_code impersonation_resource_id rounding hourly_budget"
	if got := strings.Join(fields, " "); got != want {
		t.Errorf("fields = %s\nwant     %s", got, want)
	}
	if err := (Config{UserName: "u", Secret: "s", IntegrationCode: "i"}).Validate(); err != nil {
		t.Errorf("minimal config: %v", err)
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New accepted an empty config")
	}
}

func TestSecretsStayOutOfPrintsAndLogs(t *testing.T) {
	cfg := Config{UserName: "api@msp.example", Secret: "hunter2-secret", IntegrationCode: "TRACKINGCODE123"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("connect", "autotask", cfg)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%v", &cfg), buf.String(), cfg.Redacted().Secret} {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "TRACKINGCODE") {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("no redaction marker in %q", out)
		}
	}
	if cfg.Secret != "hunter2-secret" {
		t.Error("Redacted changed the original")
	}
}

func TestRoundUnitsByPolicy(t *testing.T) {
	cases := []struct {
		q      string
		policy string
		want   int64
	}{
		{"123.45", RoundUp, 124}, {"123.45", RoundNearest, 123}, {"123.45", RoundDown, 123},
		{"123.5", RoundNearest, 124}, {"0.01", RoundUp, 1}, {"0.01", RoundDown, 0},
		{"7", RoundUp, 7}, {"7", "", 7}, {"2.2", "unknown", 3},
	}
	for _, c := range cases {
		if got := RoundUnits(decimal.RequireFromString(c.q), c.policy); got != c.want {
			t.Errorf("RoundUnits(%s, %q) = %d, want %d", c.q, c.policy, got, c.want)
		}
	}
	c, _ := New(Config{UserName: "u", Secret: "s", IntegrationCode: "round"}, nil)
	if got := c.RoundUnits(decimal.RequireFromString("1.1")); got != 2 {
		t.Errorf("default policy rounded 1.1 to %d, want 2 (up)", got)
	}
}

func TestReferenceRoundTrips(t *testing.T) {
	ref := AdjustmentRef{ID: 77, ContractID: 5, ContractServiceID: 9, ServiceID: 3, UnitChange: -4,
		Effective: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), From: 10, To: 6}
	got, err := ParseReference(ref.String())
	if err != nil || got != ref {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, ref)
	}
	for _, bad := range []string{"", "x;id=1", strings.Replace(ref.String(), "to=6", "to=7", 1), strings.Replace(ref.String(), ";effective=2025-05-01", "", 1)} {
		if _, err := ParseReference(bad); err == nil {
			t.Errorf("ParseReference(%q) accepted", bad)
		}
	}
}
