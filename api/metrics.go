package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/store"
)

type createMetricRequest struct {
	Name string `json:"name" binding:"required,max=100"`
	// OwnerEmail defaults to the caller's (the token owner's) e-mail.
	OwnerEmail string `json:"owner_email" binding:"omitempty,mailaddr"`
	// TimeZone defaults to the zone the caller's token carries, then the tenant's.
	TimeZone string `json:"time_zone" binding:"omitempty,iana_tz"`
	GaugeID  string `json:"gauge_id" binding:"required,max=200"`
	// Schedule replaces the default (daily at 06:00 in time_zone).
	Schedule *scorecard.Schedule `json:"schedule"`
}

// metricView is a metric as the API shows it, with where its calendar stands now.
type metricView struct {
	store.Metric
	DefaultSchedule bool           `json:"default_schedule"`
	CurrentWeek     scorecard.Week `json:"current_week"`
	// NextSnapshotAt is when the schedule next reads the gauge (the loop's armed timer).
	NextSnapshotAt time.Time `json:"next_snapshot_at"`
	// SyncAvailableAt is when sync now may run again; absent when it may run now.
	SyncAvailableAt *time.Time `json:"sync_available_at,omitempty"`
}

func viewMetric(m store.Metric, now time.Time) metricView {
	loc, err := scorecard.LoadZone(m.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	v := metricView{Metric: m, DefaultSchedule: m.Schedule.IsDefault(), CurrentWeek: scorecard.WeekOf(now, loc),
		NextSnapshotAt: scorecard.NextSnapshot(now, loc, m.Schedule).UTC()}
	if m.LastSyncAt != nil {
		if next := m.LastSyncAt.Add(scorecard.SyncWindow); next.After(now) {
			v.SyncAvailableAt = &next
		}
	}
	return v
}

// checkinView is a week's check-in with its calendar days.
type checkinView struct {
	store.Checkin
	WeekStart  string `json:"week_start"`
	WeekEnd    string `json:"week_end"`
	Overridden bool   `json:"overridden"`
}

func viewCheckin(c store.Checkin) checkinView {
	return checkinView{Checkin: c, WeekStart: c.Week.Monday().Format(time.DateOnly), WeekEnd: c.Week.Sunday().Format(time.DateOnly), Overridden: c.Overridden()}
}

func (s *server) createMetric(c *gin.Context) {
	var req createMetricRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if err := checkText("name", req.Name); err != nil {
		fail(c, err)
		return
	}
	if err := checkText("gauge_id", req.GaugeID); err != nil {
		fail(c, err)
		return
	}
	sched := scorecard.DefaultSchedule()
	if req.Schedule != nil {
		sched = req.Schedule.Normalize()
		if err := sched.Validate("schedule"); err != nil {
			fail(c, err)
			return
		}
	}
	tenantID := c.Param("tenant")
	if err := s.requireGaugeConnection(c, tenantID); err != nil {
		fail(c, err)
		return
	}
	m, err := s.starter.CreateMetric(c.Request.Context(), starter.NewMetric{
		TenantID: tenantID, Name: req.Name, OwnerEmail: req.OwnerEmail, TimeZone: req.TimeZone,
		GaugeID: req.GaugeID, Schedule: sched, CreatedBy: caller(c).Email, CreatorTokenID: caller(c).TokenID,
	})
	var notTold *starter.LoopNotToldError
	if err != nil && !errors.As(err, &notTold) {
		fail(c, metricError(err))
		return
	}
	c.Set(auditedKey, true) // the store wrote "metric.created" with the change
	c.Header("Location", "/api/v1/tenants/"+tenantID+"/metrics/"+m.ID)
	answer := gin.H{"metric": viewMetric(m, time.Now())}
	if notTold == nil {
		answer["first_snapshot"] = gin.H{"status": "requested",
			"message": "the snapshot loop reads the gauge now (retrying while the gauge service does not answer); GET …/checkins shows the value"}
	} else {
		// The metric is stored (a repeated request would make a second one); its loop starts
		// when the worker next starts, or with the metric's next change.
		logger(c).Warn("snapshot loop not started", "metric", m.ID, "err", notTold.Err)
		answer["warning"] = gin.H{"code": "snapshot_loop_not_started",
			"message": "the metric is saved, but its snapshot loop could not be started in Temporal; it starts when the worker next starts, or when the metric is next changed (PATCH)"}
	}
	c.JSON(http.StatusCreated, answer)
}

// requireGaugeConnection refuses a metric for a tenant that has no gauge service to read.
func (s *server) requireGaugeConnection(c *gin.Context, tenantID string) error {
	conns, err := s.store.ConnectionStatuses(c.Request.Context(), tenantID)
	if err != nil {
		return err
	}
	for _, cs := range conns {
		if cs.Role == store.RoleGauges {
			return nil
		}
	}
	return errConflict("not_configured", "the tenant has no gauge service connection; PUT /api/v1/tenants/%s/sources/gauges first", tenantID)
}

func (s *server) listMetrics(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	ms, err := s.store.ListMetrics(c.Request.Context(), c.Param("tenant"))
	if err != nil {
		fail(c, err)
		return
	}
	now := time.Now()
	out := make([]metricView, 0, len(ms))
	for _, m := range ms {
		out = append(out, viewMetric(m, now))
	}
	c.JSON(http.StatusOK, gin.H{"metrics": out})
}

func (s *server) getMetric(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	m, err := s.store.GetMetric(c.Request.Context(), c.Param("tenant"), c.Param("metric"))
	if err != nil {
		fail(c, metricError(err))
		return
	}
	c.JSON(http.StatusOK, gin.H{"metric": viewMetric(m, time.Now())})
}

// patchMetricRequest changes what is given: name, time_zone, schedule (null restores the
// default).
type patchMetricRequest struct {
	Name     *string         `json:"name"`
	TimeZone *string         `json:"time_zone" binding:"omitempty,iana_tz"`
	Schedule json.RawMessage `json:"schedule"`
}

func (s *server) patchMetric(c *gin.Context) {
	var req patchMetricRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	ch := starter.MetricChange{TimeZone: req.TimeZone, Actor: caller(c).Email}
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		if err := checkText("name", name); err != nil {
			fail(c, err)
			return
		}
		if len(name) > 100 {
			fail(c, errInvalid("name", "must be at most 100"))
			return
		}
		ch.Name = &name
	}
	if req.TimeZone != nil && *req.TimeZone == "" {
		fail(c, errInvalid("time_zone", "must be an IANA time zone name such as Europe/Berlin"))
		return
	}
	if req.Schedule != nil {
		sched := scorecard.DefaultSchedule()
		if !bytes.Equal(bytes.TrimSpace(req.Schedule), []byte("null")) {
			var body scorecard.Schedule
			if err := decodeStrict(req.Schedule, &body); err != nil {
				fail(c, prefixField(err, "schedule"))
				return
			}
			sched = body.Normalize()
			if err := sched.Validate("schedule"); err != nil {
				fail(c, err)
				return
			}
		}
		ch.Schedule = &sched
	}
	m, err := s.starter.ChangeMetric(c.Request.Context(), c.Param("tenant"), c.Param("metric"), ch)
	if err != nil {
		fail(c, metricError(err))
		return
	}
	if ch.Schedule != nil || ch.TimeZone != nil {
		c.Set(auditedKey, true) // the store wrote "metric.schedule_changed" when it changed
	}
	c.JSON(http.StatusOK, gin.H{"metric": viewMetric(m, time.Now())})
}

// syncMetric is "sync now": 200 with the week's check-in when the loop read the gauge, 202
// when it took the request but is still reading; 409 week_frozen when the week is frozen;
// 429 with Retry-After inside the 5-minute window after the last one.
func (s *server) syncMetric(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	started, err := s.starter.SyncMetric(c.Request.Context(), c.Param("tenant"), c.Param("metric"), caller(c).Email)
	if err != nil {
		fail(c, metricError(err))
		return
	}
	c.Set(auditedKey, true) // the starter wrote "metric.sync_requested"
	status := http.StatusOK
	if started.Outcome == starter.OutcomeAccepted {
		status = http.StatusAccepted
	}
	c.JSON(status, started)
}

type deleteMetricRequest struct {
	// Confirm is the metric's name, typed again.
	Confirm string `json:"confirm" binding:"max=200"`
}

// deleteMetric deletes a metric and its check-ins (admin; the body types the metric's name:
// {"confirm": "<name>"}) and stops its snapshot loop. The site history keeps the record.
func (s *server) deleteMetric(c *gin.Context) {
	var req deleteMetricRequest
	if err := bindOptionalJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	del, err := s.starter.DeleteMetric(c.Request.Context(), store.MetricDeletion{
		TenantID: c.Param("tenant"), MetricID: c.Param("metric"), Confirm: req.Confirm, Actor: caller(c).Email,
		Details: map[string]any{"request_id": requestID(c)},
	})
	if err != nil {
		fail(c, metricError(err))
		return
	}
	c.Set(auditedKey, true) // the store wrote "metric.deleted" with the change
	s.adminAudit(c, "metric.deleted", del.Metric.TenantID, fmt.Sprintf("metric %q (%s) deleted with its %d check-ins", del.Metric.Name, del.Metric.ID, del.Checkins),
		map[string]any{"metric_id": del.Metric.ID, "name": del.Metric.Name, "checkins": del.Checkins, "loop": del.Loop.Outcome})
	answer := gin.H{"deleted": true, "metric": del.Metric, "checkins_deleted": del.Checkins, "loop": del.Loop}
	if del.Loop.Outcome == starter.LoopNotTold {
		answer["warning"] = gin.H{"code": "snapshot_loop_not_stopped", "message": del.Loop.Message}
	}
	c.JSON(http.StatusOK, answer)
}

// bindOptionalJSON is bindJSON for a body that may be left out (read as {}).
func bindOptionalJSON(c *gin.Context, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	if err != nil {
		return errBadRequest("invalid_body", "", "could not read the request body (at most %d bytes)", MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := decodeStrict(body, dst); err != nil {
		return err
	}
	return validate(dst)
}

// scorecard answers every metric of the tenant with its value of one week
// (?week=current|previous|YYYY-Www; current by default): see store.Scorecard.
func (s *server) scorecard(c *gin.Context) {
	if err := rejectUnknownQuery(c, "week"); err != nil {
		fail(c, err)
		return
	}
	sel, err := scorecard.ParseWeekSelector(c.Query("week"))
	if err != nil {
		fail(c, errInvalid("week", "%v", err))
		return
	}
	view, err := s.store.Scorecard(c.Request.Context(), c.Param("tenant"), sel, time.Now())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view)
}

func (s *server) listCheckins(c *gin.Context) {
	if err := rejectUnknownQuery(c, "limit"); err != nil {
		fail(c, err)
		return
	}
	limit, err := queryInt(c, "limit", 52, 1, 520)
	if err != nil {
		fail(c, err)
		return
	}
	m, err := s.store.GetMetric(c.Request.Context(), c.Param("tenant"), c.Param("metric"))
	if err != nil {
		fail(c, metricError(err))
		return
	}
	cs, err := s.store.ListCheckins(c.Request.Context(), m.TenantID, m.ID, limit)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]checkinView, 0, len(cs))
	for _, ci := range cs {
		out = append(out, viewCheckin(ci))
	}
	c.JSON(http.StatusOK, gin.H{"metric_id": m.ID, "current_week": s.starter.CurrentWeek(m), "checkins": out})
}

type overrideRequest struct {
	// Value is a JSON number or numeric string, read exactly.
	Value json.RawMessage `json:"value"`
	// OverrideFrozen must be true to change a frozen week.
	OverrideFrozen bool `json:"override_frozen"`
}

// putCheckin is the manual override of a week.
func (s *server) putCheckin(c *gin.Context) {
	week, err := weekParam(c)
	if err != nil {
		fail(c, err)
		return
	}
	var req overrideRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	value, err := parseValue(req.Value)
	if err != nil {
		fail(c, err)
		return
	}
	ci, err := s.starter.OverrideCheckin(c.Request.Context(), store.Override{
		TenantID: c.Param("tenant"), MetricID: c.Param("metric"), Week: week, Value: value,
		Actor: caller(c).Email, AllowFrozen: req.OverrideFrozen,
	})
	if err != nil {
		fail(c, metricError(err))
		return
	}
	c.Set(auditedKey, true) // the store wrote "metric.override_set" with the change
	c.JSON(http.StatusOK, gin.H{"checkin": viewCheckin(ci)})
}

// deleteCheckin clears a week's manual override (?override_frozen=true for a frozen week).
func (s *server) deleteCheckin(c *gin.Context) {
	week, err := weekParam(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := rejectUnknownQuery(c, "override_frozen"); err != nil {
		fail(c, err)
		return
	}
	allowFrozen, err := queryBool(c, "override_frozen")
	if err != nil {
		fail(c, err)
		return
	}
	ci, err := s.starter.ClearCheckinOverride(c.Request.Context(), c.Param("tenant"), c.Param("metric"), week, caller(c).Email, allowFrozen)
	if err != nil {
		fail(c, metricError(err))
		return
	}
	c.Set(auditedKey, true) // the store wrote "metric.override_cleared" with the change
	var view *checkinView
	if ci != nil {
		v := viewCheckin(*ci)
		view = &v
	}
	c.JSON(http.StatusOK, gin.H{"cleared": true, "checkin": view})
}

func weekParam(c *gin.Context) (scorecard.Week, error) {
	w, err := scorecard.ParseWeek(c.Param("week"))
	if err != nil {
		return "", errInvalid("week", "%v", err)
	}
	return w, nil
}

// parseValue reads an override value exactly: a JSON number or a numeric string.
func parseValue(raw json.RawMessage) (decimal.Decimal, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return decimal.Decimal{}, errInvalid("value", "is required")
	}
	var d remote.Decimal
	if err := d.UnmarshalJSON(raw); err != nil {
		return decimal.Decimal{}, errInvalid("value", "must be a number such as 42 or \"1234.50\"")
	}
	return d.D, nil
}

// checkText refuses blank values and control characters.
func checkText(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return errInvalid(field, "is required")
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return errInvalid(field, "must not contain control characters")
	}
	return nil
}

// prefixField names a nested object's field from the request's top level.
func prefixField(err error, prefix string) error {
	var ae *apiError
	if errors.As(err, &ae) {
		cp := *ae
		if cp.Field != "" {
			cp.Field = prefix + "." + cp.Field
		} else {
			cp.Field = prefix
		}
		return &cp
	}
	return err
}

// metricError maps the scorecard's refusals; everything else goes to toAPIError.
func metricError(err error) error {
	var tooSoon *store.SyncTooSoonError
	switch {
	case errors.As(err, &tooSoon):
		secs := int((tooSoon.RetryAfter + time.Second - 1) / time.Second)
		return &apiError{Status: http.StatusTooManyRequests, Code: "sync_too_soon",
			Message:    "sync now runs at most once per 5 minutes per metric; try again in " + strconv.Itoa(secs) + " s",
			RetryAfter: tooSoon.RetryAfter,
			Extra:      map[string]any{"retry_after_seconds": secs, "last_sync_at": tooSoon.LastSyncAt.UTC()}}
	case errors.Is(err, store.ErrWeekFrozen):
		return errConflict("week_frozen", "the week is frozen; send \"override_frozen\": true to override it anyway (it is recorded in the site history)")
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("metric or check-in")
	}
	var frozen *starter.WeekFrozenError
	if errors.As(err, &frozen) {
		e := errConflict("week_frozen", "%s", frozen.Error())
		e.Extra = map[string]any{"week": frozen.Note.Week, "next_week_starts_at": frozen.Note.NextWeekStartsAt}
		if !frozen.Note.FrozenAt.IsZero() {
			e.Extra["frozen_at"] = frozen.Note.FrozenAt.UTC()
		}
		return e
	}
	var failed *starter.SnapshotFailedError
	if errors.As(err, &failed) {
		return &apiError{Status: http.StatusBadGateway, Code: "snapshot_failed", Message: failed.Error()}
	}
	var notTold *starter.LoopNotToldError
	if errors.As(err, &notTold) {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "snapshot_loop_not_told", RetryAfter: 5 * time.Second,
			Message: "the change is saved, but the metric's snapshot loop could not be told in Temporal; repeat the request (the worker also tells it when it next starts)"}
	}
	return err
}
