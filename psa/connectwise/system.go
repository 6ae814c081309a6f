package connectwise

import (
	"context"
	"encoding/json"
)

const systemInfoPath = "/system/info"

// SystemInfo is what /system/info says about the server.
type SystemInfo struct {
	Version        string `json:"version"`
	IsCloud        bool   `json:"isCloud"`
	ServerTimeZone string `json:"serverTimeZone"`
	CloudRegion    string `json:"cloudRegion"`
	// LicenseBits is kept raw. Unconfirmed: its element shape.
	LicenseBits json.RawMessage `json:"licenseBits,omitempty"`
}

// SystemInfo reads the server's version and hosting facts; it needs valid credentials.
func (c *Client) SystemInfo(ctx context.Context) (SystemInfo, error) {
	var s SystemInfo
	_, err := c.getJSON(ctx, systemInfoPath, nil, &s)
	return s, err
}
