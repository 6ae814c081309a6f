package connectwise

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

const (
	configurationsPath     = "/company/configurations"
	configurationTypesPath = "/company/configurations/types"
)

// configurationTypeQuestionsPath lists the questions of a configuration type.
func configurationTypeQuestionsPath(typeID int64) string {
	return fmt.Sprintf("%s/%d/questions", configurationTypesPath, typeID)
}

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
	// Questions are the answers to the configuration type's questions.
	Questions []ConfigurationQuestion `json:"questions,omitempty"`
	Info      Info                    `json:"_info"`
}

// ConfigurationQuestion is one question of a configuration's type and its answer on the
// configuration. Written, only QuestionID and Answer matter.
type ConfigurationQuestion struct {
	AnswerID   int64  `json:"answerId,omitempty"`
	QuestionID int64  `json:"questionId"`
	Question   string `json:"question,omitempty"`
	// Answer is a string, number or boolean by the question's field type; Text reads it.
	Answer    Answer `json:"answer,omitzero"`
	FieldType string `json:"fieldType,omitempty"`
}

// Answer is a question's answer as the API sends it: a JSON string, number or boolean
// (the spec leaves the type to the question's field type). It is written as a string.
type Answer struct{ raw json.RawMessage }

// TextAnswer is an answer of text s.
func TextAnswer(s string) Answer {
	b, _ := json.Marshal(s)
	return Answer{raw: b}
}

// IsZero reports an absent answer (so omitempty leaves it out).
func (a Answer) IsZero() bool { return len(a.raw) == 0 }

// Text returns the answer as text: a string as it is, a number or boolean as written; ""
// for no answer.
func (a Answer) Text() string {
	b := bytes.TrimSpace(a.raw)
	switch {
	case len(b) == 0, bytes.Equal(b, []byte("null")):
		return ""
	case b[0] == '"':
		s, err := strconv.Unquote(string(b))
		if err != nil {
			var out string
			_ = json.Unmarshal(b, &out)
			return out
		}
		return s
	}
	return string(b)
}

// MarshalJSON writes the answer as received, or null.
func (a Answer) MarshalJSON() ([]byte, error) {
	if len(a.raw) == 0 {
		return []byte("null"), nil
	}
	return a.raw, nil
}

// UnmarshalJSON keeps the answer as sent.
func (a *Answer) UnmarshalJSON(b []byte) error {
	a.raw = append(json.RawMessage(nil), b...)
	return nil
}

// ConfigurationTypeQuestion is one question a configuration type asks of its
// configurations ("Billable Space").
type ConfigurationTypeQuestion struct {
	ID           int64  `json:"id"`
	Question     string `json:"question"`
	FieldType    string `json:"fieldType"`
	InactiveFlag bool   `json:"inactiveFlag"`
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
	// Questions answers questions of the type: QuestionID and Answer.
	Questions []ConfigurationQuestion `json:"questions,omitempty"`
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

// ListConfigurationTypeQuestions reads every question of a configuration type.
func (c *Client) ListConfigurationTypeQuestions(ctx context.Context, typeID int64) ([]ConfigurationTypeQuestion, error) {
	return list[ConfigurationTypeQuestion](ctx, c, configurationTypeQuestionsPath(typeID), ListOptions{})
}
