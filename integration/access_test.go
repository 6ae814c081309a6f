package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/meterbridge/meterbridge/api"
	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/demo"
	bkemu "github.com/meterbridge/meterbridge/dev/emulators/backup"
	cwemu "github.com/meterbridge/meterbridge/dev/emulators/connectwise"
	gaemu "github.com/meterbridge/meterbridge/dev/emulators/gauges"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/scorecard"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/workflows"
)

// routeExample is how the access walk calls one route of api.Routes(): its body, and the
// status the victim tenant's own token of the route's least role gets (the positive
// control: it proves the example reaches the handler, so the refusals below are the access
// checks' doing and not a bad path or body).
type routeExample struct {
	body string
	// query is appended to the path (GET routes whose input is the query).
	query string
	ok    int
	// ownCreates marks routes that create the addressed object when it does not exist
	// (PUT upserts): called through the caller's own tenant path with the victim's object
	// IDs they may succeed, creating the caller's own object, but must not touch the victim.
	ownCreates bool
}

// objectParams are path parameters naming one tenant's objects; the walk also sends the
// victim's IDs through the caller's own tenant path.
var objectParams = map[string]bool{"cycle": true, "mapping": true, "metric": true}

// accessWalk is the state of one walk: a victim tenant with a waiting cycle and a rival
// tenant whose tokens try to reach it.
type accessWalk struct {
	s              *stack
	victim, rival  string
	params         map[string]string // the victim's IDs for every path parameter
	rivalParams    map[string]string // the same, with :tenant the rival
	examples       map[string]routeExample
	victimItems    []int64
	rivalItems     []int64
	victimWorkflow [2]string // workflow and run ID of the victim's waiting cycle
	metricWorkflow string    // the snapshot loop of the victim's metric
	loc            *time.Location
}

// Every route of the router, called with a token of another tenant, answers 404 not_found;
// with a viewer token where it needs more, 403; without a token or with a revoked one, 401 —
// and none of them changes anything of the victim tenant, in PostgreSQL or in Temporal.
// A route without an example below fails the walk, so new routes are covered as they land.
func TestEveryRouteIsTenantScopedAndRoleChecked(t *testing.T) {
	w := newAccessWalk(t)
	s := w.s
	ctx := context.Background()

	revokedApprover, revokedApproverID := w.tokenWithID(store.Token{TenantID: w.victim, Role: store.RoleApprover, OwnerEmail: "gone@demo-msp.example"})
	revokedAdmin, revokedAdminID := w.tokenWithID(store.Token{Role: store.RoleAdmin, OwnerEmail: "old-admin@demo-msp.example"})
	for _, id := range []string{revokedApproverID, revokedAdminID} {
		_, err := s.store.RevokeToken(ctx, id)
		require.NoError(t, err)
	}
	rivalApprover := s.token(store.Token{TenantID: w.rival, Role: store.RoleApprover, OwnerEmail: "rita@rival.example"})
	rivalViewer := s.token(store.Token{TenantID: w.rival, Role: store.RoleViewer, OwnerEmail: "rob@rival.example"})
	tokenOf := map[string]string{store.RoleAdmin: s.adminToken, store.RoleApprover: s.approverToken, store.RoleViewer: s.viewerToken}
	rivalTokenOf := map[string]string{store.RoleAdmin: s.adminToken, store.RoleApprover: rivalApprover, store.RoleViewer: rivalViewer}

	var missing []string
	var creating []api.RouteInfo // checked after the others: they create the rival's own objects
	for _, rt := range api.Routes() {
		name := rt.Method + " " + rt.Path
		if rt.Role == "" {
			require.Equal(t, http.StatusOK, s.call(rt.Method, rt.Path, "", nil, nil), name)
			continue
		}
		ex, ok := w.examples[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		path := w.fill(t, rt.Path, w.params) + ex.query
		t.Run(name, func(t *testing.T) {
			w.refused(t, rt.Method, path, "", ex.body, http.StatusUnauthorized, "unauthorized", "no token")
			w.refused(t, rt.Method, path, "mbt_"+strings.Repeat("x", 43), ex.body, http.StatusUnauthorized, "unauthorized", "unknown token")
			w.refused(t, rt.Method, path, revokedApprover, ex.body, http.StatusUnauthorized, "unauthorized", "revoked approver token")
			w.refused(t, rt.Method, path, revokedAdmin, ex.body, http.StatusUnauthorized, "unauthorized", "revoked admin token")
			if rt.Tenant {
				w.refused(t, rt.Method, path, rivalApprover, ex.body, http.StatusNotFound, "not_found", "another tenant's approver")
				w.refused(t, rt.Method, path, rivalViewer, ex.body, http.StatusNotFound, "not_found", "another tenant's viewer")
			} else {
				w.refused(t, rt.Method, path, rivalApprover, ex.body, http.StatusForbidden, "forbidden", "another tenant's approver on an admin route")
			}
			for _, role := range []string{store.RoleViewer, store.RoleApprover} {
				if rankOf(role) < rankOf(rt.Role) {
					w.refused(t, rt.Method, path, tokenOf[role], ex.body, http.StatusForbidden, "forbidden", "the tenant's own "+role)
				}
			}
			// The victim's IDs through the caller's own tenant path reach nothing of the victim.
			if rt.Tenant && hasObjectParam(rt.Path) && !ex.ownCreates {
				w.throughOwnPath(t, rt, rivalTokenOf[rt.Role], ex)
			}
		})
		if rt.Tenant && hasObjectParam(rt.Path) && ex.ownCreates {
			creating = append(creating, rt)
		}
	}
	for _, rt := range creating {
		w.throughOwnPath(t, rt, rivalTokenOf[rt.Role], w.examples[rt.Method+" "+rt.Path])
	}
	require.Empty(t, missing, "the access walk has no example for these routes; add one to examples in integration/access_test.go "+
		"(a body that the route's least role gets through with, and that status)")

	// Pending-update IDs of the victim in an approve or reject body sent through the rival's
	// own path are not the rival's: 422, and neither tenant's items move.
	for _, verb := range []string{"approve", "reject"} {
		before := w.snapshot(t)
		rivalBefore := w.snapshotOf(t, w.rival)
		var e errorAnswer
		code := s.call("POST", "/api/v1/tenants/"+w.rival+"/pending/"+verb, rivalApprover, map[string]any{"ids": w.victimItems[:1]}, &e)
		require.Equal(t, http.StatusUnprocessableEntity, code, "%s with the victim's item IDs: %+v", verb, e)
		require.Equal(t, "ids", e.Error.Field)
		w.unchanged(t, before, verb+" with the victim's item IDs")
		require.Equal(t, rivalBefore, w.snapshotOf(t, w.rival), "%s with the victim's item IDs changed the rival", verb)
	}

	// The positive control: each route's example, with the victim's own token of exactly the
	// route's least role, gets through; a change it makes is audited under the caller's
	// e-mail. (Run last: these change things.)
	ownerOf := map[string]string{store.RoleAdmin: "admin@demo-msp.example", store.RoleApprover: "ann@demo-msp.example", store.RoleViewer: "vic@demo-msp.example"}
	for _, rt := range api.Routes() {
		ex, ok := w.examples[rt.Method+" "+rt.Path]
		if rt.Role == "" || !ok {
			continue
		}
		path := w.fill(t, rt.Path, w.params) + ex.query
		lastHistory, lastAudit := w.auditMarks(t)
		var e errorAnswer
		code := s.call(rt.Method, path, tokenOf[rt.Role], bodyOf(ex.body), &e)
		require.Equal(t, ex.ok, code, "%s %s with the tenant's own %s token: %+v", rt.Method, path, rt.Role, e)
		if rt.Method != http.MethodGet && code/100 == 2 {
			var n int
			require.NoError(t, s.store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM site_history WHERE id > $1 AND actor = $3)
				+ (SELECT count(*) FROM admin_audit WHERE id > $2 AND actor = $3)`, lastHistory, lastAudit, ownerOf[rt.Role]).Scan(&n))
			require.Positive(t, n, "%s %s changed state without a site history or admin audit row naming %s", rt.Method, path, ownerOf[rt.Role])
		}
	}
}

// auditMarks returns the newest site history and admin audit row IDs.
func (w *accessWalk) auditMarks(t *testing.T) (history, audit int64) {
	t.Helper()
	require.NoError(t, w.s.store.Pool().QueryRow(context.Background(),
		`SELECT (SELECT COALESCE(max(id), 0) FROM site_history), (SELECT COALESCE(max(id), 0) FROM admin_audit)`).Scan(&history, &audit))
	return history, audit
}

// throughOwnPath sends a route with the caller's own tenant in the path and the victim's
// object IDs: 404 or 422 (or, for routes that create, the caller's own new object), and
// nothing of the victim changes.
func (w *accessWalk) throughOwnPath(t *testing.T, rt api.RouteInfo, token string, ex routeExample) {
	t.Helper()
	own := w.fill(t, rt.Path, w.rivalParams) + ex.query
	before := w.snapshot(t)
	var e errorAnswer
	code := w.s.call(rt.Method, own, token, bodyOf(ex.body), &e)
	if !(ex.ownCreates && code/100 == 2) {
		require.Contains(t, []int{http.StatusNotFound, http.StatusUnprocessableEntity}, code,
			"%s %s with the victim's IDs through the rival's own path: %+v", rt.Method, own, e)
	}
	w.unchanged(t, before, rt.Method+" "+own+" with the victim's IDs")
}

func newAccessWalk(t *testing.T) *accessWalk {
	s := newStack(t)
	s.restartAPI(func(d *api.Deps) { d.AuthFailureBurst = 100000 }) // the walk sends hundreds of bad tokens
	s.startWorker()
	ctx := context.Background()
	w := &accessWalk{s: s, victim: s.tenantID, rival: "rival-" + s.tenantID}
	_, err := demo.Seed(ctx, s.store, s.urls, demo.Options{TenantID: w.rival, Emails: []string{"billing@rival.example"}})
	require.NoError(t, err)

	// A mapping only the victim has (the seeded ones have the same IDs in both tenants).
	c := demo.BackupClients()[0]
	_, _, err = s.store.PutMapping(ctx, store.Mapping{TenantID: w.victim, ID: "victim-only", Source: store.RoleBackup, AccountID: "cl_9001",
		Item: billing.StorageItem, Target: c.Target, TargetInfo: psa.TargetInfo{Target: c.Target, CompanyName: c.Name}}, "walk")
	require.NoError(t, err)

	// Both tenants have a cycle waiting for approval.
	victimCycle := s.publishAs(w.victim, s.approverToken)
	rivalApprover := s.token(store.Token{TenantID: w.rival, Role: store.RoleApprover, OwnerEmail: "rita@rival.example"})
	s.publishAs(w.rival, rivalApprover)
	w.victimItems = w.pendingIDs(t, w.victim, 3)
	w.rivalItems = w.pendingIDs(t, w.rival, 3)
	cy, err := s.store.GetCycle(ctx, w.victim, victimCycle)
	require.NoError(t, err)
	w.victimWorkflow = [2]string{cy.WorkflowID, cy.ID}
	tn, err := s.store.GetTenant(ctx, w.victim)
	require.NoError(t, err)
	w.loc = tn.Location()

	// A scorecard metric of the victim, its loop settled (so nothing moves on its own while
	// the walk compares snapshots).
	var created struct {
		Metric struct {
			ID         string `json:"id"`
			WorkflowID string `json:"workflow_id"`
		} `json:"metric"`
	}
	var e errorAnswer
	metricBody := `{"name": "Open tickets", "owner_email": "ann@demo-msp.example", "time_zone": "Europe/London", "gauge_id": "` + gaemu.DemoGaugeOpenTickets + `"}`
	code := s.call("POST", s.tp+"/metrics", s.approverToken, metricBody, &created)
	require.Equal(t, http.StatusCreated, code, "create metric: %s", s.lastError("POST", s.tp+"/metrics", s.approverToken, metricBody, &e))
	w.metricWorkflow = workflows.MetricSnapshotID(created.Metric.ID)
	w.settle(t, w.metricWorkflow)

	// A token the positive control of DELETE /tokens/{token} may revoke.
	_, spareID := w.tokenWithID(store.Token{TenantID: w.victim, Role: store.RoleViewer, OwnerEmail: "spare@demo-msp.example"})

	w.params = map[string]string{
		"tenant": w.victim, "cycle": victimCycle, "mapping": "victim-only", "kind": store.RoleBackup, "token": spareID,
		"metric": created.Metric.ID, "week": string(scorecard.WeekOf(time.Now(), w.loc)),
		// Backup client IDs are the backup service's, like PSA ids: both tenants' services
		// report the same demo clients.
		"client": demo.BackupClients()[2].ClientID,
		// PSA ids are the PSA's, not the tenant's objects: the rival's own path may read its
		// own PSA's record of the same id.
		"company": fmt.Sprint(c.Target.CompanyID), "agreement": fmt.Sprint(c.Target.AgreementID),
	}
	w.rivalParams = map[string]string{}
	for k, v := range w.params {
		w.rivalParams[k] = v
	}
	w.rivalParams["tenant"] = w.rival

	cw := cwemu.DefaultCredentials
	psaBody := fmt.Sprintf(`{"kind": "connectwise", "credentials": {"site_url": %q, "company_id": %q, "public_key": %q, "private_key": %q, "client_id": %q}}`,
		s.urls.ConnectWise, cw.CompanyID, cw.PublicKey, cw.PrivateKey, cw.ClientID)
	mappingBody := fmt.Sprintf(`{"source": "backup", "account_id": "cl_9001", "item": "storage_gb", "target": {"company_id": %d, "agreement_id": %d, "addition_id": %d}}`,
		c.Target.CompanyID, c.Target.AgreementID, c.Target.AdditionID)
	w.examples = map[string]routeExample{
		"POST /api/v1/tenants":          {body: `{"id": "walk-` + w.victim + `", "name": "Walk MSP", "time_zone": "UTC"}`, ok: http.StatusCreated},
		"GET /api/v1/tenants/:tenant":   {ok: http.StatusOK},
		"PATCH /api/v1/tenants/:tenant": {body: `{"name": "Demo MSP (renamed)"}`, ok: http.StatusOK},
		// The victim's cycle of this period waits for approval: a second publish is refused.
		"POST /api/v1/tenants/:tenant/publish":         {ok: http.StatusConflict},
		"POST /api/v1/tenants/:tenant/refresh":         {ok: http.StatusAccepted},
		"GET /api/v1/tenants/:tenant/pending":          {ok: http.StatusOK},
		"POST /api/v1/tenants/:tenant/pending/approve": {body: fmt.Sprintf(`{"ids": [%d]}`, w.victimItems[0]), ok: http.StatusOK},
		"POST /api/v1/tenants/:tenant/pending/reject":  {body: fmt.Sprintf(`{"ids": [%d]}`, w.victimItems[1]), ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/cycles":           {ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/cycles/:cycle":    {ok: http.StatusOK},
		// The victim's cycle still waits (one update is left): cancelling it stops it.
		"POST /api/v1/tenants/:tenant/cycles/:cycle/cancel": {body: `{"reason": "access walk"}`, ok: http.StatusOK},

		"GET /api/v1/tenants/:tenant/clients":           {ok: http.StatusOK},
		"PATCH /api/v1/tenants/:tenant/clients/:client": {body: `{"included": false}`, ok: http.StatusOK},

		"POST /api/v1/tokens":                {body: `{"role": "viewer", "tenant_id": "` + w.victim + `", "owner_email": "new@demo-msp.example"}`, ok: http.StatusCreated},
		"GET /api/v1/tokens":                 {ok: http.StatusOK},
		"DELETE /api/v1/tokens/:token":       {ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/tokens": {ok: http.StatusOK},
		"GET /api/v1/audit":                  {ok: http.StatusOK},

		"PUT /api/v1/tenants/:tenant/psa":                  {body: psaBody, ok: http.StatusOK},
		"POST /api/v1/tenants/:tenant/psa/test":            {ok: http.StatusOK},
		"PUT /api/v1/tenants/:tenant/sources/:kind":        {body: fmt.Sprintf(`{"credentials": {"base_url": %q, "api_key": %q}}`, s.urls.Backup, bkemu.DemoAPIKey), ok: http.StatusOK},
		"POST /api/v1/tenants/:tenant/sources/:kind/test":  {ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/accounts":             {ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/mappings":             {ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/mappings/:mapping":    {ok: http.StatusOK},
		"PUT /api/v1/tenants/:tenant/mappings/:mapping":    {body: mappingBody, ok: http.StatusOK, ownCreates: true},
		"DELETE /api/v1/tenants/:tenant/mappings/:mapping": {ok: http.StatusNoContent},
		"GET /api/v1/tenants/:tenant/history":              {ok: http.StatusOK},
		"DELETE /api/v1/tenants/:tenant/history":           {ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/dashboard":            {ok: http.StatusOK},

		"GET /api/v1/tenants/:tenant/psa/companies":                       {query: "?q=wind", ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/psa/companies/:company/agreements":   {ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/psa/agreements/:agreement/additions": {ok: http.StatusOK},

		"POST /api/v1/tenants/:tenant/metrics":                          {body: strings.Replace(metricBody, "Open tickets", "Open tickets 2", 1), ok: http.StatusCreated},
		"GET /api/v1/tenants/:tenant/metrics":                           {ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/metrics/:metric":                   {ok: http.StatusOK},
		"PATCH /api/v1/tenants/:tenant/metrics/:metric":                 {body: `{"name": "Open tickets (renamed)"}`, ok: http.StatusOK},
		"POST /api/v1/tenants/:tenant/metrics/:metric/sync":             {ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/metrics/:metric/checkins":          {ok: http.StatusOK},
		"PUT /api/v1/tenants/:tenant/metrics/:metric/checkins/:week":    {body: `{"value": "12.5"}`, ok: http.StatusOK},
		"DELETE /api/v1/tenants/:tenant/metrics/:metric/checkins/:week": {ok: http.StatusOK},
		// The positive controls run in route order: the PATCH above renamed the metric.
		"DELETE /api/v1/tenants/:tenant/metrics/:metric": {body: `{"confirm": "Open tickets (renamed)"}`, ok: http.StatusOK},
		"GET /api/v1/tenants/:tenant/scorecard":          {query: "?week=current", ok: http.StatusOK},
	}
	return w
}

// lastError repeats a request to read its error answer for a failure message.
func (s *stack) lastError(method, path, token string, body any, e *errorAnswer) string {
	s.call(method, path, token, body, e)
	return fmt.Sprintf("%+v", *e)
}

// publishAs starts a usage publish of tenant with token and returns the run (cycle) ID.
func (s *stack) publishAs(tenantID, token string) string {
	s.t.Helper()
	var started struct {
		RunID string `json:"run_id"`
	}
	require.Equal(s.t, http.StatusAccepted, s.call("POST", "/api/v1/tenants/"+tenantID+"/publish", token, nil, &started))
	return started.RunID
}

// restartAPI replaces the stack's API server with one built from changed Deps.
func (s *stack) restartAPI(change func(*api.Deps)) {
	s.t.Helper()
	d := api.Deps{Store: s.store, Starter: s.starter, Temporal: s.temporal, Logger: testenv.Logger(), RateLimit: 1000, Outbound: testOutbound}
	change(&d)
	old := s.api
	s.api = httptest.NewServer(api.New(d))
	s.t.Cleanup(s.api.Close)
	old.Close()
}

func (w *accessWalk) tokenWithID(tok store.Token) (secret, id string) {
	created, secret, err := w.s.store.CreateToken(context.Background(), tok)
	require.NoError(w.s.t, err)
	return secret, created.ID
}

func (w *accessWalk) pendingIDs(t *testing.T, tenantID string, n int) []int64 {
	var ids []int64
	eventually(t, 30*time.Second, tenantID+" to have pending updates", func() bool {
		items, err := w.s.store.PendingItems(context.Background(), tenantID, false)
		require.NoError(t, err)
		ids = ids[:0]
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		return len(ids) >= n
	})
	return ids
}

var pathParam = regexp.MustCompile(`:([a-z_]+)`)

// fill puts IDs into a route's path parameters; a parameter without an ID fails the walk.
func (w *accessWalk) fill(t *testing.T, path string, params map[string]string) string {
	return pathParam.ReplaceAllStringFunc(path, func(m string) string {
		v, ok := params[m[1:]]
		if !ok {
			t.Fatalf("route %s has the parameter %s, for which the access walk has no ID; create the victim's object in newAccessWalk and add it to params", path, m)
		}
		return v
	})
}

func hasObjectParam(path string) bool {
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		if objectParams[m[1]] {
			return true
		}
	}
	return false
}

func bodyOf(b string) any {
	if b == "" {
		return nil
	}
	return b
}

func rankOf(role string) int {
	return map[string]int{store.RoleViewer: 1, store.RoleApprover: 2, store.RoleAdmin: 3}[role]
}

// refused sends one request that must be refused with status and code and change nothing.
func (w *accessWalk) refused(t *testing.T, method, path, token, body string, status int, code, who string) {
	t.Helper()
	before := w.snapshot(t)
	var e errorAnswer
	got := w.s.call(method, path, token, bodyOf(body), &e)
	require.Equal(t, status, got, "%s %s with %s: %+v", method, path, who, e)
	require.Equal(t, code, e.Error.Code, "%s %s with %s", method, path, who)
	if status == http.StatusNotFound {
		// The refusal says nothing about the victim: the same answer as a tenant that does
		// not exist.
		require.NotContains(t, e.Error.Message, w.victim)
	}
	w.unchanged(t, before, who)
}

// snapshot is the victim's whole state: a digest of its rows in every table that has a
// tenant_id (so tables other engineers add are covered), and its waiting cycle's workflow
// history length (a signal would add events at once, before any activity changes rows).
func (w *accessWalk) snapshot(t *testing.T) map[string]string {
	t.Helper()
	snap := w.snapshotOf(t, w.victim)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap["temporal:"+w.victimWorkflow[0]] = fmt.Sprint(w.historyLenOf(t, w.victimWorkflow[0], w.victimWorkflow[1]))
	snap["temporal:"+w.metricWorkflow] = fmt.Sprint(w.historyLenOf(t, w.metricWorkflow, ""))
	// No licence cycle of the victim may have been started.
	_, err := w.s.temporal.DescribeWorkflowExecution(ctx, workflows.CycleID(billing.LicenceSync, w.victim, billing.MonthOf(time.Now(), w.loc)), "")
	var nf *serviceerror.NotFound
	snap["temporal:licence-cycle-exists"] = fmt.Sprint(!errors.As(err, &nf))
	return snap
}

func (w *accessWalk) historyLenOf(t *testing.T, workflowID, runID string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	it := w.s.temporal.GetWorkflowHistory(ctx, workflowID, runID, false, 0)
	for it.HasNext() {
		_, err := it.Next()
		require.NoError(t, err)
		n++
	}
	return n
}

// settle waits until a workflow's history stops growing (its start-up work is done).
func (w *accessWalk) settle(t *testing.T, workflowID string) {
	last, stable := -1, 0
	eventually(t, 30*time.Second, workflowID+" to settle", func() bool {
		n := w.historyLenOf(t, workflowID, "")
		if n == last {
			stable++
		} else {
			last, stable = n, 0
		}
		return stable >= 5
	})
}

func (w *accessWalk) snapshotOf(t *testing.T, tenantID string) map[string]string {
	t.Helper()
	ctx := context.Background()
	pool := w.s.store.Pool()
	rows, err := pool.Query(ctx, `SELECT c.table_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id'`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	sort.Strings(tables)
	require.NotEmpty(t, tables)
	snap := map[string]string{}
	// last_used_at moves whenever the tenant's own tokens are used; it is not state.
	const row = `(to_jsonb(t) - 'last_used_at')::text`
	for _, table := range append(tables, "tenants") {
		col := "tenant_id"
		if table == "tenants" {
			col = "id"
		}
		var digest string
		q := fmt.Sprintf(`SELECT md5(COALESCE(string_agg(%s, '|' ORDER BY %s), '')) FROM %q t WHERE %s = $1`, row, row, table, col)
		require.NoError(t, pool.QueryRow(ctx, q, tenantID).Scan(&digest))
		snap[table] = digest
	}
	return snap
}

func (w *accessWalk) unchanged(t *testing.T, before map[string]string, who string) {
	t.Helper()
	after := w.snapshot(t)
	for k, v := range before {
		require.Equal(t, v, after[k], "%s changed the victim's %s", who, k)
	}
}
