package console

import (
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/console/form"
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
	verb := "Removal"
	if f.Approve {
		verb = "Approval"
	}
	c.audit(g, "pending."+map[bool]string{true: "approved", false: "rejected"}[f.Approve]+".requested",
		strings.ToLower(verb)+" requested for pending updates", map[string]any{"count": res.Count, "cycles": res.Cycles, "all": f.All, "ids": f.IDs})
	msg := fmt.Sprintf("%s of %d pending %s sent to %d %s; the list below shows them once the %s recorded it.",
		verb, res.Count, pluralWord(res.Count, "update", "updates"), len(res.Cycles), pluralWord(len(res.Cycles), "cycle", "cycles"),
		pluralWord(len(res.Cycles), "cycle has", "cycles have"))
	c.done(g, "ok", msg, back)
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
