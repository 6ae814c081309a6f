package egress

import (
	"errors"
	"net/netip"
	"testing"
)

// GuardTestConnections makes p fail the test instead of connecting anywhere outside
// loopback: if the policy under test were wrong, no packet may leave the machine.
func GuardTestConnections(t testing.TB, p *Policy) *Policy {
	p.beforeConnect = func(ap netip.AddrPort) error {
		if !ap.Addr().Unmap().IsLoopback() {
			t.Errorf("the policy let a test connect to %s", ap)
			return errors.New("test safety net: only loopback")
		}
		return nil
	}
	return p
}
