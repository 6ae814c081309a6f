package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
)

type createTenantRequest struct {
	ID       string           `json:"id" binding:"required,tenant_id"`
	Name     string           `json:"name" binding:"required,min=1,max=100"`
	TimeZone string           `json:"time_zone" binding:"required,iana_tz"`
	Settings *tenant.Settings `json:"settings"`
}

// tenantView is what GET answers: the tenant and its connections, never their secrets, and
// its schedules' next three runs.
type tenantView struct {
	tenant.Tenant
	Connections []store.ConnectionStatus `json:"connections"`
	Schedules   []starter.ScheduleInfo   `json:"schedules,omitempty"`
	// SchedulesError says why Schedules is missing.
	SchedulesError string `json:"schedules_error,omitempty"`
	// PublishPeriod (PATCH) says what the change means for this month's automatic publish.
	PublishPeriod *starter.PublishNotice `json:"publish_period,omitempty"`
}

func (s *server) createTenant(c *gin.Context) {
	var req createTenantRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	t := tenant.Tenant{ID: req.ID, Name: req.Name, TimeZone: req.TimeZone, Settings: tenant.Defaults()}
	if req.Settings != nil {
		t.Settings = *req.Settings
	}
	if err := t.Settings.Validate(); err != nil {
		fail(c, err)
		return
	}
	if err := s.checkWebhook("", t.Settings); err != nil {
		fail(c, err)
		return
	}
	created, err := s.store.CreateTenant(c.Request.Context(), t)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, created.ID, "tenant.created", "tenant "+created.ID+" created", nil)
	s.adminAudit(c, "tenant.created", created.ID, "tenant "+created.ID+" created", nil)
	if err := s.starter.SyncSchedules(c.Request.Context(), created); err != nil {
		logger(c).Error("schedules not created", "tenant", created.ID, "err", err)
		fail(c, &apiError{Status: http.StatusServiceUnavailable, Code: "schedules_not_updated",
			Message: "the tenant was created, but its schedules could not be created in Temporal; repeat with PATCH", RetryAfter: 5 * time.Second})
		return
	}
	c.JSON(http.StatusCreated, tenantView{Tenant: created, Connections: []store.ConnectionStatus{}})
}

func (s *server) getTenant(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	t, err := s.store.GetTenant(c.Request.Context(), c.Param("tenant"))
	if err != nil {
		fail(c, err)
		return
	}
	view, err := s.tenantView(c, t)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view)
}

// tenantView is the tenant as GET and PATCH answer it: its connections and its schedules'
// next runs as Temporal computes them (left out, with a note, when Temporal does not answer).
func (s *server) tenantView(c *gin.Context, t tenant.Tenant) (tenantView, error) {
	conns, err := s.store.ConnectionStatuses(c.Request.Context(), t.ID)
	if err != nil {
		return tenantView{}, err
	}
	if conns == nil {
		conns = []store.ConnectionStatus{}
	}
	if !caller(c).IsAdmin() {
		// Chat webhooks carry their secret in the path; only admins, who set it, see it whole.
		t.Settings.Notify.WebhookURL = maskURL(t.Settings.Notify.WebhookURL)
	}
	v := tenantView{Tenant: t, Connections: conns}
	v.Schedules, err = s.starter.TenantSchedules(c.Request.Context(), t.ID, 3)
	if err != nil {
		logger(c).Warn("schedules not described", "tenant", t.ID, "err", err)
		v.Schedules, v.SchedulesError = nil, "Temporal did not answer; the schedules' next runs are unknown"
	}
	return v, nil
}

// checkWebhook applies the outbound policy to a webhook URL that is new or changed (from
// before): a refused one is a 422 naming the field. An unchanged one is left alone, so a
// tightened policy does not block unrelated changes; its use is refused all the same.
func (s *server) checkWebhook(before string, next tenant.Settings) error {
	u := next.Notify.WebhookURL
	if u == "" || u == before {
		return nil
	}
	if err := s.connect.Policy().CheckURL(u); err != nil {
		return &tenant.FieldError{Field: "settings.notify.webhook_url", Reason: err.Error()}
	}
	return nil
}

// maskURL keeps a URL's scheme and host and hides the rest.
func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(hidden)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// patchableTenant is the part of a tenant PATCH may change. The body is a JSON merge patch
// (RFC 7396) over it: send only what changes, null to reset a setting to its zero value.
type patchableTenant struct {
	Name     string          `json:"name" binding:"required,min=1,max=100"`
	TimeZone string          `json:"time_zone" binding:"required,iana_tz"`
	Settings tenant.Settings `json:"settings"`
}

func (s *server) patchTenant(c *gin.Context) {
	var patch map[string]any
	if err := bindJSON(c, &patch); err != nil {
		fail(c, err)
		return
	}
	missed, err := takeMissedPeriod(patch)
	if err != nil {
		fail(c, err)
		return
	}
	var changed []string
	res, err := s.starter.UpdateSettings(c.Request.Context(), starter.SettingsUpdate{
		TenantID: c.Param("tenant"), Actor: caller(c).Email, MissedPeriod: missed,
		Details: map[string]any{"request_id": requestID(c)},
		Change: func(t *tenant.Tenant) error {
			next, differs, err := applyTenantPatch(patchableTenant{Name: t.Name, TimeZone: t.TimeZone, Settings: t.Settings}, patch)
			if err != nil {
				return err
			}
			if err := s.checkWebhook(t.Settings.Notify.WebhookURL, next.Settings); err != nil {
				return err
			}
			if differs {
				changed = topLevelKeys(patch)
			}
			t.Name, t.TimeZone, t.Settings = next.Name, next.TimeZone, next.Settings
			return nil
		},
	})
	saved := res.After.ID != ""
	if saved && len(changed) > 0 {
		s.audit(c, res.After.ID, "settings.saved", "settings saved", map[string]any{"changed": changed})
		// Recorded now: the answer may still be a 503 (schedules), but the change stands.
		s.adminAudit(c, "settings.saved", res.After.ID, "settings saved", map[string]any{"changed": changed})
	}
	var choice *starter.MissedPeriodChoiceError
	var catchUp *starter.CatchUpError
	switch {
	case errors.As(err, &choice):
		e := errConflict("missed_period_choice_required", "%s", choice.Error())
		e.Field, e.Extra = "missed_period", map[string]any{"publish_period": choice.Notice}
		fail(c, e)
		return
	case errors.As(err, &catchUp):
		fail(c, &apiError{Status: http.StatusServiceUnavailable, Code: "publish_not_started", Message: catchUp.Error(),
			RetryAfter: 5 * time.Second, Extra: map[string]any{"publish_period": res.Publish}})
		return
	case err != nil && saved:
		// The schedules follow the settings. If Temporal does not answer, the settings stay
		// saved, scheduled runs read them when they start (a run of a schedule turned off or
		// changed since does nothing), and the worker syncs the schedules when it next starts.
		e := &apiError{Status: http.StatusServiceUnavailable, Code: "schedules_not_updated",
			Message: "settings were saved, but the schedules could not be updated in Temporal; repeat the request", RetryAfter: 5 * time.Second}
		if res.Publish != nil {
			e.Extra = map[string]any{"publish_period": res.Publish}
		}
		fail(c, e)
		return
	case err != nil:
		fail(c, err)
		return
	}
	view, err := s.tenantView(c, res.After)
	if err != nil {
		fail(c, err)
		return
	}
	view.PublishPeriod = res.Publish
	c.JSON(http.StatusOK, view)
}

// takeMissedPeriod removes "missed_period" (what to do with a month whose publish the change
// takes away; see starter.PublishNotice) from a tenant PATCH: it is a choice, not a setting.
func takeMissedPeriod(patch map[string]any) (string, error) {
	v, ok := patch["missed_period"]
	if !ok {
		return "", nil
	}
	delete(patch, "missed_period")
	s, ok := v.(string)
	if !ok || (s != starter.PublishNow && s != starter.SkipPeriod) {
		return "", errInvalid("missed_period", "must be %q or %q", starter.PublishNow, starter.SkipPeriod)
	}
	return s, nil
}

// applyTenantPatch merges patch over cur and validates the result as a whole (binding tags
// and Settings.Validate); differs says whether anything changed. It is pure, so the fuzz
// tests drive it.
func applyTenantPatch(cur patchableTenant, patch map[string]any) (next patchableTenant, differs bool, err error) {
	if settings, ok := patch["settings"].(map[string]any); ok {
		if _, legacy := settings["approval"]; legacy {
			// One approval for both jobs is gone; say where it went rather than "unknown field".
			return next, false, errInvalid("settings.approval",
				"approval is set per job: use settings.publish.approval for usage publishes and settings.licences.approval for licence syncs")
		}
	}
	before, err := json.Marshal(cur)
	if err != nil {
		return next, false, err
	}
	var doc map[string]any
	if err := json.Unmarshal(before, &doc); err != nil {
		return next, false, err
	}
	merged, err := json.Marshal(mergePatch(doc, patch))
	if err != nil {
		return next, false, err
	}
	if err := decodeStrict(merged, &next); err != nil {
		return next, false, err
	}
	if err := validate(&next); err != nil {
		return next, false, err
	}
	if err := next.Settings.Validate(); err != nil {
		return next, false, err
	}
	return next, !bytes.Equal(before, mustJSON(next)), nil
}

// mergePatch applies an RFC 7396 JSON merge patch to doc.
func mergePatch(doc map[string]any, patch map[string]any) map[string]any {
	if doc == nil {
		doc = map[string]any{}
	}
	for k, pv := range patch {
		if pv == nil {
			delete(doc, k)
			continue
		}
		if pm, ok := pv.(map[string]any); ok {
			dm, _ := doc[k].(map[string]any)
			doc[k] = mergePatch(dm, pm)
			continue
		}
		doc[k] = pv
	}
	return doc
}

func topLevelKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// audit writes a site-history row for a state-changing request, naming the caller.
// It marks the request as audited, so the router's auditTrail adds no generic row.
func (s *server) audit(c *gin.Context, tenantID, action, message string, details map[string]any) {
	c.Set(auditedKey, true)
	details = auditDetails(c, details)
	if err := s.store.AddHistory(c.Request.Context(), tenantID, store.SeverityInfo, caller(c).Email, action, message, details); err != nil {
		logger(c).Error("site history not written", "err", err, "action", action)
	}
}

// MaskURL is how a chat webhook shows to readers who are not admins: scheme and host only.
func MaskURL(raw string) string { return maskURL(raw) }
