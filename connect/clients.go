package connect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// BackupClient is one client of the backup usage service as the tenant publishes it: what
// the service reports this month, what the tenant chose, and what the next publish does.
type BackupClient struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	// Reported is true when the backup service reports the client for the period. A client
	// it does not report is listed while the tenant has a choice stored for it.
	Reported   bool             `json:"reported"`
	BillableGB *decimal.Decimal `json:"billable_gb,omitempty"`
	// ReportedManagedID is what the backup service reports; TypedManagedID one typed in
	// meterbridge, which wins; ManagedID the one basic mode uses.
	ReportedManagedID string `json:"reported_managed_id"`
	TypedManagedID    string `json:"typed_managed_id,omitempty"`
	ManagedID         string `json:"managed_id"`
	// CompanyName is the ConnectWise company the typed Managed ID named when it was checked.
	CompanyName string `json:"company_name,omitempty"`
	Included    bool   `json:"included"`
	// MappingID and Mapping name the addition an advanced-mode publish sets.
	MappingID string `json:"mapping_id,omitempty"`
	Mapping   string `json:"mapping,omitempty"`
	// Publish is what the next publish does with the client: "publish", "unmapped" or
	// "excluded"; Reason says why it is not published.
	Publish   string     `json:"publish"`
	Reason    string     `json:"reason,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	UpdatedBy string     `json:"updated_by,omitempty"`
}

// What the next publish does with a client (BackupClient.Publish).
const (
	ClientPublished = "publish"
	ClientUnmapped  = string(billing.Unmapped)
	ClientExcluded  = string(billing.Excluded)
)

// ClientList is a tenant's backup clients for a period.
type ClientList struct {
	Period  billing.Period `json:"period"`
	Mode    string         `json:"mode"`
	Clients []BackupClient `json:"clients"`
	Counts  ClientCounts   `json:"counts"`
}

// ClientCounts count the clients by what the next publish does with them.
type ClientCounts struct {
	Publish  int `json:"publish"`
	Unmapped int `json:"unmapped"`
	Excluded int `json:"excluded"`
}

// maxUsagePages bounds one listing of the backup service (100 clients a page).
const maxUsagePages = 500

// BackupClients lists the tenant's backup clients for the month now falls in (in the
// tenant's zone), read from the backup usage service, with what the tenant chose for each
// and what the next publish does with it (store.PlanClient, the rule the publish itself
// applies). A tenant without a backup connection gives store.ErrNotFound; failures of the
// service are *remote.Error values.
func (c *Connector) BackupClients(ctx context.Context, tenantID string, now time.Time) (ClientList, error) {
	t, err := c.store.GetTenant(ctx, tenantID)
	if err != nil {
		return ClientList{}, err
	}
	period := billing.MonthOf(now, t.Location())
	reported, err := c.reportedClients(ctx, tenantID, period)
	if err != nil {
		return ClientList{}, err
	}
	choices, err := c.store.BackupClientSettings(ctx, tenantID)
	if err != nil {
		return ClientList{}, err
	}
	mappings, err := c.store.ListMappings(ctx, tenantID, store.RoleBackup)
	if err != nil {
		return ClientList{}, err
	}
	mapped := map[string]store.Mapping{}
	for _, m := range mappings {
		if m.Item == billing.StorageItem {
			mapped[m.AccountID] = m
		}
	}
	out := ClientList{Period: period, Mode: t.Settings.Publish.Mode, Clients: []BackupClient{}}
	seen := map[string]bool{}
	add := func(bc BackupClient) {
		choice := choices[bc.ClientID]
		m, isMapped := mapped[bc.ClientID]
		plan := store.PlanClient(t.Settings.Publish.Mode, choice, bc.ReportedManagedID, isMapped)
		bc.TypedManagedID, bc.CompanyName = choice.ManagedID, choice.CompanyName
		bc.ManagedID = choice.ManagedID
		if bc.ManagedID == "" {
			bc.ManagedID = bc.ReportedManagedID
		}
		bc.Included = !choice.Excluded
		if isMapped {
			bc.MappingID = m.ID
			if m.TargetInfo.CompanyName != "" {
				bc.Mapping = m.TargetInfo.CompanyName + " / " + m.TargetInfo.AgreementName + " / " + m.TargetInfo.Product
			}
		}
		bc.UpdatedAt, bc.UpdatedBy = choice.UpdatedAt, choice.UpdatedBy
		switch plan.Skip {
		case billing.Excluded:
			bc.Publish, out.Counts.Excluded = ClientExcluded, out.Counts.Excluded+1
		case billing.Unmapped:
			bc.Publish, out.Counts.Unmapped = ClientUnmapped, out.Counts.Unmapped+1
		default:
			bc.Publish, out.Counts.Publish = ClientPublished, out.Counts.Publish+1
		}
		if !bc.Reported {
			bc.Reason = fmt.Sprintf("the backup service does not report this client for %s", period)
			if plan.Skip == "" {
				// Nothing to publish for it this month either way.
				out.Counts.Publish--
			}
		} else {
			bc.Reason = plan.Reason
		}
		seen[bc.ClientID] = true
		out.Clients = append(out.Clients, bc)
	}
	for _, r := range reported {
		gb := r.BillableGB
		add(BackupClient{ClientID: r.ClientID, Name: r.Name, Reported: true, BillableGB: &gb, ReportedManagedID: r.ManagedID})
	}
	names, err := c.store.AccountNames(ctx, tenantID, store.RoleBackup)
	if err != nil {
		return ClientList{}, err
	}
	for id := range choices {
		if !seen[id] {
			add(BackupClient{ClientID: id, Name: names[id].Name, ReportedManagedID: names[id].ManagedID})
		}
	}
	return out, nil
}

// reportedClient is one row of the backup service's usage for a month.
type reportedClient struct {
	ClientID, Name, ManagedID string
	BillableGB                decimal.Decimal
}

// ErrPSANotConfigured means the tenant has no PSA connection to check a Managed ID with.
var ErrPSANotConfigured = errors.New("the tenant has no PSA connection")

// ErrBackupNotConfigured means the tenant has no backup usage connection.
var ErrBackupNotConfigured = errors.New("the tenant has no backup usage connection")

// reportedClients reads every page of the backup service's usage for the period.
func (c *Connector) reportedClients(ctx context.Context, tenantID string, period billing.Period) ([]reportedClient, error) {
	src, err := c.Backup(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBackupNotConfigured
	}
	if err != nil {
		return nil, err
	}
	year, month := period.YearMonth()
	var out []reportedClient
	cursor := ""
	for range maxUsagePages {
		page, err := src.Usage(ctx, year, month, cursor)
		if err != nil {
			return nil, err
		}
		for _, cl := range page.Clients {
			out = append(out, reportedClient{ClientID: cl.ClientID, Name: cl.Name, ManagedID: cl.ManagedID, BillableGB: cl.BillableGB})
		}
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
	return nil, fmt.Errorf("the backup service listed more than %d pages of clients for %s", maxUsagePages, period)
}

// ErrUnknownClient means neither the backup service nor the tenant's records know the client.
var ErrUnknownClient = errors.New("the backup service reports no such client")

// ManagedIDError refuses a typed Managed ID the PSA does not know (or cannot have).
type ManagedIDError struct {
	ManagedID string
	Err       error
}

func (e *ManagedIDError) Error() string {
	return fmt.Sprintf("Managed ID %q: %v", e.ManagedID, e.Err)
}

func (e *ManagedIDError) Unwrap() error { return e.Err }

// SaveBackupClient stores what the tenant chose for one backup client: whether it is
// published, and a typed Managed ID, which must name exactly one company of the tenant's
// ConnectWise (a *ManagedIDError when it does not; the PSA's own failures as *remote.Error,
// store.ErrNotFound without a PSA connection). The client must be one the tenant's records
// or the backup service know (ErrUnknownClient). The change and its site-history row are
// written together.
func (c *Connector) SaveBackupClient(ctx context.Context, ch store.BackupClientChange, now time.Time) (BackupClient, error) {
	name, err := c.knownClient(ctx, ch.TenantID, ch.ClientID, now)
	if err != nil {
		return BackupClient{}, err
	}
	ch.ClientName = name
	if ch.ManagedID != nil && *ch.ManagedID != "" {
		co, err := c.checkManagedID(ctx, ch.TenantID, *ch.ManagedID)
		if err != nil {
			return BackupClient{}, err
		}
		// The company's own spelling of its identifier is what basic mode writes to.
		id := co.Identifier
		if id == "" {
			id = *ch.ManagedID
		}
		ch.ManagedID, ch.CompanyID, ch.CompanyName = &id, co.ID, co.Name
	}
	if _, _, err := c.store.SaveBackupClient(ctx, ch); err != nil {
		return BackupClient{}, err
	}
	list, err := c.BackupClients(ctx, ch.TenantID, now)
	if err != nil {
		return BackupClient{}, err
	}
	for _, bc := range list.Clients {
		if bc.ClientID == ch.ClientID {
			return bc, nil
		}
	}
	return BackupClient{}, ErrUnknownClient
}

// knownClient returns the client's name when the tenant's records (a stored choice, a
// reading) or the backup service for the current month know it.
func (c *Connector) knownClient(ctx context.Context, tenantID, clientID string, now time.Time) (string, error) {
	names, err := c.store.AccountNames(ctx, tenantID, store.RoleBackup)
	if err != nil {
		return "", err
	}
	if a, ok := names[clientID]; ok {
		return a.Name, nil
	}
	if _, ok, err := c.store.BackupClientSettingOf(ctx, tenantID, clientID); err != nil || ok {
		return "", err
	}
	t, err := c.store.GetTenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	reported, err := c.reportedClients(ctx, tenantID, billing.MonthOf(now, t.Location()))
	if err != nil {
		return "", err
	}
	for _, r := range reported {
		if r.ClientID == clientID {
			return r.Name, nil
		}
	}
	return "", ErrUnknownClient
}

// checkManagedID finds the one company a Managed ID names in the tenant's PSA.
func (c *Connector) checkManagedID(ctx context.Context, tenantID, managedID string) (psa.Company, error) {
	cl, err := c.PSA(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return psa.Company{}, ErrPSANotConfigured
	}
	if err != nil {
		return psa.Company{}, err
	}
	bw, ok := cl.(psa.BackupStatsWriter)
	if !ok {
		return psa.Company{}, &tenant.FieldError{Field: "managed_id",
			Reason: fmt.Sprintf("Managed IDs are ConnectWise company identifiers; this tenant's PSA is %s", cl.Kind())}
	}
	co, err := bw.DescribeManagedID(ctx, managedID)
	if err != nil {
		if remoteItemLevel(err) {
			return psa.Company{}, &ManagedIDError{ManagedID: managedID, Err: err}
		}
		return psa.Company{}, err
	}
	return co, nil
}

// ClientNotPublishableError refuses a publish of a client the backup service does not
// report for the period, or that the tenant excluded.
type ClientNotPublishableError struct {
	ClientID string
	Reason   string
}

func (e *ClientNotPublishableError) Error() string {
	return fmt.Sprintf("backup client %s cannot be published: %s", e.ClientID, e.Reason)
}

// CheckPublishable says whether a publish of one client of the period can run: the backup
// service must report it for the period, and the tenant must not have excluded it
// (*ClientNotPublishableError). The starter asks it before starting such a publish.
func (c *Connector) CheckPublishable(ctx context.Context, tenantID string, period billing.Period, clientID string) error {
	choice, _, err := c.store.BackupClientSettingOf(ctx, tenantID, clientID)
	if err != nil {
		return err
	}
	if choice.Excluded {
		return &ClientNotPublishableError{ClientID: clientID, Reason: "it is excluded from publishing; include it first"}
	}
	reported, err := c.reportedClients(ctx, tenantID, period)
	if err != nil {
		return err
	}
	for _, r := range reported {
		if r.ClientID == clientID {
			return nil
		}
	}
	return &ClientNotPublishableError{ClientID: clientID, Reason: fmt.Sprintf("the backup service does not report it for %s", period)}
}

// remoteItemLevel reports a PSA answer about the thing asked for (not found, invalid), as
// opposed to the PSA itself failing.
func remoteItemLevel(err error) bool { return remote.KindOf(err).ItemLevel() }
