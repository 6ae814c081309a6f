package console

import (
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/console/form"
	"github.com/meterbridge/meterbridge/starter"
)

// decidePending approves or removes the selected pending updates, or approves all of them,
// through starter.Decide (the API's own call), and shows what it did.
func (c *Console) decidePending(g *gin.Context) {
	f, errs := form.ParseDecision(g.Request.PostForm)
	back := safeNext(g.PostForm("back"))
	if !strings.HasPrefix(back, "/tenants/"+g.Param("tenant")+"/pending") {
		back = "/tenants/" + g.Param("tenant") + "/pending"
	}
	if !errs.OK() {
		c.done(g, "error", sentence(errs[""]), back)
		return
	}
	d := billing.Decision{IDs: f.IDs, All: f.All, Approve: f.Approve, Actor: principal(g).Email}
	res, err := c.Starter.Decide(g.Request.Context(), g.Param("tenant"), d)
	if err != nil {
		c.actionFailed(g, err, back)
		return
	}
	action := map[bool]string{true: "approved", false: "rejected"}[f.Approve]
	cycles := make([]string, 0, len(res.Cycles))
	for _, cy := range res.Cycles {
		cycles = append(cycles, cy.CycleID)
	}
	c.audit(g, "pending."+action+".requested",
		fmt.Sprintf("%s pending updates: %d approved, %d removed, %d already decided", action, res.Approved, res.Rejected, res.AlreadyDecided),
		map[string]any{"approved": res.Approved, "rejected": res.Rejected, "already_decided": res.AlreadyDecided, "cycles": cycles, "all": f.All, "ids": f.IDs})
	c.done(g, "ok", decidedWords(res, f.Approve), back)
}

// decidedWords says what a decision did, as the cycles answered it.
func decidedWords(res starter.Decided, approve bool) string {
	n, verb := res.Approved, "approved"
	if !approve {
		n, verb = res.Rejected, "removed"
	}
	msg := fmt.Sprintf("%d %s %s.", n, pluralWord(n, "update", "updates"), verb)
	if res.AlreadyDecided > 0 {
		msg += fmt.Sprintf(" %d had already been decided by someone else.", res.AlreadyDecided)
	}
	if !res.Settled() {
		msg += " A cycle took the decision but had not applied it yet (it was busy pushing); the list shows it once it has."
	}
	if res.Pending > 0 {
		msg += fmt.Sprintf(" %d still %s.", res.Pending, pluralWord(res.Pending, "waits", "wait"))
	}
	return msg
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// actionFailed shows why an action failed on the page it came from.
func (c *Console) actionFailed(g *gin.Context, err error, back string) {
	msg, ok := c.explain(g, err)
	if !ok {
		c.fail(g, err)
		return
	}
	c.done(g, "error", msg, back)
}
