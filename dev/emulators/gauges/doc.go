// Package gauges emulates a dashboard gauge service: the vendor that computes live figures
// (open tickets, recurring revenue, backup success rate, …) and lets integrations read each
// gauge's current value. meterbridge's client (sources/gauges) speaks to it exactly as to a
// real service of this shape.
//
// # Authentication: OAuth 2.0 client credentials (RFC 6749 §4.4)
//
//	POST /oauth/token
//	Content-Type: application/x-www-form-urlencoded
//	Authorization: Basic base64(urlencode(client_id) ":" urlencode(client_secret))
//
//	grant_type=client_credentials[&scope=gauges:read]
//
// The client may instead send client_id and client_secret as form fields; using both
// methods in one request is refused (invalid_request). The answer, with Cache-Control:
// no-store:
//
//	{"access_token": "3f9c…", "token_type": "Bearer", "expires_in": 3600, "scope": "gauges:read"}
//
// Token errors follow RFC 6749 §5.2, for example 401
//
//	{"error": "invalid_client", "error_description": "client authentication failed"}
//
// with codes invalid_request, invalid_client, unsupported_grant_type (400 unless noted).
// Tokens are opaque; each lives expires_in seconds and may be revoked earlier, so clients
// cache a token until shortly before it expires and fetch a new one once when the API
// answers 401.
//
// # API
//
// Every API request carries "Authorization: Bearer <access_token>". A missing, unknown,
// expired or revoked token answers 401 with
//
//	WWW-Authenticate: Bearer realm="gauges", error="invalid_token", error_description="the access token expired"
//
// GET /v1/gauges/{id} — one gauge's latest value:
//
//	{"id": "g_mrr", "name": "Monthly recurring revenue", "unit": "USD",
//	 "value": "48926.35", "measured_at": "2026-11-03T06:00:00Z"}
//
// value is a decimal string (exact; never read it as a float); measured_at is RFC 3339 UTC,
// the moment the figure was computed (gauges recompute at the top of each hour).
//
// GET /v1/gauges?page_size=50&cursor=... — all gauges ordered by id, in the same shape,
// paged by opaque cursor: {"data": [...], "paging": {"next_cursor": "…", "next": "<url>"}}.
// page_size defaults to 50, at most 100. The cheap call for a connection test is page_size=1.
//
// # Errors
//
// API errors have the body {"error": {"code": "not_found", "message": "no gauge g_x"}} with
// status 400, 401, 404, 429 or 5xx. 429 carries Retry-After in seconds, on the token
// endpoint too (there in the OAuth shape, error "temporarily_unavailable").
//
// # Emulator extras
//
// Outside the API, under /_emulator/ (no token needed, no faults applied):
//
//	GET  /_emulator/faults               fault switches and counts (PUT to change)
//	GET  /_emulator/state                gauges with current values, live tokens, request counts
//	PUT  /_emulator/gauges/{id}          set a fixed value: {"name", "unit", "value": "12.5"}
//	POST /_emulator/tokens/expire        make every issued token expired
//	POST /_emulator/tokens/revoke        revoke every issued token
//
// Demo data (NewDemo): three gauges whose values are a deterministic function of the hour
// (a slow rise and fall), so daily snapshots differ from day to day and any test can compute
// the expected value with DemoGauges()[i].Func.
package gauges
