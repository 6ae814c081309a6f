// Package lookup answers the mapping page's questions about a tenant's PSA: which companies
// match what a person typed, which of a company's agreements (Autotask: contracts) can hold
// a mapping, and which additions (contract services) an agreement bills today. It reads
// through connect.Connector and psa.Catalog, and keeps answers briefly per tenant, so
// typing a name does not spend the request budget the PSA shares with billing.
//
// The JSON API and the console both call a Service; neither talks to the PSA itself.
package lookup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/meterbridge/meterbridge/connect"
	"github.com/meterbridge/meterbridge/psa"
	"github.com/meterbridge/meterbridge/tenant"
)

// Limits of the questions a Service answers.
const (
	// PageSize is how many companies a page of a search holds.
	PageSize = 25
	// MinQueryLength and MaxQueryLength bound a name fragment, in characters. One
	// character would match most of a PSA's companies; company names are at most 50
	// (ConnectWise) or 100 (Autotask) characters.
	MinQueryLength = 2
	MaxQueryLength = 100
	// MaxPage bounds the page number: past 200 pages of 25 the fragment needs more letters,
	// and on Autotask deep pages cost a request per 500 rows skipped.
	MaxPage = 200
	// DefaultTTL is how long an answer is reused: long enough for a person typing and
	// stepping back and forth, short enough that a change made in the PSA shows within a
	// minute.
	DefaultTTL = 60 * time.Second
)

// CompanyPage is one page of companies matching Query.
type CompanyPage struct {
	PSAKind psa.Kind `json:"psa_kind"`
	Query   string   `json:"query"`
	psa.CompanyPage
	// FetchedAt is when the PSA answered (earlier than now when the answer was cached).
	FetchedAt time.Time `json:"fetched_at"`
}

// AgreementList is a company's agreements (Autotask: contracts) that can hold a mapping.
type AgreementList struct {
	PSAKind    psa.Kind        `json:"psa_kind"`
	CompanyID  int64           `json:"company_id"`
	Agreements []psa.Agreement `json:"agreements"`
	FetchedAt  time.Time       `json:"fetched_at"`
}

// AdditionList is an agreement's additions (Autotask: a contract's services) that bill
// today.
type AdditionList struct {
	PSAKind     psa.Kind       `json:"psa_kind"`
	AgreementID int64          `json:"agreement_id"`
	Additions   []psa.Addition `json:"additions"`
	FetchedAt   time.Time      `json:"fetched_at"`
}

// Options tune a Service; the zero value is sensible.
type Options struct {
	// TTL is how long an answer is reused (DefaultTTL when 0).
	TTL time.Duration
	// MaxTenants is how many tenants' answers are kept (least recently used go first;
	// default 1000). MaxEntries is how many answers are kept per tenant (default 256).
	MaxTenants, MaxEntries int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Service answers look-ups for every tenant. It is safe for concurrent use.
//
// Answers are cached per tenant, each tenant in its own bounded LRU (hashicorp/golang-lru),
// so one tenant's answers can never be served to another and one busy tenant cannot push
// another's out. A tenant's cache belongs to the PSA client it was filled through:
// connect.Connector opens a new client whenever the tenant's PSA connection changes (new
// credentials, another site, a switch between ConnectWise and Autotask), and the first
// look-up after that drops everything cached before. Errors are never cached.
type Service struct {
	conn       *connect.Connector
	ttl        time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.Mutex
	tenants *lru.Cache[string, *tenantCache]
}

type tenantCache struct {
	client  psa.Client
	answers *lru.Cache[key, answer]
}

// key names one question of a tenant.
type key struct {
	op   string // "companies", "agreements", "additions"
	text string
	id   int64
	page int
}

type answer struct {
	value   any
	expires time.Time
}

// New returns a Service reading through c.
func New(c *connect.Connector, o Options) *Service {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxTenants <= 0 {
		o.MaxTenants = 1000
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 256
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	tenants, err := lru.New[string, *tenantCache](o.MaxTenants)
	if err != nil {
		panic(err) // only for a size below 1, excluded above
	}
	return &Service{conn: c, ttl: o.TTL, maxEntries: o.MaxEntries, now: o.Now, tenants: tenants}
}

// Companies answers one page of the tenant's active PSA companies whose name (or
// identifier) contains q, by name (Autotask: in the order it stores them). q is trimmed and
// must hold MinQueryLength–MaxQueryLength characters; page is 1–MaxPage. Invalid input is a
// *tenant.FieldError naming "q" or "page"; a tenant without a PSA connection is
// store.ErrNotFound; PSA failures are *remote.Error values.
func (s *Service) Companies(ctx context.Context, tenantID, q string, page int) (CompanyPage, error) {
	text, err := checkQuery(q)
	if err != nil {
		return CompanyPage{}, err
	}
	if page < 1 || page > MaxPage {
		return CompanyPage{}, &tenant.FieldError{Field: "page", Reason: fmt.Sprintf("must be 1–%d", MaxPage)}
	}
	v, err := s.answer(ctx, tenantID, key{op: "companies", text: text, page: page}, func(ctx context.Context, cl psa.Client, at time.Time) (any, error) {
		p, err := cl.SearchCompanies(ctx, psa.CompanyQuery{Text: text, Page: page, PageSize: PageSize})
		if err != nil {
			return nil, err
		}
		if p.Companies == nil {
			p.Companies = []psa.Company{}
		}
		return CompanyPage{PSAKind: cl.Kind(), Query: text, CompanyPage: p, FetchedAt: at}, nil
	})
	if err != nil {
		return CompanyPage{}, err
	}
	out := v.(CompanyPage)
	out.Companies = slices.Clone(out.Companies)
	return out, nil
}

// Agreements answers the company's agreements (Autotask: contracts) that can hold a
// mapping (see psa.Catalog.BillableAgreements for what qualifies). An unknown company is a
// NotFound *remote.Error.
func (s *Service) Agreements(ctx context.Context, tenantID string, companyID int64) (AgreementList, error) {
	if companyID <= 0 {
		return AgreementList{}, &tenant.FieldError{Field: "company_id", Reason: "must be a PSA company id (a positive whole number)"}
	}
	v, err := s.answer(ctx, tenantID, key{op: "agreements", id: companyID}, func(ctx context.Context, cl psa.Client, at time.Time) (any, error) {
		ags, err := cl.BillableAgreements(ctx, companyID)
		if err != nil {
			return nil, err
		}
		if ags == nil {
			ags = []psa.Agreement{}
		}
		return AgreementList{PSAKind: cl.Kind(), CompanyID: companyID, Agreements: ags, FetchedAt: at}, nil
	})
	if err != nil {
		return AgreementList{}, err
	}
	out := v.(AgreementList)
	out.Agreements = slices.Clone(out.Agreements)
	return out, nil
}

// Additions answers the agreement's additions (Autotask: the contract's services) that
// bill today, with their quantity. An unknown agreement, or one that can no longer bill,
// is a NotFound *remote.Error.
func (s *Service) Additions(ctx context.Context, tenantID string, agreementID int64) (AdditionList, error) {
	if agreementID <= 0 {
		return AdditionList{}, &tenant.FieldError{Field: "agreement_id", Reason: "must be a PSA agreement or contract id (a positive whole number)"}
	}
	v, err := s.answer(ctx, tenantID, key{op: "additions", id: agreementID}, func(ctx context.Context, cl psa.Client, at time.Time) (any, error) {
		adds, err := cl.BillableAdditions(ctx, agreementID)
		if err != nil {
			return nil, err
		}
		if adds == nil {
			adds = []psa.Addition{}
		}
		return AdditionList{PSAKind: cl.Kind(), AgreementID: agreementID, Additions: adds, FetchedAt: at}, nil
	})
	if err != nil {
		return AdditionList{}, err
	}
	out := v.(AdditionList)
	out.Additions = slices.Clone(out.Additions)
	return out, nil
}

// Forget drops every answer cached for the tenant. Look-ups already notice a changed PSA
// connection by themselves; this is for callers that know better (a test, a person asking
// to refresh).
func (s *Service) Forget(tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants.Remove(tenantID)
}

// answer returns the cached answer to k for the tenant's current PSA client, or loads it.
func (s *Service) answer(ctx context.Context, tenantID string, k key, load func(context.Context, psa.Client, time.Time) (any, error)) (any, error) {
	cl, err := s.conn.PSA(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	tc := s.cacheOf(tenantID, cl)
	now := s.now()
	if a, ok := tc.answers.Get(k); ok {
		if now.Before(a.expires) {
			return a.value, nil
		}
		tc.answers.Remove(k)
	}
	v, err := load(ctx, cl, now.UTC())
	if err != nil {
		return nil, err
	}
	tc.answers.Add(k, answer{value: v, expires: now.Add(s.ttl)})
	return v, nil
}

// cacheOf returns the tenant's cache, starting an empty one when the tenant has none or
// its PSA client changed (the connection was changed).
func (s *Service) cacheOf(tenantID string, cl psa.Client) *tenantCache {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tc, ok := s.tenants.Get(tenantID); ok && tc.client == cl {
		return tc
	}
	answers, err := lru.New[key, answer](s.maxEntries)
	if err != nil {
		panic(err) // only for a size below 1, excluded in New
	}
	tc := &tenantCache{client: cl, answers: answers}
	s.tenants.Add(tenantID, tc)
	return tc
}

// checkQuery trims a name fragment and checks its length and characters.
func checkQuery(q string) (string, error) {
	text := strings.TrimSpace(q)
	n := utf8.RuneCountInString(text)
	switch {
	case !utf8.ValidString(text):
		return "", &tenant.FieldError{Field: "q", Reason: "must be UTF-8 text"}
	case n < MinQueryLength:
		return "", &tenant.FieldError{Field: "q", Reason: fmt.Sprintf("type at least %d characters of the company's name", MinQueryLength)}
	case n > MaxQueryLength:
		return "", &tenant.FieldError{Field: "q", Reason: fmt.Sprintf("must be at most %d characters", MaxQueryLength)}
	case strings.ContainsFunc(text, unicode.IsControl):
		return "", &tenant.FieldError{Field: "q", Reason: "must not contain control characters"}
	}
	return text, nil
}
