package api

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestQuantityAndTextTagsValidate(t *testing.T) {
	type body struct {
		Value decimal.Decimal  `json:"value" binding:"quantity"`
		Limit *decimal.Decimal `json:"limit" binding:"omitempty,decimal"`
		Label string           `json:"label" binding:"max=20,single_line"`
	}
	for in, field := range map[string]string{
		`{"value": "12.5", "label": "ok"}`:              "",
		`{"value": 0}`:                                  "",
		`{"value": "-1"}`:                               "value",
		`{"value": "1e40"}`:                             "value",
		`{"value": "1", "limit": "-2.5"}`:               "",
		`{"value": "1", "limit": "1e9999"}`:             "limit",
		`{"value": "1", "label": "two\nlines"}`:         "label",
		`{"value": "1", "label": "tab\there"}`:          "label",
		`{"value": "1", "label": "Zoë's laptop (Mac)"}`: "",
	} {
		var b body
		err := decodeStrict([]byte(in), &b)
		if err == nil {
			err = validate(&b)
		}
		switch {
		case field == "" && err != nil:
			t.Errorf("%s refused: %v", in, err)
		case field != "" && err == nil:
			t.Errorf("%s accepted", in)
		case field != "" && toAPIError(err).Field != field:
			t.Errorf("%s: field %q, want %q (%v)", in, toAPIError(err).Field, field, err)
		}
	}
}
