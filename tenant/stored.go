package tenant

import (
	"encoding/json"
	"fmt"
)

// DecodeStored reads a settings document as PostgreSQL keeps it. Fields the document lacks
// take their defaults, except approval: a document written before approval was set per job
// (it holds one "approval" for both jobs, and no job's own) keeps that approval for both jobs,
// so no tenant's money starts moving without the approval it chose. Migration 00090 rewrites
// stored documents; this covers one an older process writes during a rolling upgrade.
func DecodeStored(raw []byte) (Settings, error) {
	s := Defaults()
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, err
	}
	var legacy struct {
		Approval *ApprovalSettings `json:"approval"`
		Publish  struct {
			Approval json.RawMessage `json:"approval"`
		} `json:"publish"`
		Licences struct {
			Approval json.RawMessage `json:"approval"`
		} `json:"licences"`
	}
	if err := json.Unmarshal(raw, &legacy); err != nil {
		return s, fmt.Errorf("settings approval: %w", err)
	}
	if legacy.Approval != nil {
		if legacy.Publish.Approval == nil {
			s.Publish.Approval = *legacy.Approval
		}
		if legacy.Licences.Approval == nil {
			s.Licences.Approval = *legacy.Approval
		}
	}
	if s.Notify.Emails == nil {
		s.Notify.Emails = []string{}
	}
	return s, nil
}
