package autotask

import (
	"context"
	"fmt"

	"github.com/meterbridge/meterbridge/psa"
)

// DescribeTarget names the target's company, contract and service, and proves it can be
// billed today: the contract service is on that contract, the contract belongs to that
// company, and a units period covers today.
func (c *Client) DescribeTarget(ctx context.Context, t psa.Target) (psa.TargetInfo, error) {
	op := fmt.Sprintf("describe contract service %d", t.AdditionID)
	switch {
	case t.AdditionID <= 0:
		return psa.TargetInfo{}, invalid(op, "addition_id", "the target names no contract service")
	case t.AgreementID <= 0:
		return psa.TargetInfo{}, invalid(op, "agreement_id", "the target names no contract")
	}
	cs, err := c.contractServiceOf(ctx, psa.Target{AgreementID: t.AgreementID, AdditionID: t.AdditionID})
	if err != nil {
		return psa.TargetInfo{}, err
	}
	contract, err := c.Contract(ctx, t.AgreementID)
	if err != nil {
		return psa.TargetInfo{}, err
	}
	if t.CompanyID != 0 && contract.CompanyID != t.CompanyID {
		return psa.TargetInfo{}, invalid(op, "company_id", fmt.Sprintf("contract %d belongs to company %d, not %d", t.AgreementID, contract.CompanyID, t.CompanyID))
	}
	company, err := c.Company(ctx, contract.CompanyID)
	if err != nil {
		return psa.TargetInfo{}, err
	}
	svc, err := c.Service(ctx, cs.ServiceID)
	if err != nil {
		return psa.TargetInfo{}, err
	}
	if _, err := c.unitsOn(ctx, cs.ID, c.today()); err != nil {
		return psa.TargetInfo{}, err
	}
	t.CompanyID = contract.CompanyID
	return psa.TargetInfo{
		Target:        t,
		CompanyName:   company.CompanyName,
		AgreementName: contract.ContractName,
		Product:       svc.Name,
		WholeUnits:    true,
	}, nil
}
