package store

import "context"

// AccountCounts tallies account items by mapping status.
type AccountCounts struct {
	Total    int `json:"total"`
	Unmapped int `json:"unmapped"`
	OK       int `json:"ok"`
	Error    int `json:"error"`
}

// AccountList is a tenant's account items of one source (or all) narrowed to one mapping
// status, with the counts of every status so a client can show all tabs at once.
type AccountList struct {
	Items  []AccountItem `json:"accounts"`
	Counts AccountCounts `json:"counts"`
}

// ListAccounts returns the account items matching f; Counts ignore f.Status.
func (s *Store) ListAccounts(ctx context.Context, tenantID string, f AccountFilter) (AccountList, error) {
	all, err := s.FilterAccountItems(ctx, tenantID, AccountFilter{Source: f.Source})
	if err != nil {
		return AccountList{}, err
	}
	out := AccountList{Items: []AccountItem{}}
	for _, a := range all {
		out.Counts.Total++
		switch a.MappingStatus {
		case "unmapped":
			out.Counts.Unmapped++
		case "ok":
			out.Counts.OK++
		case "error":
			out.Counts.Error++
		}
		if f.Status == "" || a.MappingStatus == f.Status {
			out.Items = append(out.Items, a)
		}
	}
	return out, nil
}
