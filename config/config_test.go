package config

import (
	"strings"
	"testing"
)

func env(vars map[string]string) Getenv {
	return func(k string) string { return vars[k] }
}

// The bootstrap admin token opens every admin route: a short, patterned or memorable one is
// refused at start with how to make a good one; random ones pass.
func TestBootstrapTokenMustBeStrong(t *testing.T) {
	for _, weak := range []string{
		"short-token",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"abcdefghijklmnopqrstuvwxyz0123456789",
		"bootstrap-" + strings.Repeat("b", 30),
		"meterbridge-bootstrap-admin-token-2026",
		"correct-horse-battery-staple-xyz",
		"dev-admin-token-please-change-me-123",
	} {
		_, err := Load(env(map[string]string{"METERBRIDGE_ADMIN_TOKEN": weak}))
		if err == nil {
			t.Errorf("%q accepted as the bootstrap admin token", weak)
			continue
		}
		if !strings.Contains(err.Error(), "openssl rand") {
			t.Errorf("%q: the refusal does not say how to make a good one: %v", weak, err)
		}
	}
	for _, strong := range []string{
		"gLt/Fc/ZFpBMHCt7pdI4rMxeHUgnMCVCHWl5WDANgbI=", // openssl rand -base64 32
		"9dc5b1af9a881b1ee79cf1265c6db7ae",             // openssl rand -hex 16
		"mbt_gLt_Fc_ZFpBMHCt7pdI4rMxeHUgnMCVCHWl5WDANgbI",
	} {
		if _, err := Load(env(map[string]string{"METERBRIDGE_ADMIN_TOKEN": strong})); err != nil {
			t.Errorf("%q refused: %v", strong, err)
		}
	}
}

func TestAllowPrivateTargetsIsOffUnlessSaid(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || c.AllowPrivateTargets || c.Outbound().AllowsPrivate() {
		t.Fatalf("default: %v %v", c.AllowPrivateTargets, err)
	}
	c, err = Load(env(map[string]string{"METERBRIDGE_ALLOW_PRIVATE_TARGETS": "true"}))
	if err != nil || !c.Outbound().AllowsPrivate() {
		t.Fatalf("true: %v %v", c.AllowPrivateTargets, err)
	}
	if _, err := Load(env(map[string]string{"METERBRIDGE_ALLOW_PRIVATE_TARGETS": "yes please"})); err == nil {
		t.Fatal("a value that is not a boolean was accepted")
	}
}

func TestTrustedProxiesAreAddressesOrNetworks(t *testing.T) {
	c, err := Load(env(map[string]string{"METERBRIDGE_TRUSTED_PROXIES": " 10.0.0.0/8, 172.18.0.2 ,::1"}))
	if err != nil || strings.Join(c.TrustedProxies, "|") != "10.0.0.0/8|172.18.0.2|::1" {
		t.Fatalf("%q %v", c.TrustedProxies, err)
	}
	if _, err := Load(env(map[string]string{"METERBRIDGE_TRUSTED_PROXIES": "proxy.internal"})); err == nil {
		t.Fatal("a host name was accepted")
	}
	if c, _ := Load(env(nil)); len(c.TrustedProxies) != 0 {
		t.Fatalf("trusted by default: %q", c.TrustedProxies)
	}
}
