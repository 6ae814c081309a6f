package gauges

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/meterbridge/meterbridge/remote"
	"time"

	"github.com/meterbridge/meterbridge/sources"
)

// gaugeWire is GET /v1/gauges/{id}.
type gaugeWire struct {
	ID         string         `json:"id"`
	Value      remote.Decimal `json:"value"`
	MeasuredAt string         `json:"measured_at"`
}

// decodeGauge reads one reading. Value and time are both required: a snapshot without
// either would record a figure nobody measured.
func decodeGauge(body []byte, gaugeID string) (sources.GaugeReading, error) {
	var g gaugeWire
	if err := json.Unmarshal(body, &g); err != nil {
		return sources.GaugeReading{}, fmt.Errorf("decode gauge: %w", err)
	}
	if g.ID != "" && g.ID != gaugeID {
		return sources.GaugeReading{}, fmt.Errorf("asked for gauge %q, got %q", gaugeID, g.ID)
	}
	if !g.Value.Set {
		return sources.GaugeReading{}, errors.New("gauge has no value")
	}
	if g.MeasuredAt == "" {
		return sources.GaugeReading{}, errors.New("gauge has no measured_at")
	}
	at, err := time.Parse(time.RFC3339Nano, g.MeasuredAt)
	if err != nil {
		return sources.GaugeReading{}, fmt.Errorf("measured_at: %w", err)
	}
	return sources.GaugeReading{GaugeID: gaugeID, Value: g.Value.D, At: at.UTC()}, nil
}
