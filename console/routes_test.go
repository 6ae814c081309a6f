package console_test

import (
	"strings"
	"testing"

	"github.com/meterbridge/meterbridge/console"
	"github.com/meterbridge/meterbridge/store"
)

// The route table is the console's access surface: every tenant page goes through the
// tenant scope, nothing that changes state is open to viewers (signing out aside), and what
// the API keeps for admins the console does too.
func TestConsoleRoutesNeedTheAPIsRoles(t *testing.T) {
	adminOnly := []string{"/settings/psa", "/settings/notify", "/settings/approval", "/settings/sources/:kind",
		"/mappings", "/history/clear", "/publish/settings", "/licences/settings", "/tokens", "/clients/:client"}
	for _, r := range console.Routes() {
		open := r.Path == "/" || r.Path == "/signin"
		if r.Role == "" && !open {
			t.Errorf("%s %s needs no session", r.Method, r.Path)
		}
		if r.Method != "GET" && r.Role == store.RoleViewer && r.Path != "/signout" {
			t.Errorf("%s %s changes state and is open to viewers", r.Method, r.Path)
		}
		if r.Method == "POST" && strings.HasPrefix(r.Path, "/tenants/:tenant") {
			rest := strings.TrimPrefix(r.Path, "/tenants/:tenant")
			for _, a := range adminOnly {
				if rest == a && r.Role != store.RoleAdmin {
					t.Errorf("%s %s is admin-only in the API but %s here", r.Method, r.Path, r.Role)
				}
			}
		}
		if !strings.HasPrefix(r.Path, "/tenants/:tenant") && r.Role != "" && r.Path != "/signout" && r.Role != store.RoleAdmin {
			t.Errorf("%s %s is outside a tenant and not admin-only", r.Method, r.Path)
		}
	}
}
