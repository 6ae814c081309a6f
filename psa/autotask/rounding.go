package autotask

import "github.com/shopspring/decimal"

// RoundUnits turns a decimal quantity into Autotask's whole units by policy: "up" (ceiling,
// the default for unknown policies, so usage is never under-billed), "nearest" (half away
// from zero) or "down" (floor).
func RoundUnits(q decimal.Decimal, policy string) int64 {
	switch policy {
	case RoundDown:
		return q.Floor().IntPart()
	case RoundNearest:
		return q.Round(0).IntPart()
	default:
		return q.Ceil().IntPart()
	}
}

// RoundUnits rounds q by the client's configured policy.
func (c *Client) RoundUnits(q decimal.Decimal) int64 { return RoundUnits(q, c.cfg.Rounding) }
