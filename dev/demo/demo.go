// Package demo is the demo MSP: one consistent world across every emulator (the backup
// clients' Managed IDs are ConnectWise company identifiers, their usage differs from the
// emulated agreement additions), and the seeding of a tenant that uses it. The dev stack and
// the integration tests share it, so what a new user sees is what the tests prove.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/connect"
	atemu "github.com/meterbridge/meterbridge/dev/emulators/autotask"
	bkemu "github.com/meterbridge/meterbridge/dev/emulators/backup"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	gaemu "github.com/meterbridge/meterbridge/dev/emulators/gauges"
	liemu "github.com/meterbridge/meterbridge/dev/emulators/licenses"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote/egress"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

// TenantID is the demo tenant.
const TenantID = "demo"

// BackupClient is one demo backup client and where its storage is billed.
type BackupClient struct {
	ClientID  string
	Name      string
	ManagedID string
	UsageGB   decimal.Decimal
	Target    psa.Target
	// BilledGB is what the emulated ConnectWise addition holds before any publish.
	BilledGB decimal.Decimal
}

// BackupClients lists the demo backup clients: usage 120.75, 310.2 and 88 GB against
// additions billed at 100.5, 250 and 75.25.
func BackupClients() []BackupClient {
	usage := []string{"120.75", "310.2", "88"}
	var out []BackupClient
	for i, c := range cwemu.DemoClients() {
		out = append(out, BackupClient{
			ClientID:  fmt.Sprintf("cl_%d", 1001+i),
			Name:      c.CompanyName,
			ManagedID: c.ManagedID,
			UsageGB:   decimal.RequireFromString(usage[i]),
			Target:    psa.Target{CompanyID: c.CompanyID, AgreementID: c.AgreementID, AdditionID: c.Backup.ID},
			BilledGB:  c.Backup.Quantity,
		})
	}
	return out
}

// Licence is one demo licence count and the ConnectWise addition that bills it.
type Licence struct {
	AccountID   string
	AccountName string
	Type        string
	Units       decimal.Decimal
	// Target is the addition billing it; zero for a licence type nobody mapped.
	Target    psa.Target
	BilledQty decimal.Decimal
	Product   string
}

// Licences lists the demo licence portal's counts: some differ from the emulated additions,
// some match, and one (cloud GB) is not mapped, so a refresh shows every kind of row.
func Licences() []Licence {
	d := decimal.RequireFromString
	var out []Licence
	units := map[string]string{"LIC-SERVER/Northwind": "5", "LIC-DESKTOP/Northwind": "25", "LIC-SERVER/Contoso": "2",
		"LIC-DESKTOP/Contoso": "43", "LIC-DESKTOP/Fabrikam": "10"}
	types := map[string]string{"LIC-SERVER": liemu.TypeServer, "LIC-DESKTOP": liemu.TypeDesktop}
	for i, c := range cwemu.DemoClients() {
		acc := fmt.Sprintf("acc_%d", 1001+i)
		for _, a := range c.Licences {
			out = append(out, Licence{
				AccountID: acc, AccountName: c.CompanyName, Type: types[a.Product], Units: d(units[a.Product+"/"+c.ManagedID]),
				Target:    psa.Target{CompanyID: c.CompanyID, AgreementID: c.AgreementID, AdditionID: a.ID},
				BilledQty: a.Quantity, Product: a.Product,
			})
		}
	}
	out = append(out, Licence{AccountID: "acc_1003", AccountName: "Fabrikam, Inc.", Type: liemu.TypeCloudGB, Units: d("250.25")})
	return out
}

// World is one set of emulators holding the demo MSP.
type World struct {
	ConnectWise *cwemu.Server
	Autotask    *atemu.Server
	Backup      *bkemu.Server
	Licences    *liemu.Server
	Gauges      *gaemu.Server
}

// NewWorld builds the emulators with the demo data.
func NewWorld() *World {
	w := &World{
		ConnectWise: cwemu.NewDemo(),
		Autotask:    atemu.NewDemo(),
		Backup:      bkemu.New(bkemu.Options{APIKey: bkemu.DemoAPIKey, AccountName: "Demo MSP"}),
		Licences:    liemu.New(liemu.Options{APIToken: liemu.DemoAPIToken, OrgName: "Demo MSP"}),
		Gauges:      gaemu.NewDemo(),
	}
	for _, c := range BackupClients() {
		w.Backup.AddClient(bkemu.ClientRecord{ID: c.ClientID, Name: c.Name, ManagedID: c.ManagedID, MonthlyGB: c.UsageGB})
	}
	for _, l := range Licences() {
		w.Licences.AddAccount(liemu.Account{ID: l.AccountID, Name: l.AccountName})
		if err := w.Licences.SetUnits(l.AccountID, l.Type, l.Units); err != nil {
			panic(err)
		}
	}
	return w
}

// URLs are where a world's emulators listen.
type URLs struct {
	ConnectWise string
	Autotask    string
	Backup      string
	Licences    string
	Gauges      string
}

// Options shape the seeded tenant.
type Options struct {
	TenantID string
	// Emails receive notifications.
	Emails []string
	// Actor is recorded as who made the seeded changes.
	Actor string
}

// Seed creates the demo tenant with its connections and mappings when it does not exist. It
// returns false when the tenant was already there (a restarted dev stack keeps what people
// changed).
func Seed(ctx context.Context, s *store.Store, urls URLs, opts Options) (bool, error) {
	if opts.TenantID == "" {
		opts.TenantID = TenantID
	}
	if opts.Actor == "" {
		opts.Actor = "demo-seed"
	}
	settings := tenant.Defaults()
	settings.Publish.Mode = tenant.ModeAdvanced
	// The demo asks a person to approve its usage publishes (a new tenant's publish needs
	// no approval), so the walk-through shows the pending step; licence syncs wait for a
	// person by default.
	settings.Publish.Approval.Mode = tenant.ApproveManual
	settings.Licences.Approval.Mode = tenant.ApproveManual
	settings.Notify.Emails = append([]string{}, opts.Emails...)
	t := tenant.Tenant{ID: opts.TenantID, Name: "Demo MSP", TimeZone: "Europe/London", Settings: settings}
	if _, err := s.CreateTenant(ctx, t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return false, nil
		}
		return false, err
	}
	creds := cwemu.DefaultCredentials
	conns := []struct {
		role, provider string
		fields         map[string]any
	}{
		{store.RolePSA, string(psa.ConnectWise), map[string]any{
			"site_url": urls.ConnectWise, "company_id": creds.CompanyID, "public_key": creds.PublicKey,
			"private_key": creds.PrivateKey, "client_id": creds.ClientID,
		}},
		{store.RoleBackup, "backup", map[string]any{"base_url": urls.Backup, "api_key": bkemu.DemoAPIKey}},
		{store.RoleLicenses, "licenses", map[string]any{"base_url": urls.Licences, "api_key": liemu.DemoAPIToken}},
		{store.RoleGauges, "gauges", map[string]any{"base_url": urls.Gauges, "client_id": gaemu.DemoClientID, "client_secret": gaemu.DemoClientSecret}},
	}
	// The emulators answer on loopback over http, which only the dev stack's outbound policy
	// (METERBRIDGE_ALLOW_PRIVATE_TARGETS) allows.
	conn := connect.New(s, egress.New(egress.Options{AllowPrivate: true}))
	for _, c := range conns {
		if c.fields == nil {
			continue
		}
		raw, _ := json.Marshal(c.fields)
		p, err := conn.Prepare(c.role, c.provider, raw)
		if err != nil {
			return false, fmt.Errorf("demo %s connection: %w", c.role, err)
		}
		if err := s.PutConnection(ctx, store.Connection{TenantID: opts.TenantID, Role: c.role, Provider: c.provider,
			Config: p.Config, Secret: p.Secret, UpdatedBy: opts.Actor}); err != nil {
			return false, err
		}
	}
	for _, c := range BackupClients() {
		m := store.Mapping{
			TenantID: opts.TenantID, ID: "backup-" + c.ClientID, Source: "backup", AccountID: c.ClientID, Item: billing.StorageItem,
			Target:     c.Target,
			TargetInfo: psa.TargetInfo{Target: c.Target, CompanyName: c.Name, AgreementName: c.Name + " - Managed Services", Product: "BKP-GB"},
		}
		if _, _, err := s.PutMapping(ctx, m, opts.Actor); err != nil {
			return false, fmt.Errorf("demo mapping %s: %w", m.ID, err)
		}
	}
	for _, l := range Licences() {
		if l.Target == (psa.Target{}) {
			continue
		}
		m := store.Mapping{
			TenantID: opts.TenantID, ID: "licence-" + l.AccountID + "-" + l.Type, Source: "licenses", AccountID: l.AccountID, Item: l.Type,
			Target:     l.Target,
			TargetInfo: psa.TargetInfo{Target: l.Target, CompanyName: l.AccountName, AgreementName: l.AccountName + " - Managed Services", Product: l.Product},
		}
		if _, _, err := s.PutMapping(ctx, m, opts.Actor); err != nil {
			return false, fmt.Errorf("demo mapping %s: %w", m.ID, err)
		}
	}
	if err := s.AddHistory(ctx, opts.TenantID, store.SeverityInfo, opts.Actor, "tenant.seeded",
		"demo tenant created with ConnectWise, backup, licence and gauge connections, backup and licence mappings", nil); err != nil {
		return false, err
	}
	return true, nil
}
