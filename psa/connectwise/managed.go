package connectwise

import (
	"context"
	"fmt"
)

// The managed-services setup tables (psa-apis.md 1.11). meterbridge only reads them, to
// show an MSP how its ConnectWise is set up for usage billing.
const (
	managementItSolutionsPath      = "/company/managementItSolutions"
	managedDevicesIntegrationsPath = "/company/managedDevicesIntegrations"
	managementBackupsPath          = "/company/managementBackups"
)

// ManagementItSolution is a management IT solution (for vendors: type Custom, named after
// the vendor's solution).
type ManagementItSolution struct {
	ID                       int64  `json:"id"`
	Name                     string `json:"name"`
	ManagementItSolutionType string `json:"managementItSolutionType"`
	ManagementSolutionName   string `json:"managementSolutionName"`
	NoDisplayFlag            bool   `json:"noDisplayFlag"`
	Info                     Info   `json:"_info"`
}

// ManagedDevicesIntegration is a managed devices integration (the vendor's login and its
// billing defaults).
type ManagedDevicesIntegration struct {
	ID                            int64  `json:"id"`
	Name                          string `json:"name"`
	Solution                      string `json:"solution"`
	PortalURL                     string `json:"portalUrl"`
	LoginBy                       string `json:"loginBy"`
	DefaultBillingLevel           string `json:"defaultBillingLevel"`
	MatchOnSerialNumberFlag       bool   `json:"matchOnSerialNumberFlag"`
	DisableNewCrossReferencesFlag bool   `json:"disableNewCrossReferencesFlag"`
	ConfigBillCustomerFlag        bool   `json:"configBillCustomerFlag"`
	Info                          Info   `json:"_info"`
}

// CrossReference maps a vendor's (type, level) to an agreement type, product and
// configuration type.
type CrossReference struct {
	ID                int64  `json:"id"`
	VendorType        string `json:"vendorType"`
	VendorLevel       string `json:"vendorLevel"`
	AgreementType     *Ref   `json:"agreementType,omitempty"`
	Product           *Ref   `json:"product,omitempty"`
	ConfigurationType *Ref   `json:"configurationType,omitempty"`
	InactiveFlag      bool   `json:"inactiveFlag"`
	Info              Info   `json:"_info"`
}

// ManagementBackup ties an agreement type to the catalog item backups are billed with.
type ManagementBackup struct {
	ID           int64  `json:"id"`
	Type         Ref    `json:"type"`
	Item         Ref    `json:"item"`
	BillingLevel string `json:"billingLevel"`
	Info         Info   `json:"_info"`
}

// ListManagementItSolutions reads the management IT solutions matching o.
func (c *Client) ListManagementItSolutions(ctx context.Context, o ListOptions) ([]ManagementItSolution, error) {
	return list[ManagementItSolution](ctx, c, managementItSolutionsPath, o)
}

// ListManagedDevicesIntegrations reads the managed devices integrations matching o.
func (c *Client) ListManagedDevicesIntegrations(ctx context.Context, o ListOptions) ([]ManagedDevicesIntegration, error) {
	return list[ManagedDevicesIntegration](ctx, c, managedDevicesIntegrationsPath, o)
}

// ListCrossReferences reads one integration's cross-references matching o.
func (c *Client) ListCrossReferences(ctx context.Context, integrationID int64, o ListOptions) ([]CrossReference, error) {
	return list[CrossReference](ctx, c, fmt.Sprintf("%s/%d/crossReferences", managedDevicesIntegrationsPath, integrationID), o)
}

// ListManagementBackups reads the management backup settings matching o.
func (c *Client) ListManagementBackups(ctx context.Context, o ListOptions) ([]ManagementBackup, error) {
	return list[ManagementBackup](ctx, c, managementBackupsPath, o)
}
