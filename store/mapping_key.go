package store

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/tenant"
)

// CheckMappingKey refuses a mapping's account ID and item that could not have come from a
// vendor (spaces around them, control characters) and a backup mapping of anything but
// storage. Problems are *tenant.FieldError naming "account_id" or "item".
func CheckMappingKey(source, accountID, item string) error {
	for _, f := range []struct{ name, v string }{{"account_id", accountID}, {"item", item}} {
		if strings.TrimSpace(f.v) != f.v || strings.ContainsFunc(f.v, unicode.IsControl) {
			return &tenant.FieldError{Field: f.name, Reason: "must not contain control characters or leading or trailing spaces"}
		}
	}
	if source == RoleBackup && item != billing.StorageItem {
		return &tenant.FieldError{Field: "item", Reason: fmt.Sprintf("must be %q for a backup mapping", billing.StorageItem)}
	}
	return nil
}

var mappingIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9._:-]+`)

// MappingIDFor names a new mapping of an account's item readably ("licenses:acc_1001:server"),
// within the API's mapping ID rule (1–100 letters, digits and . _ : -).
func MappingIDFor(source, accountID, item string) string {
	id := mappingIDUnsafe.ReplaceAllString(source+":"+accountID+":"+item, "-")
	if len(id) > 100 {
		id = id[:100]
	}
	return id
}
