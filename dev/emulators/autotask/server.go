// Package autotask emulates the subset of the Autotask PSA REST API (v1.0) meterbridge uses:
// zone discovery, header authentication, entity queries with Autotask's filter language and
// nextPageUrl paging, reads by id, creates and PATCH updates, ThresholdInformation, the
// hourly request threshold, the per-endpoint thread limit, and ContractServiceAdjustments
// that split ContractServiceUnits periods. Faults (latency, 429 bursts, 5xx, revoked
// credentials) are switched through emulators/fault.
//
// Choices where the real API's behaviour is not documented are marked "Unconfirmed:".
package autotask

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meterbridge/meterbridge/dev/emulators/fault"
)

// Credentials are the header values the emulator accepts.
type Credentials struct {
	UserName        string
	Secret          string
	IntegrationCode string
}

// DefaultCredentials are accepted when Options.Credentials is empty.
var DefaultCredentials = Credentials{
	UserName:        "api-user@meterbridge.example",
	Secret:          "emulator-secret",
	IntegrationCode: "EMULATORINTEGRATIONCODE",
}

// Options configure an emulator.
type Options struct {
	// Credentials accepted in the UserName, Secret and ApiIntegrationCode headers.
	Credentials Credentials
	// MaxPageSize caps rows per query page below Autotask's 500; 0 means 500.
	MaxPageSize int
	// HourlyQuota is the requests allowed per rolling hour before 429; 0 means 10,000.
	HourlyQuota int
	// ThreadLimit is the concurrent requests allowed per endpoint; 0 means 3, negative none.
	ThreadLimit int
	// ThresholdLatency is added to every request while more than half the quota is used, as
	// Autotask slows integrations down.
	ThresholdLatency time.Duration
	// ZoneName is reported by zone discovery; default "Emulator Zone".
	ZoneName string
	// Now is the emulator's clock; default time.Now.
	Now func() time.Time
	// Fixture seeds the initial state.
	Fixture *Fixture
}

// Server is an in-memory Autotask. It implements http.Handler and is safe for concurrent use.
type Server struct {
	faults   *fault.Injector
	handler  http.Handler
	now      func() time.Time
	entities map[string]*entityDef

	mu               sync.Mutex
	opts             Options
	creds            Credentials
	maxPage          int
	writeDelay       time.Duration
	beforeCreate     func(entity string)
	nextID           int64
	companies        map[int64]*Company
	contracts        map[int64]*Contract
	services         map[int64]*Service
	contractServices map[int64]*ContractService
	units            map[int64]*ContractServiceUnit
	adjustments      []Adjustment

	lim    limits
	access access
}

// New returns an emulator seeded from opts.Fixture; an inconsistent fixture panics, as it is
// a programming error in a test or the dev stack.
func New(opts Options) *Server {
	if opts.Credentials == (Credentials{}) {
		opts.Credentials = DefaultCredentials
	}
	if opts.MaxPageSize <= 0 || opts.MaxPageSize > maxPageSize {
		opts.MaxPageSize = maxPageSize
	}
	if opts.HourlyQuota <= 0 {
		opts.HourlyQuota = 10000
	}
	if opts.ThreadLimit == 0 {
		opts.ThreadLimit = 3
	}
	if opts.ZoneName == "" {
		opts.ZoneName = "Emulator Zone"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		faults:           fault.New(),
		now:              opts.Now,
		opts:             opts,
		creds:            opts.Credentials,
		maxPage:          opts.MaxPageSize,
		nextID:           1000,
		companies:        map[int64]*Company{},
		contracts:        map[int64]*Contract{},
		services:         map[int64]*Service{},
		contractServices: map[int64]*ContractService{},
		units:            map[int64]*ContractServiceUnit{},
		lim:              limits{inflight: map[string]int{}, high: map[string]int{}},
	}
	s.entities = entityDefs()
	if opts.Fixture != nil {
		if err := s.Seed(*opts.Fixture); err != nil {
			panic("autotask emulator fixture: " + err.Error())
		}
	}
	mux := http.NewServeMux()
	mux.Handle(fault.ControlPath, s.faults.ControlHandler())
	mux.HandleFunc("/_emulator/state", s.handleState)
	mux.Handle("/", s.limitThreads(s.faults.Middleware(http.HandlerFunc(s.route), writeFault)))
	s.handler = mux
	return s
}

// ServeHTTP serves the API under /atservicesrest, the fault switches at /_emulator/faults
// and a state dump at /_emulator/state.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Faults returns the fault switches.
func (s *Server) Faults() *fault.Injector { return s.faults }

// SetMaxPageSize caps rows per page so paging shows with few rows (n <= 0 restores 500).
func (s *Server) SetMaxPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || n > maxPageSize {
		n = maxPageSize
	}
	s.maxPage = n
}

// SetCredentials changes the accepted credentials.
func (s *Server) SetCredentials(c Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = c
}

// SetHourlyQuota changes the requests allowed per rolling hour.
func (s *Server) SetHourlyQuota(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.HourlyQuota = n
}

// SetWriteResponseDelay makes every create and update commit first and then hold its
// response for d: a client with a shorter timeout sees a lost response for a write that
// landed.
func (s *Server) SetWriteResponseDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeDelay = d
}

// BeforeCreate sets a function called before each create is carried out (POST of an entity,
// named as in URLs: "ContractServiceAdjustments"), outside the emulator's lock, so a test
// can hold a write back and line up concurrent clients. nil removes it.
func (s *Server) BeforeCreate(f func(entity string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeCreate = f
}

const apiRoot = "/atservicesrest"

// route dispatches /atservicesrest/... requests.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	lower := strings.ToLower(path)
	switch {
	case lower == apiRoot+"/versioninformation":
		// Unconfirmed: the exact shape of versioninformation's answer.
		writeJSON(w, http.StatusOK, map[string]any{"apiVersions": []string{"1.0"}})
		return
	case lower == apiRoot+"/v1.0/zoneinformation":
		s.handleZone(w, r)
		return
	case !strings.HasPrefix(lower, apiRoot+"/v1.0/"):
		writeErrors(w, http.StatusNotFound, "no such resource: "+r.URL.Path)
		return
	}
	if !s.authenticate(w, r) {
		return
	}
	if !s.countRequest(w) {
		return
	}
	segs := strings.Split(path[len(apiRoot+"/v1.0/"):], "/")
	if strings.EqualFold(segs[0], "ThresholdInformation") && len(segs) == 1 {
		s.handleThreshold(w, r)
		return
	}
	// Unconfirmed: entity names in paths are matched case-insensitively, as IIS-hosted APIs do.
	def, ok := s.entities[strings.ToLower(segs[0])]
	if !ok {
		writeErrors(w, http.StatusNotFound, "no such entity: "+segs[0])
		return
	}
	if entity, op := s.operation(r, def, segs); op != "" && s.access.level(entity, op) == AccessNone {
		forbidden(w, entity, op)
		return
	}
	switch {
	case len(segs) == 1:
		s.handleCollection(w, r, def)
	case strings.EqualFold(segs[1], "entityInformation"):
		s.handleEntityInformation(w, r, def, segs[2:])
	case strings.EqualFold(segs[1], "query"):
		s.handleQuery(w, r, def, segs[2:])
	case len(segs) == 2:
		s.handleItem(w, r, def, segs[1])
	default:
		s.handleChild(w, r, def, segs[1:])
	}
}

func (s *Server) handleZone(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	user := r.URL.Query().Get("user")
	s.mu.Lock()
	known := strings.EqualFold(user, s.creds.UserName)
	s.mu.Unlock()
	if user == "" {
		writeErrors(w, http.StatusBadRequest, "the user parameter is required")
		return
	}
	if !known {
		// Unconfirmed: the real service's status for an unknown user.
		writeErrors(w, http.StatusNotFound, "zone information could not be determined for user "+user)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := scheme + "://" + r.Host
	writeJSON(w, http.StatusOK, map[string]any{
		"zoneName": s.opts.ZoneName,
		"url":      host + apiRoot + "/",
		"webUrl":   host + "/",
		"ci":       1,
	})
}

// authenticate checks the three credential headers. Wrong or missing ones answer 401.
//
// Unconfirmed: whether Autotask answers a missing integration code with 401 or 500.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	c := s.creds
	s.mu.Unlock()
	user, secret, code := r.Header.Get("UserName"), r.Header.Get("Secret"), r.Header.Get("ApiIntegrationCode")
	switch {
	case user == "" || secret == "" || code == "":
		writeErrors(w, http.StatusUnauthorized, "the UserName, Secret and ApiIntegrationCode headers are required")
		return false
	case s.faults.CredentialsRejected(), !strings.EqualFold(user, c.UserName), secret != c.Secret, code != c.IntegrationCode:
		writeErrors(w, http.StatusUnauthorized, "user is not authorized: the user name, secret or integration code is wrong")
		return false
	}
	if v := r.Header.Get("ImpersonationResourceId"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
			writeErrors(w, http.StatusBadRequest, "ImpersonationResourceId must be a resource id")
			return false
		}
	}
	return true
}

// handleThreshold answers ThresholdInformation; the request itself counts against the quota.
//
// Unconfirmed: whether ThresholdInformation requests count against the threshold.
func (s *Server) handleThreshold(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	s.mu.Lock()
	quota := s.opts.HourlyQuota
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"externalRequestThreshold":     quota,
		"requestThresholdTimeframe":    60,
		"currentTimeframeRequestCount": s.lim.sentInLastHour(s.now()),
	})
}

// handleState dumps everything, for people poking at the emulator with curl.
func (s *Server) handleState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	s.mu.Lock()
	state := map[string]any{
		"companies":            sortedValues(s.companies),
		"contracts":            sortedValues(s.contracts),
		"services":             sortedValues(s.services),
		"contractServices":     sortedValues(s.contractServices),
		"contractServiceUnits": sortedValues(s.units),
		"adjustments":          s.adjustments,
		"hourlyQuota":          s.opts.HourlyQuota,
		"maxPageSize":          s.maxPage,
	}
	s.mu.Unlock()
	state["requestsLastHour"] = s.lim.sentInLastHour(s.now())
	state["maxConcurrentByEndpoint"] = s.lim.highs()
	state["faults"] = s.faults.Counts()
	writeJSON(w, http.StatusOK, state)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErrors answers in Autotask's error shape, {"errors": ["..."]}.
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, map[string][]string{"errors": msgs})
}

func writeFault(w http.ResponseWriter, _ *http.Request, status int, message string) {
	writeErrors(w, status, message)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeErrors(w, http.StatusMethodNotAllowed, "the requested resource does not support this method; allowed: "+allow)
}
