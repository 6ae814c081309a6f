package connectwise

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

// BackupDeviceIdentifier marks the configuration meterbridge keeps a company's basic-mode
// backup stats on (its deviceIdentifier).
const BackupDeviceIdentifier = "meterbridge-backup-stats"

// backupConfigName is the name people see on that configuration.
const backupConfigName = "Backup Stats (meterbridge)"

// backupRecord is where one Managed ID's backup stats live, or why that cannot be said.
type backupRecord struct {
	company Company
	config  *Configuration // nil: the company has no record yet
	err     error          // item-level *remote.Error
}

// resolveManagedIDs maps each Managed ID to its company and backup-stats configuration.
// This is the one place that decides what a Managed ID means in ConnectWise.
//
// Unconfirmed: how the real product ties a Managed ID to a company. We read it as the
// company identifier (the short unique key ConnectWise shows as "Company ID"), matched
// exactly (case-insensitively, like the server's collation), deleted companies excluded.
// It is the most defensive reading: an identifier is unique per PSA, so a Managed ID can
// never land on two companies, and a wrong one finds nothing and fails alone (NotFound)
// rather than matching by a fuzzy name.
//
// Unconfirmed too: whether ConnectWise bills anything from a configuration's backup fields
// (managementBackups / executeManagedItSync); meterbridge only writes the figures there,
// and advanced mode writes the addition quantity itself.
//
// The record is the company's configuration whose deviceIdentifier is
// BackupDeviceIdentifier: one meterbridge creates (of type Config.BackupConfigType) and
// owns. Stats written by another integration onto other configurations are never
// overwritten; two records marked as ours fail as Invalid for a person to clean up.
func (c *Client) resolveManagedIDs(ctx context.Context, managedIDs []string) (map[string]backupRecord, error) {
	const op = "GET " + companiesPath
	out := make(map[string]backupRecord, len(managedIDs))
	var lookup []string
	for _, id := range managedIDs {
		if _, seen := out[id]; seen {
			continue
		}
		if err := checkManagedID(id); err != nil {
			out[id] = backupRecord{err: notFound(op, "Managed ID %q cannot be a ConnectWise company identifier: %s", id, err)}
			continue
		}
		out[id] = backupRecord{}
		lookup = append(lookup, id)
	}
	if len(lookup) == 0 {
		return out, nil
	}
	companies, err := c.CompaniesByIdentifier(ctx, lookup)
	if err != nil {
		return nil, err
	}
	byCompany := map[int64]string{}
	var companyIDs []int64
	for _, id := range lookup {
		var live []Company
		for _, co := range companies[id] {
			if !co.DeletedFlag {
				live = append(live, co)
			}
		}
		switch len(live) {
		case 0:
			out[id] = backupRecord{err: notFound(op, "no company has Managed ID (identifier) %q", id)}
		case 1:
			out[id] = backupRecord{company: live[0]}
			byCompany[live[0].ID] = id
			companyIDs = append(companyIDs, live[0].ID)
		default:
			out[id] = backupRecord{err: invalid(op, "identifier", "%d companies have Managed ID (identifier) %q", len(live), id)}
		}
	}
	for _, chunk := range chunks(companyIDs, inChunk) {
		configs, err := c.ListConfigurations(ctx, ListOptions{Conditions: And(
			Eq("deviceIdentifier", BackupDeviceIdentifier),
			InInts("company/id", chunk),
		)})
		if err != nil {
			return nil, err
		}
		for _, cf := range configs {
			id, ok := byCompany[cf.Company.ID]
			if !ok || cf.DeviceIdentifier != BackupDeviceIdentifier {
				continue
			}
			rec := out[id]
			if rec.config != nil {
				rec.err = invalid("GET "+configurationsPath, "deviceIdentifier",
					"company %q has several %q configurations (%d and %d)", id, BackupDeviceIdentifier, rec.config.ID, cf.ID)
			} else {
				cf := cf
				rec.config = &cf
			}
			out[id] = rec
		}
	}
	return out, nil
}

// checkManagedID refuses what no company identifier can be (ConnectWise allows 30 characters).
func checkManagedID(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return fmt.Errorf("it is empty")
	case len(id) > 30:
		return fmt.Errorf("it is longer than 30 characters")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("it holds a control character")
		}
	}
	return nil
}

// ReadBackupStats reads the record each Managed ID holds. A wrong Managed ID fails only its
// own reading; credentials and outages fail the call.
func (c *Client) ReadBackupStats(ctx context.Context, managedIDs []string) ([]psa.BackupStatsReading, error) {
	recs, err := c.resolveManagedIDs(ctx, managedIDs)
	if err != nil {
		return nil, fmt.Errorf("read backup stats: %w", err)
	}
	out := make([]psa.BackupStatsReading, len(managedIDs))
	for i, id := range managedIDs {
		rec := recs[id]
		out[i].ManagedID = id
		switch {
		case rec.err != nil:
			out[i].Err = rec.err
		case rec.config != nil:
			out[i].Stats, out[i].Exists = statsOf(*rec.config)
		}
	}
	return out, nil
}

// statsOf reads the backup block; a record without year and month holds no stats yet.
func statsOf(cf Configuration) (psa.BackupStats, bool) {
	if cf.BackupYear == nil || cf.BackupMonth == nil {
		return psa.BackupStats{}, false
	}
	s := psa.BackupStats{Year: *cf.BackupYear, Month: *cf.BackupMonth}
	if cf.BackupBillableSpaceGb != nil {
		s.BillableSpaceGB = cf.BackupBillableSpaceGb.Decimal
	}
	return s, true
}

// WriteBackupStats sets the Managed ID's record to s (creating the record the first time)
// and returns what reading it back gave.
func (c *Client) WriteBackupStats(ctx context.Context, managedID string, s psa.BackupStats) (psa.BackupStats, error) {
	op := http.MethodPatch + " " + configurationsPath
	switch {
	case s.BillableSpaceGB.IsNegative():
		return psa.BackupStats{}, invalid(op, "backupBillableSpaceGb", "billable space %s is negative", s.BillableSpaceGB)
	case s.Month < 1 || s.Month > 12:
		return psa.BackupStats{}, invalid(op, "backupMonth", "month %d is not 1-12", s.Month)
	case s.Year < 2000 || s.Year > 9999:
		return psa.BackupStats{}, invalid(op, "backupYear", "year %d is out of range", s.Year)
	}
	recs, err := c.resolveManagedIDs(ctx, []string{managedID})
	if err != nil {
		return psa.BackupStats{}, fmt.Errorf("write backup stats for %q: %w", managedID, err)
	}
	rec := recs[managedID]
	if rec.err != nil {
		return psa.BackupStats{}, rec.err
	}
	space := NewNumber(s.BillableSpaceGB)
	var id int64
	if rec.config == nil {
		cf, err := c.createBackupRecord(ctx, managedID, rec.company, s)
		if err != nil {
			return psa.BackupStats{}, fmt.Errorf("create backup stats record for %q: %w", managedID, err)
		}
		id = cf.ID
	} else {
		id = rec.config.ID
		if have, ok := statsOf(*rec.config); !ok || !sameStats(have, s) {
			_, err := c.PatchConfiguration(ctx, id,
				Replace("backupBillableSpaceGb", space),
				Replace("backupYear", s.Year),
				Replace("backupMonth", s.Month))
			if err != nil {
				return psa.BackupStats{}, fmt.Errorf("write backup stats for %q: %w", managedID, err)
			}
		}
	}
	back, err := c.GetConfiguration(ctx, id)
	if err != nil {
		return psa.BackupStats{}, fmt.Errorf("read back backup stats for %q: %w", managedID, err)
	}
	got, ok := statsOf(back)
	if !ok || !sameStats(got, s) {
		return got, invalid(op, "backupBillableSpaceGb", "configuration %d holds %s GB for %d-%02d after being set to %s GB for %d-%02d",
			id, got.BillableSpaceGB, got.Year, got.Month, s.BillableSpaceGB, s.Year, s.Month)
	}
	return got, nil
}

func sameStats(a, b psa.BackupStats) bool {
	return a.Year == b.Year && a.Month == b.Month && a.BillableSpaceGB.Equal(b.BillableSpaceGB)
}

// createBackupRecord creates the company's backup-stats configuration holding s. The type
// must already exist: creating configuration types in an MSP's PSA is theirs to decide.
func (c *Client) createBackupRecord(ctx context.Context, managedID string, co Company, s psa.BackupStats) (Configuration, error) {
	op := http.MethodPost + " " + configurationsPath
	types, err := c.ListConfigurationTypes(ctx, ListOptions{Conditions: Eq("name", c.cfg.BackupConfigType)})
	if err != nil {
		return Configuration{}, err
	}
	var typ *ConfigurationType
	for i := range types {
		if strings.EqualFold(types[i].Name, c.cfg.BackupConfigType) && !types[i].InactiveFlag {
			typ = &types[i]
			break
		}
	}
	if typ == nil {
		return Configuration{}, invalid(op, "backup_config_type",
			"ConnectWise has no active configuration type %q to hold backup stats; create it or choose another", c.cfg.BackupConfigType)
	}
	space, year, month := NewNumber(s.BillableSpaceGB), s.Year, s.Month
	n := NewConfiguration{
		Name:                  backupConfigName,
		Type:                  Ref{ID: typ.ID},
		Company:               Ref{ID: co.ID},
		ActiveFlag:            true,
		DeviceIdentifier:      BackupDeviceIdentifier,
		BackupBillableSpaceGb: &space,
		BackupYear:            &year,
		BackupMonth:           &month,
	}
	return c.createConfiguration(ctx, n, func(ctx context.Context) (Configuration, bool, error) {
		recs, err := c.resolveManagedIDs(ctx, []string{managedID})
		if err != nil {
			return Configuration{}, false, err
		}
		rec := recs[managedID]
		switch {
		case rec.err != nil:
			return Configuration{}, false, rec.err
		case rec.company.ID != co.ID:
			return Configuration{}, false, &remote.Error{Kind: remote.Invalid, Service: service, Op: op,
				Message: fmt.Sprintf("Managed ID %q moved from company %d to %d while publishing", managedID, co.ID, rec.company.ID)}
		case rec.config != nil:
			return *rec.config, true, nil
		}
		return Configuration{}, false, nil
	})
}
