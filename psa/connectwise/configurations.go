package connectwise

import (
	"context"
	"net/http"
)

const (
	configurationsPath     = "/company/configurations"
	configurationTypesPath = "/company/configurations/types"
)

// Configuration is a company configuration (a device or service record). Its backup block
// is the REST form of the old Managed Device API's backup stats.
type Configuration struct {
	ID               int64  `json:"id"`
	Name             string `json:"name"`
	Type             Ref    `json:"type"`
	Company          Ref    `json:"company"`
	Status           *Ref   `json:"status,omitempty"`
	ActiveFlag       bool   `json:"activeFlag"`
	DeviceIdentifier string `json:"deviceIdentifier"`
	SerialNumber     string `json:"serialNumber"`
	// BackupBillableSpaceGb is nil when the record holds no figure yet.
	BackupBillableSpaceGb *Number `json:"backupBillableSpaceGb"`
	BackupYear            *int    `json:"backupYear"`
	BackupMonth           *int    `json:"backupMonth"`
	BackupSuccesses       *int    `json:"backupSuccesses,omitempty"`
	BackupIncomplete      *int    `json:"backupIncomplete,omitempty"`
	BackupFailed          *int    `json:"backupFailed,omitempty"`
	BackupRestores        *int    `json:"backupRestores,omitempty"`
	LastBackupDate        Time    `json:"lastBackupDate"`
	BackupServerName      string  `json:"backupServerName,omitempty"`
	Info                  Info    `json:"_info"`
}

// NewConfiguration is what CreateConfiguration sends.
type NewConfiguration struct {
	Name                  string  `json:"name"`
	Type                  Ref     `json:"type"`
	Company               Ref     `json:"company"`
	ActiveFlag            bool    `json:"activeFlag"`
	DeviceIdentifier      string  `json:"deviceIdentifier,omitempty"`
	BackupBillableSpaceGb *Number `json:"backupBillableSpaceGb,omitempty"`
	BackupYear            *int    `json:"backupYear,omitempty"`
	BackupMonth           *int    `json:"backupMonth,omitempty"`
}

// ConfigurationType is a configuration type (e.g. "Backup", "Server").
type ConfigurationType struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	InactiveFlag bool   `json:"inactiveFlag"`
	Info         Info   `json:"_info"`
}

// GetConfiguration reads one configuration; a missing one is a remote.NotFound error.
func (c *Client) GetConfiguration(ctx context.Context, id int64) (Configuration, error) {
	var cf Configuration
	_, err := c.getJSON(ctx, itemPath(configurationsPath, id), nil, &cf)
	return cf, err
}

// ListConfigurations reads every configuration matching o.
func (c *Client) ListConfigurations(ctx context.Context, o ListOptions) ([]Configuration, error) {
	return list[Configuration](ctx, c, configurationsPath, o)
}

// PatchConfiguration applies ops and returns the configuration as the API holds it afterwards.
func (c *Client) PatchConfiguration(ctx context.Context, id int64, ops ...PatchOp) (Configuration, error) {
	var cf Configuration
	err := c.writeJSON(ctx, apiRequest{method: http.MethodPatch, path: itemPath(configurationsPath, id), body: ops}, &cf)
	return cf, err
}

// createConfiguration posts n once; find is the natural-key look-up createOnce runs before
// each attempt (see CreateAddition for why).
func (c *Client) createConfiguration(ctx context.Context, n NewConfiguration, find func(context.Context) (Configuration, bool, error)) (Configuration, error) {
	return createOnce(ctx, c, apiRequest{method: http.MethodPost, path: configurationsPath, body: n, create: true}, find)
}

// ListConfigurationTypes reads every configuration type matching o.
func (c *Client) ListConfigurationTypes(ctx context.Context, o ListOptions) ([]ConfigurationType, error) {
	return list[ConfigurationType](ctx, c, configurationTypesPath, o)
}
