package vendorapi_test

import (
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/remote"
	"github.com/meterbridge/meterbridge/sources/vendorapi"
)

func TestParseURLKeepsPathPrefixWithoutTrailingSlash(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"https://api.example/", "https://api.example", ""},
		{"http://127.0.0.1:8080/backup/", "http://127.0.0.1:8080/backup", ""},
		{"", "", "is required"},
		{"api.example", "", "must start with https:// or http://"},
		{"https://", "", "has no host"},
		{"https://u:p@api.example", "", "must not contain credentials, a query or a fragment"},
		{"https://api.example?x=1", "", "must not contain credentials, a query or a fragment"},
	}
	for _, tc := range cases {
		u, err := vendorapi.ParseURL(tc.in)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, u.String())
	}
}

func TestTokensRefuseSpacesButCredentialsAllowThem(t *testing.T) {
	assert.NoError(t, vendorapi.CheckCredential("gauges", "client_secret", "pass phrase"))
	assertField(t, vendorapi.CheckToken("backup", "api_key", "key with space"), "api_key", "api_key must not contain spaces or control characters")
	assertField(t, vendorapi.CheckCredential("gauges", "client_id", "id\n"), "client_id", "client_id must not contain control characters")
	assertField(t, vendorapi.CheckToken("backup", "api_key", " "), "api_key", "api_key is required")
}

func assertField(t *testing.T, err error, field, msg string) {
	t.Helper()
	var re *remote.Error
	require.True(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, remote.Invalid, re.Kind)
	assert.Equal(t, field, re.Field)
	assert.Equal(t, msg, re.Message)
}

func TestKeyConfigNeverShowsKey(t *testing.T) {
	c := vendorapi.KeyConfig{BaseURL: "https://api.example", APIKey: "s3cret"}

	assert.Equal(t, `backup.Config{BaseURL: "https://api.example", APIKey: "[redacted]"}`, c.Describe("backup.Config"))
	assert.NotContains(t, fmt.Sprint(c), "s3cret")
	assert.NotContains(t, c.LogValue().String(), "s3cret")
	assert.Empty(t, vendorapi.KeyConfig{}.Redacted().APIKey)
}

func TestEndpointKeepsASlashInsideOneSegment(t *testing.T) {
	base, err := vendorapi.ParseURL("https://api.example/prefix")
	require.NoError(t, err)

	got := vendorapi.Endpoint(base, url.Values{"page_size": {"1"}}, "v1", "gauges", "a/b")

	assert.Equal(t, "https://api.example/prefix/v1/gauges/a%2Fb?page_size=1", got)
}
