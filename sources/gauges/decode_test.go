package gauges

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/remote"
)

func TestDecodeToken(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		lifetime time.Duration
		wantErr  string
	}{
		{"usual", `{"access_token":"abc","token_type":"Bearer","expires_in":3600}`, time.Hour, ""},
		{"lower-case type, string lifetime", `{"access_token":"abc","token_type":"bearer","expires_in":"120"}`, 2 * time.Minute, ""},
		{"no lifetime", `{"access_token":"abc","token_type":"Bearer"}`, 0, ""},
		{"fractional lifetime", `{"access_token":"abc","expires_in":59.9}`, 59 * time.Second, ""},
		{"absurd lifetime", `{"access_token":"abc","expires_in":1e20}`, maxTokenLifetime, ""},
		{"no token", `{"token_type":"Bearer","expires_in":3600}`, 0, "no access_token"},
		{"token with space", `{"access_token":"a b"}`, 0, "not a bearer token"},
		{"mac", `{"access_token":"abc","token_type":"mac"}`, 0, "not Bearer"},
		{"negative", `{"access_token":"abc","expires_in":-5}`, 0, "negative"},
		{"garbage lifetime", `{"access_token":"abc","expires_in":"soon"}`, 0, "expires_in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := decodeToken([]byte(tc.body))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "abc", tr.accessToken)
			assert.Equal(t, tc.lifetime, tr.lifetime)
		})
	}
}

func TestDecodeGauge(t *testing.T) {
	r, err := decodeGauge([]byte(`{"id":"g1","value":"48250.10","measured_at":"2026-11-02T07:00:00+01:00"}`), "g1")
	require.NoError(t, err)
	assert.Equal(t, "48250.1", r.Value.String())
	assert.Equal(t, time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC), r.At)
	assert.Equal(t, time.UTC, r.At.Location())

	r, err = decodeGauge([]byte(`{"value":0.3,"measured_at":"2026-11-02T06:00:00Z"}`), "g1")
	require.NoError(t, err)
	assert.Equal(t, "0.3", r.Value.String())
	assert.Equal(t, "g1", r.GaugeID)

	for body, want := range map[string]string{
		`{"id":"g2","value":1,"measured_at":"2026-11-02T06:00:00Z"}`:     "got \"g2\"",
		`{"id":"g1","measured_at":"2026-11-02T06:00:00Z"}`:               "no value",
		`{"id":"g1","value":1}`:                                          "no measured_at",
		`{"id":"g1","value":1,"measured_at":"yesterday"}`:                "measured_at",
		`{"id":"g1","value":"1,5","measured_at":"2026-11-02T06:00:00Z"}`: "not a number",
	} {
		_, err := decodeGauge([]byte(body), "g1")
		require.Error(t, err, body)
		assert.Contains(t, err.Error(), want)
	}
}

func TestTokenErrorsThatRefuseTheClientAreCredentials(t *testing.T) {
	e := decodeTokenError(400, http.Header{}, []byte(`{"error":"invalid_client","error_description":"bad secret"}`))
	assert.Equal(t, remote.Credentials, e.Kind)
	assert.Equal(t, "invalid_client", e.Code)
	assert.Equal(t, "bad secret", e.Message)

	e = decodeTokenError(400, http.Header{}, []byte(`{"error":"unsupported_grant_type"}`))
	assert.Equal(t, remote.Kind(""), e.Kind, "left to the status")

	e = decodeTokenError(429, http.Header{}, []byte(`{"error":{"code":"rate_limited","message":"slow down"}}`))
	assert.Equal(t, "rate_limited", e.Code)

	e = decodeAPIError(401, http.Header{"Www-Authenticate": {`Bearer realm="x", error="invalid_token"`}}, nil)
	assert.Equal(t, "invalid_token", e.Code)
}

func FuzzDecodeGauge(f *testing.F) {
	for _, s := range []string{
		`{"id":"g1","name":"MRR","unit":"USD","value":"48250.10","measured_at":"2026-11-02T06:00:00Z"}`,
		`{"value":12,"measured_at":"2026-11-02T06:00:00.123456789-05:00"}`,
		`{"id":"g1","value":null}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeGauge(body, "g1")
		if err != nil {
			return
		}
		if r.GaugeID != "g1" || r.At.Location() != time.UTC {
			t.Fatalf("accepted reading %+v", r)
		}
		if len(r.Value.String()) > 2*64 {
			t.Fatalf("decimal grew to %d characters", len(r.Value.String()))
		}
	})
}

func FuzzDecodeToken(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"abc","token_type":"Bearer","expires_in":3600,"scope":"gauges:read"}`,
		`{"access_token":"abc","expires_in":"3600"}`,
		`{"access_token":"abc","expires_in":1e30}`,
		`{"access_token":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, err := decodeToken(body)
		if err != nil {
			return
		}
		if tr.accessToken == "" || tr.lifetime < 0 || tr.lifetime > maxTokenLifetime {
			t.Fatalf("accepted token %+v", tr)
		}
	})
}
