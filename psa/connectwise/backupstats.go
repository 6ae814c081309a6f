package connectwise

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/remote"
)

// BackupDeviceIdentifier marks the configuration meterbridge created to keep a company's
// basic-mode backup stats (its deviceIdentifier), so that of several configurations of the
// Backup Stats type on one company, meterbridge's own is the one written.
const BackupDeviceIdentifier = "meterbridge-backup-stats"

// backupRecord is where one Managed ID's backup stats live, or why that cannot be said.
type backupRecord struct {
	company Company
	config  *Configuration // nil: the company has no record yet
	err     error          // item-level *remote.Error
}

// backupLayout is a psa.BackupStatsLayout as this ConnectWise has it: the configuration
// type and the questions each figure is answered in (nil: the figure is only in the
// configuration's own backup fields).
type backupLayout struct {
	names              psa.BackupStatsLayout
	typ                ConfigurationType
	space, year, month *ConfigurationTypeQuestion
}

// resolveLayout finds the layout's configuration type and questions. A type or question
// ConnectWise does not have fails the whole call as Invalid: every client's record would
// miss it, and the message names the setting to change.
func (c *Client) resolveLayout(ctx context.Context, l psa.BackupStatsLayout) (backupLayout, error) {
	out := backupLayout{names: l}
	name := strings.TrimSpace(l.ConfigurationType)
	if name == "" {
		return out, invalid("GET "+configurationTypesPath, "backup_stats.configuration_type",
			"no configuration type is named to hold the Backup Stats records; set settings.publish.backup_stats.configuration_type")
	}
	types, err := c.ListConfigurationTypes(ctx, ListOptions{Conditions: Eq("name", name)})
	if err != nil {
		return out, err
	}
	found := false
	for _, t := range types {
		if strings.EqualFold(strings.TrimSpace(t.Name), name) && !t.InactiveFlag && (!found || t.ID < out.typ.ID) {
			out.typ, found = t, true
		}
	}
	if !found {
		return out, invalid("GET "+configurationTypesPath, "backup_stats.configuration_type",
			"ConnectWise has no active configuration type %q to hold the Backup Stats records; create it (Setup Tables, Configuration Types) or change settings.publish.backup_stats.configuration_type", name)
	}
	if l.BillableSpaceQuestion == "" && l.YearQuestion == "" && l.MonthQuestion == "" {
		return out, nil
	}
	questions, err := c.ListConfigurationTypeQuestions(ctx, out.typ.ID)
	if err != nil {
		return out, err
	}
	pick := func(setting, want string) (*ConfigurationTypeQuestion, error) {
		if want == "" {
			return nil, nil
		}
		for i := range questions {
			if strings.EqualFold(strings.TrimSpace(questions[i].Question), strings.TrimSpace(want)) && !questions[i].InactiveFlag {
				return &questions[i], nil
			}
		}
		return nil, invalid("GET "+configurationTypeQuestionsPath(out.typ.ID), "backup_stats."+setting,
			"ConnectWise configuration type %q has no active question %q; add it to the type or change settings.publish.backup_stats.%s",
			out.typ.Name, want, setting)
	}
	if out.space, err = pick("billable_space_question", l.BillableSpaceQuestion); err != nil {
		return out, err
	}
	if out.year, err = pick("year_question", l.YearQuestion); err != nil {
		return out, err
	}
	if out.month, err = pick("month_question", l.MonthQuestion); err != nil {
		return out, err
	}
	return out, nil
}

// resolveManagedIDs maps each Managed ID to its company and Backup Stats record.
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
// (managementBackups / executeManagedItSync); meterbridge only writes the figures there and
// in the type's questions, and advanced mode writes the addition quantity itself.
//
// The record is the company's configuration of the layout's type — the one the usage
// product wrote, or one meterbridge creates (marked with BackupDeviceIdentifier). Of
// several, the marked one is written; several and none (or more than one) marked fail as
// Invalid for a person to clean up, rather than guessing which one bills.
func (c *Client) resolveManagedIDs(ctx context.Context, l backupLayout, managedIDs []string) (map[string]backupRecord, error) {
	out, byCompany, companyIDs, err := c.companiesOf(ctx, managedIDs)
	if err != nil {
		return nil, err
	}
	found := map[string][]Configuration{}
	for _, chunk := range chunks(companyIDs, inChunk) {
		configs, err := c.ListConfigurations(ctx, ListOptions{Conditions: And(
			Eq("type/id", l.typ.ID),
			InInts("company/id", chunk),
		)})
		if err != nil {
			return nil, err
		}
		for _, cf := range configs {
			if id, ok := byCompany[cf.Company.ID]; ok && cf.Type.ID == l.typ.ID {
				found[id] = append(found[id], cf)
			}
		}
	}
	for id, cfs := range found {
		rec := out[id]
		pick := cfs
		if len(cfs) > 1 {
			pick = nil
			for _, cf := range cfs {
				if cf.DeviceIdentifier == BackupDeviceIdentifier {
					pick = append(pick, cf)
				}
			}
		}
		if len(pick) == 1 {
			cf := pick[0]
			rec.config = &cf
		} else {
			ids := make([]string, len(cfs))
			for i, cf := range cfs {
				ids[i] = strconv.FormatInt(cf.ID, 10)
			}
			rec.err = invalid("GET "+configurationsPath, "type",
				"company %q has %d %q configurations (%s); keep one, or give the one to write the deviceIdentifier %q",
				id, len(cfs), l.typ.Name, strings.Join(ids, ", "), BackupDeviceIdentifier)
		}
		out[id] = rec
	}
	return out, nil
}

// companiesOf finds the company of each Managed ID; those that name none (or several) carry
// their error. It also returns, for the companies found, which Managed ID named each.
func (c *Client) companiesOf(ctx context.Context, managedIDs []string) (map[string]backupRecord, map[int64]string, []int64, error) {
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
	byCompany := map[int64]string{}
	var companyIDs []int64
	if len(lookup) == 0 {
		return out, byCompany, companyIDs, nil
	}
	companies, err := c.CompaniesByIdentifier(ctx, lookup)
	if err != nil {
		return nil, nil, nil, err
	}
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
	return out, byCompany, companyIDs, nil
}

// DescribeManagedID returns the one live company whose identifier is the Managed ID: a
// Managed ID typed in meterbridge is checked with it before it is saved.
func (c *Client) DescribeManagedID(ctx context.Context, managedID string) (psa.Company, error) {
	recs, _, _, err := c.companiesOf(ctx, []string{managedID})
	if err != nil {
		return psa.Company{}, fmt.Errorf("look up Managed ID %q: %w", managedID, err)
	}
	rec := recs[managedID]
	if rec.err != nil {
		return psa.Company{}, rec.err
	}
	return psa.Company{ID: rec.company.ID, Name: rec.company.Name, Identifier: rec.company.Identifier}, nil
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
// own reading; credentials, outages and a layout ConnectWise lacks fail the call.
func (c *Client) ReadBackupStats(ctx context.Context, layout psa.BackupStatsLayout, managedIDs []string) ([]psa.BackupStatsReading, error) {
	l, err := c.resolveLayout(ctx, layout)
	if err != nil {
		return nil, fmt.Errorf("read backup stats: %w", err)
	}
	recs, err := c.resolveManagedIDs(ctx, l, managedIDs)
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
			out[i].Stats, out[i].Exists = l.statsOf(*rec.config)
		}
	}
	return out, nil
}

// statsOf reads a record's figures where the layout keeps them: a question's answer, or the
// configuration's own backup field for a figure without a question. A record missing any
// figure (or holding one that is not a number) holds no stats yet.
func (l backupLayout) statsOf(cf Configuration) (psa.BackupStats, bool) {
	var s psa.BackupStats
	answer := func(q *ConfigurationTypeQuestion) string {
		for _, a := range cf.Questions {
			if a.QuestionID == q.ID {
				return strings.TrimSpace(a.Answer.Text())
			}
		}
		return ""
	}
	if l.space != nil {
		d, err := remote.ParseDecimal(answer(l.space))
		if err != nil {
			return s, false
		}
		s.BillableSpaceGB = d
	} else if cf.BackupBillableSpaceGb != nil {
		s.BillableSpaceGB = cf.BackupBillableSpaceGb.Decimal
	} else {
		return s, false
	}
	for _, f := range []struct {
		q     *ConfigurationTypeQuestion
		field *int
		dst   *int
	}{{l.year, cf.BackupYear, &s.Year}, {l.month, cf.BackupMonth, &s.Month}} {
		switch {
		case f.q != nil:
			n, err := strconv.Atoi(answer(f.q))
			if err != nil {
				return s, false
			}
			*f.dst = n
		case f.field != nil:
			*f.dst = *f.field
		default:
			return s, false
		}
	}
	return s, true
}

// blockOf reads the configuration's own backup fields.
func blockOf(cf Configuration) (psa.BackupStats, bool) {
	return backupLayout{}.statsOf(cf)
}

// holds reports whether a record holds s everywhere the layout writes it: its questions and
// its own backup fields.
func (l backupLayout) holds(cf Configuration, s psa.BackupStats) bool {
	got, ok := l.statsOf(cf)
	block, bok := blockOf(cf)
	return ok && bok && sameStats(got, s) && sameStats(block, s)
}

// answers are the record's question answers with the layout's figures set to s; answers to
// the type's other questions are sent back as they were, so a replace keeps them.
func (l backupLayout) answers(cf *Configuration, s psa.BackupStats) []ConfigurationQuestion {
	want := map[int64]string{}
	var order []int64
	set := func(q *ConfigurationTypeQuestion, v string) {
		if q != nil {
			want[q.ID] = v
			order = append(order, q.ID)
		}
	}
	set(l.space, s.BillableSpaceGB.String())
	set(l.year, strconv.Itoa(s.Year))
	set(l.month, strconv.Itoa(s.Month))
	if len(want) == 0 {
		return nil
	}
	var out []ConfigurationQuestion
	if cf != nil {
		for _, a := range cf.Questions {
			if v, ok := want[a.QuestionID]; ok {
				out = append(out, ConfigurationQuestion{QuestionID: a.QuestionID, Answer: TextAnswer(v)})
				delete(want, a.QuestionID)
			} else if !a.Answer.IsZero() {
				out = append(out, ConfigurationQuestion{QuestionID: a.QuestionID, Answer: a.Answer})
			}
		}
	}
	for _, id := range order {
		if v, ok := want[id]; ok {
			out = append(out, ConfigurationQuestion{QuestionID: id, Answer: TextAnswer(v)})
		}
	}
	return out
}

// WriteBackupStats sets the Managed ID's record to s (creating the record the first time)
// and returns what reading it back gave.
func (c *Client) WriteBackupStats(ctx context.Context, layout psa.BackupStatsLayout, managedID string, s psa.BackupStats) (psa.BackupStats, error) {
	op := http.MethodPatch + " " + configurationsPath
	switch {
	case s.BillableSpaceGB.IsNegative():
		return psa.BackupStats{}, invalid(op, "backupBillableSpaceGb", "billable space %s is negative", s.BillableSpaceGB)
	case s.Month < 1 || s.Month > 12:
		return psa.BackupStats{}, invalid(op, "backupMonth", "month %d is not 1-12", s.Month)
	case s.Year < 2000 || s.Year > 9999:
		return psa.BackupStats{}, invalid(op, "backupYear", "year %d is out of range", s.Year)
	}
	l, err := c.resolveLayout(ctx, layout)
	if err != nil {
		return psa.BackupStats{}, fmt.Errorf("write backup stats for %q: %w", managedID, err)
	}
	recs, err := c.resolveManagedIDs(ctx, l, []string{managedID})
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
		cf, err := c.createBackupRecord(ctx, l, managedID, rec.company, s)
		if err != nil {
			return psa.BackupStats{}, fmt.Errorf("create backup stats record for %q: %w", managedID, err)
		}
		id = cf.ID
	} else {
		id = rec.config.ID
		if !l.holds(*rec.config, s) {
			ops := []PatchOp{
				Replace("backupBillableSpaceGb", space),
				Replace("backupYear", s.Year),
				Replace("backupMonth", s.Month),
			}
			if qs := l.answers(rec.config, s); qs != nil {
				ops = append(ops, Replace("questions", qs))
			}
			if _, err := c.PatchConfiguration(ctx, id, ops...); err != nil {
				return psa.BackupStats{}, fmt.Errorf("write backup stats for %q: %w", managedID, err)
			}
		}
	}
	back, err := c.GetConfiguration(ctx, id)
	if err != nil {
		return psa.BackupStats{}, fmt.Errorf("read back backup stats for %q: %w", managedID, err)
	}
	got, _ := l.statsOf(back)
	if !l.holds(back, s) {
		return got, invalid(op, "backupBillableSpaceGb", "configuration %d holds %s GB for %d-%02d after being set to %s GB for %d-%02d",
			id, got.BillableSpaceGB, got.Year, got.Month, s.BillableSpaceGB, s.Year, s.Month)
	}
	return got, nil
}

func sameStats(a, b psa.BackupStats) bool {
	return a.Year == b.Year && a.Month == b.Month && a.BillableSpaceGB.Equal(b.BillableSpaceGB)
}

// createBackupRecord creates the company's Backup Stats record holding s, named after its
// type as the usage product names it. The type must already exist: creating configuration
// types in an MSP's PSA is theirs to decide.
func (c *Client) createBackupRecord(ctx context.Context, l backupLayout, managedID string, co Company, s psa.BackupStats) (Configuration, error) {
	op := http.MethodPost + " " + configurationsPath
	space, year, month := NewNumber(s.BillableSpaceGB), s.Year, s.Month
	n := NewConfiguration{
		Name:                  l.typ.Name,
		Type:                  Ref{ID: l.typ.ID},
		Company:               Ref{ID: co.ID},
		ActiveFlag:            true,
		DeviceIdentifier:      BackupDeviceIdentifier,
		BackupBillableSpaceGb: &space,
		BackupYear:            &year,
		BackupMonth:           &month,
		Questions:             l.answers(nil, s),
	}
	return c.createConfiguration(ctx, n, func(ctx context.Context) (Configuration, bool, error) {
		recs, err := c.resolveManagedIDs(ctx, l, []string{managedID})
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
