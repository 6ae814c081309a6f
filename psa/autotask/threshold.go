package autotask

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/meterbridge/meterbridge/remote"
)

// ThresholdInformation is the database's request count against its hourly threshold.
type ThresholdInformation struct {
	ExternalRequestThreshold     int `json:"externalRequestThreshold"`
	RequestThresholdTimeframe    int `json:"requestThresholdTimeframe"` // minutes
	CurrentTimeframeRequestCount int `json:"currentTimeframeRequestCount"`
}

// Usage is the share of the threshold used, 0..1 and beyond.
func (t ThresholdInformation) Usage() float64 {
	if t.ExternalRequestThreshold <= 0 {
		return 0
	}
	return float64(t.CurrentTimeframeRequestCount) / float64(t.ExternalRequestThreshold)
}

// ThresholdInformation reads GET /v1.0/ThresholdInformation and remembers the usage, so
// later requests slow down past half the threshold and stop at all of it.
//
// Unconfirmed: whether the fields come at the top level (as clients read them) or inside
// {"item": ...}; both are read.
func (c *Client) ThresholdInformation(ctx context.Context) (ThresholdInformation, error) {
	const op = "GET /v1.0/ThresholdInformation"
	base, err := c.apiBase(ctx)
	if err != nil {
		return ThresholdInformation{}, err
	}
	resp, err := c.send(ctx, remote.Request{Method: http.MethodGet, URL: base + "/ThresholdInformation", Op: op, Idempotent: true}, sendOpts{noPoll: true})
	if err != nil {
		return ThresholdInformation{}, err
	}
	var r struct {
		ThresholdInformation
		Item *ThresholdInformation `json:"item"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return ThresholdInformation{}, &remote.Error{Kind: remote.Unavailable, Service: service, Op: op, Status: resp.Status, Message: "decode threshold information: " + err.Error(), Err: err}
	}
	t := r.ThresholdInformation
	if r.Item != nil {
		t = *r.Item
	}
	c.lim.setUsage(t.CurrentTimeframeRequestCount, t.ExternalRequestThreshold, c.now())
	return t, nil
}
