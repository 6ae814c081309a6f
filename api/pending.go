package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/store"
)

type decisionRequest struct {
	IDs []int64 `json:"ids" binding:"required_without=All,excluded_with=All,omitempty,min=1,max=1000,unique,dive,gt=0"`
	All bool    `json:"all" binding:"required_without=IDs"`
}

func (s *server) listPending(c *gin.Context) {
	if err := rejectUnknownQuery(c, "all"); err != nil {
		fail(c, err)
		return
	}
	all, err := queryBool(c, "all")
	if err != nil {
		fail(c, err)
		return
	}
	items, err := s.store.PendingItems(c.Request.Context(), c.Param("tenant"), all)
	if err != nil {
		fail(c, err)
		return
	}
	if items == nil {
		items = []store.Item{}
	}
	c.JSON(http.StatusOK, gin.H{"pending": items})
}

func (s *server) approve(c *gin.Context) { s.decide(c, true) }
func (s *server) reject(c *gin.Context)  { s.decide(c, false) }

// decide sends the decision to the cycles holding the chosen updates and answers what they
// did: 200 with the counts (approved or rejected, already decided, still pending) once every
// cycle answered; 202 when a cycle took the decision but had not applied it in time (it was
// pushing) or took it as a signal (a cycle from before answered decisions). 409 when the
// updates' cycle has moved past approval, 503 when no worker took the decision.
func (s *server) decide(c *gin.Context, approve bool) {
	var req decisionRequest
	if err := bindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	if !req.All && len(req.IDs) == 0 {
		fail(c, errInvalid("ids", "send {\"ids\": [...]} or {\"all\": true}"))
		return
	}
	d := billing.Decision{IDs: req.IDs, All: req.All, Approve: approve, Actor: caller(c).Email}
	res, err := s.starter.Decide(c.Request.Context(), c.Param("tenant"), d)
	if err != nil {
		fail(c, err)
		return
	}
	verb := "rejected"
	if approve {
		verb = "approved"
	}
	cycles := make([]string, 0, len(res.Cycles))
	for _, cy := range res.Cycles {
		cycles = append(cycles, cy.CycleID)
	}
	s.audit(c, c.Param("tenant"), "pending."+verb+".requested",
		fmt.Sprintf("%s pending updates: %d approved, %d removed, %d already decided", verb, res.Approved, res.Rejected, res.AlreadyDecided),
		map[string]any{"approved": res.Approved, "rejected": res.Rejected, "already_decided": res.AlreadyDecided, "cycles": cycles, "all": req.All, "ids": req.IDs})
	status := http.StatusOK
	if !res.Settled() {
		status = http.StatusAccepted
	}
	c.JSON(status, res)
}
