package lookup

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/meterbridge/meterbridge/tenant"
)

// Invalid questions are refused with the field named before the tenant's PSA is even
// opened (the Service here has no connector: reaching it would panic).
func TestInvalidLookupsNameTheFieldWithoutOpeningThePSA(t *testing.T) {
	s := New(nil, Options{})
	ctx := context.Background()
	cases := []struct {
		name  string
		call  func() error
		field string
	}{
		{"empty fragment", func() error { _, err := s.Companies(ctx, "t", "", 1); return err }, "q"},
		{"one character", func() error { _, err := s.Companies(ctx, "t", " é ", 1); return err }, "q"},
		{"too long", func() error { _, err := s.Companies(ctx, "t", strings.Repeat("é", MaxQueryLength+1), 1); return err }, "q"},
		{"control character", func() error { _, err := s.Companies(ctx, "t", "ab\x00cd", 1); return err }, "q"},
		{"not UTF-8", func() error { _, err := s.Companies(ctx, "t", "ab\xffcd", 1); return err }, "q"},
		{"page 0", func() error { _, err := s.Companies(ctx, "t", "north", 0); return err }, "page"},
		{"page past the last", func() error { _, err := s.Companies(ctx, "t", "north", MaxPage+1); return err }, "page"},
		{"company 0", func() error { _, err := s.Agreements(ctx, "t", 0); return err }, "company_id"},
		{"negative agreement", func() error { _, err := s.Additions(ctx, "t", -4); return err }, "agreement_id"},
	}
	for _, tc := range cases {
		var fe *tenant.FieldError
		if err := tc.call(); !errors.As(err, &fe) || fe.Field != tc.field || fe.Reason == "" {
			t.Errorf("%s: err = %v, want a field error on %s", tc.name, err, tc.field)
		}
	}
}

func TestFragmentsAreTrimmedAndCountedInCharacters(t *testing.T) {
	for in, want := range map[string]string{"  north ": "north", "é€": "é€", strings.Repeat("ü", MaxQueryLength): strings.Repeat("ü", MaxQueryLength)} {
		got, err := checkQuery(in)
		if err != nil || got != want {
			t.Errorf("checkQuery(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
