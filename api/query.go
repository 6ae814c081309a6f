package api

import (
	"github.com/gin-gonic/gin"
)

// State-changing requests take their input in the body. A query parameter on them is almost
// always a mistake that would otherwise be ignored silently (POST /publish?period=2026-01
// would publish the current month), so the router refuses it — except the few listed here,
// which their handlers read and validate. GET handlers check their own query with
// rejectUnknownQuery.
var mutationQuery = map[string][]string{
	"DELETE /api/v1/tenants/:tenant/metrics/:metric/checkins/:week": {"override_frozen"},
}

// refuseUnknownQuery is the router's check for a state-changing route.
func refuseUnknownQuery(route string) gin.HandlerFunc {
	allowed := mutationQuery[route]
	return func(c *gin.Context) {
		if err := rejectUnknownQuery(c, allowed...); err != nil {
			fail(c, err)
			return
		}
		c.Next()
	}
}
