package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/lookup"
	"github.com/meterbridge/meterbridge/remote"
)

// The PSA look-ups of the mapping page (issue 10): read-only, viewer, answered by the
// lookup package (which caches briefly per tenant). Autotask tenants get contracts and
// contract services under the same paths.

// listPSACompanies answers GET …/psa/companies?q=&page=: one page of the active companies
// whose name or identifier contains q.
func (s *server) listPSACompanies(c *gin.Context) {
	if err := rejectUnknownQuery(c, "q", "page"); err != nil {
		fail(c, err)
		return
	}
	page, err := queryInt(c, "page", 1, 1, lookup.MaxPage)
	if err != nil {
		fail(c, err)
		return
	}
	res, err := s.lookup.Companies(c.Request.Context(), c.Param("tenant"), c.Query("q"), page)
	if err != nil {
		fail(c, psaLookupError(err, "company"))
		return
	}
	c.JSON(http.StatusOK, res)
}

// listPSAAgreements answers GET …/psa/companies/{company}/agreements: the company's
// agreements (contracts) that can hold a mapping.
func (s *server) listPSAAgreements(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	id, err := psaID(c, "company")
	if err != nil {
		fail(c, err)
		return
	}
	res, err := s.lookup.Agreements(c.Request.Context(), c.Param("tenant"), id)
	if err != nil {
		fail(c, psaLookupError(err, "company"))
		return
	}
	c.JSON(http.StatusOK, res)
}

// listPSAAdditions answers GET …/psa/agreements/{agreement}/additions: the agreement's
// additions (the contract's services) that bill today.
func (s *server) listPSAAdditions(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	id, err := psaID(c, "agreement")
	if err != nil {
		fail(c, err)
		return
	}
	res, err := s.lookup.Additions(c.Request.Context(), c.Param("tenant"), id)
	if err != nil {
		fail(c, psaLookupError(err, "agreement"))
		return
	}
	c.JSON(http.StatusOK, res)
}

// psaID reads a PSA record id from the path: a positive whole number.
func psaID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != c.Param(name) {
		return 0, errBadRequest("invalid_path", name, "a PSA %s id is a positive whole number", name)
	}
	return id, nil
}

// psaLookupError answers a failed look-up: an id the PSA does not have (or that cannot
// hold a mapping) is 404 naming it; the rest as for mappings (psaCallError): no PSA
// connection 409, refused credentials 502 with what to do, a busy or unreachable PSA 503
// with Retry-After.
func psaLookupError(err error, what string) error {
	var re *remote.Error
	if errors.As(err, &re) {
		switch re.Kind {
		case remote.NotFound:
			return &apiError{Status: http.StatusNotFound, Code: "not_found", Field: what,
				Message: "the PSA has no such " + what + " that can hold a mapping: " + re.Message}
		case remote.Invalid:
			return &apiError{Status: http.StatusBadGateway, Code: "psa_refused",
				Message: "the PSA refused the look-up: " + re.Error()}
		}
	}
	return psaCallError(err)
}
