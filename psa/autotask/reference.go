package autotask

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AdjustmentRef records one ContractServiceAdjustment meterbridge created, with the units
// before and after, so it can be reversed. Its String form is psa.Applied.Reference.
type AdjustmentRef struct {
	// ID is Autotask's itemId, 0 when the create's response was lost but the read-back
	// showed it had landed.
	ID                int64
	ContractID        int64
	ContractServiceID int64
	ServiceID         int64
	UnitChange        int64
	Effective         time.Time
	From, To          int64
}

const refPrefix = "autotask-adjustment"

// String renders the reference, e.g.
// "autotask-adjustment;id=77;contract=5;contractService=9;service=3;unitChange=4;effective=2025-05-01;from=5;to=9".
func (r AdjustmentRef) String() string {
	return fmt.Sprintf("%s;id=%d;contract=%d;contractService=%d;service=%d;unitChange=%d;effective=%s;from=%d;to=%d",
		refPrefix, r.ID, r.ContractID, r.ContractServiceID, r.ServiceID, r.UnitChange, r.Effective.Format(time.DateOnly), r.From, r.To)
}

// joinReferences renders several adjustments as one psa.Applied.Reference, separated by
// spaces (a single one reads as ParseReference expects).
func joinReferences(refs []AdjustmentRef) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.String()
	}
	return strings.Join(parts, " ")
}

// ParseReferences reads a psa.Applied.Reference naming one or more adjustments, in the
// order they were created.
func ParseReferences(s string) ([]AdjustmentRef, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, fmt.Errorf("not an Autotask adjustment reference: %q", s)
	}
	out := make([]AdjustmentRef, len(fields))
	for i, f := range fields {
		r, err := ParseReference(f)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// ParseReference reads what AdjustmentRef.String wrote.
func ParseReference(s string) (AdjustmentRef, error) {
	parts := strings.Split(strings.TrimSpace(s), ";")
	if len(parts) == 0 || parts[0] != refPrefix {
		return AdjustmentRef{}, fmt.Errorf("not an Autotask adjustment reference: %q", s)
	}
	var r AdjustmentRef
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return AdjustmentRef{}, fmt.Errorf("reference part %q has no value", p)
		}
		seen[k] = true
		if k == "effective" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return AdjustmentRef{}, fmt.Errorf("reference effective date %q: %w", v, err)
			}
			r.Effective = t
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return AdjustmentRef{}, fmt.Errorf("reference %s=%q: %w", k, v, err)
		}
		switch k {
		case "id":
			r.ID = n
		case "contract":
			r.ContractID = n
		case "contractService":
			r.ContractServiceID = n
		case "service":
			r.ServiceID = n
		case "unitChange":
			r.UnitChange = n
		case "from":
			r.From = n
		case "to":
			r.To = n
		default:
			return AdjustmentRef{}, fmt.Errorf("reference has unknown part %q", k)
		}
	}
	for _, k := range []string{"contract", "contractService", "unitChange", "effective", "from", "to"} {
		if !seen[k] {
			return AdjustmentRef{}, fmt.Errorf("reference lacks %q", k)
		}
	}
	if r.To-r.From != r.UnitChange || r.UnitChange == 0 {
		return AdjustmentRef{}, fmt.Errorf("reference is inconsistent: from %d to %d is not a change of %d", r.From, r.To, r.UnitChange)
	}
	return r, nil
}
