package access

import (
	"fmt"
	"testing"
	"time"
)

func TestTokenLimiterAllowsABurstThenRefuses(t *testing.T) {
	l := newTokenLimiter(1) // burst 5
	for i := range 5 {
		if !l.allow("tok-a") {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.allow("tok-a") {
		t.Fatal("the sixth request at once was allowed")
	}
	if !l.allow("tok-b") {
		t.Fatal("another token shares the first one's budget")
	}
}

func TestFailedLookupsBlockAnAddressUntilItsBudgetRefills(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := newFailureLimiter(0)
	l.now = func() time.Time { return now }
	if _, blocked := l.blocked("192.0.2.1"); blocked {
		t.Fatal("an address without failures is blocked")
	}
	for range defaultFailureBurst {
		l.failed("192.0.2.1")
	}
	wait, blocked := l.blocked("192.0.2.1")
	if !blocked || wait <= 0 || wait > failureEvery {
		t.Fatalf("after %d failures: blocked=%v wait=%v, want blocked for up to %v", defaultFailureBurst, blocked, wait, failureEvery)
	}
	if _, blocked := l.blocked("192.0.2.2"); blocked {
		t.Fatal("another address is blocked too")
	}
	now = now.Add(failureEvery)
	if _, blocked := l.blocked("192.0.2.1"); blocked {
		t.Fatal("still blocked after the budget refilled by one")
	}
}

func TestFailureLimiterStaysBounded(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := newFailureLimiter(0)
	l.now = func() time.Time { return now }
	for i := range maxFailureIPs * 3 {
		l.failed(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if len(l.byIP) > maxFailureIPs {
		t.Fatalf("%d addresses kept, bound %d", len(l.byIP), maxFailureIPs)
	}
}

func TestTokenUseIsDueOnceAMinutePerToken(t *testing.T) {
	l := newTokenLimiter(1)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if !l.touchDue("tok-a", now) || l.touchDue("tok-a", now.Add(59*time.Second)) {
		t.Fatal("a token's use is recorded more than once a minute")
	}
	if !l.touchDue("tok-b", now) {
		t.Fatal("another token waits for the first one's minute")
	}
	if !l.touchDue("tok-a", now.Add(time.Minute)) {
		t.Fatal("a minute later the use is not recorded")
	}
}
