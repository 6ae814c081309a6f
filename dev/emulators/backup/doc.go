// Package backup emulates a backup usage service: the vendor that stores an MSP's client
// backups and reports, per client and month, the billable space to invoice. meterbridge's
// client (sources/backup) speaks to it exactly as to a real service of this shape.
//
// # API
//
// JSON over HTTPS, UTF-8. Every path below is relative to the service's base URL.
//
// Authentication: an API key issued to the partner (the MSP), sent on every request as
//
//	X-API-Key: <key>
//
// A missing, wrong or revoked key answers 401 (codes "missing_api_key", "invalid_api_key").
//
// GET /v1/account — the partner account the key belongs to; the cheap call for a connection
// test:
//
//	{"id": "prt_demo", "name": "Demo MSP", "clients": 3}
//
// GET /v1/usage?year=2026&month=11&page_size=100&cursor=... — billable space per client for
// one calendar month, ordered by client_id:
//
//	{
//	  "data": [
//	    {"client_id": "cl_1001", "name": "Acme Corp", "managed_id": "ACME-001",
//	     "billable_gb": 120.75, "year": 2026, "month": 11}
//	  ],
//	  "paging": {"next_cursor": "eyJhIjoiY2xfMTAwMSIsInkiOjIwMjYsIm0iOjExfQ",
//	             "next": "https://host/v1/usage?cursor=...&month=11&page_size=100&year=2026"}
//	}
//
// Parameters and fields:
//   - year (2000–2100) and month (1–12) are required.
//   - billable_gb is a JSON number with up to a few decimals (GB, 10^9 bytes); clients must
//     read it exactly, not as a float. Some deployments send it as a string; both are valid.
//   - managed_id is what the partner typed into the backup console to link the client to its
//     PSA company; it may be empty when nobody did.
//   - Paging is by opaque cursor. page_size defaults to 50 and is clamped to the maximum (100);
//     next_cursor and next are absent on the last page. A cursor is bound to the year and
//     month it was issued for; using it with another month answers 400 "invalid_cursor".
//
// # Errors
//
// Every error has the body
//
//	{"error": {"code": "invalid_parameter", "message": "month must be 1-12", "field": "month"}}
//
// with status 400 (bad parameter or cursor), 401 (key), 404 (unknown path), 429 (rate
// limited) or 5xx. 429 and 503 carry Retry-After in seconds; clients wait at least that long.
// A 500 whose message mentions a timeout is passing; other 500s are not worth repeating.
//
// # Emulator extras
//
// Outside the API, under /_emulator/ (no key needed, no faults applied):
//
//	GET  /_emulator/faults                                  fault switches and counts (PUT to change)
//	GET  /_emulator/state                                   clients, monthly figures, request counts
//	PUT  /_emulator/clients/{id}                            add or replace a client: {"name", "managed_id", "monthly_gb"}
//	PUT  /_emulator/clients/{id}/usage/{year}/{month}       set one month: {"billable_gb": "12.5"}
//	DELETE /_emulator/clients/{id}                          remove a client
//
// Demo data (NewDemo): three clients whose usage is the same in every month — Acme
// (ACME-001) 120.75 GB, Globex (GLOBEX-002) 310.2 GB, Initech (INITECH-003) 88 GB — so every
// period publishes the same, predictable figures. Set a month with SetUsage to show a change.
package backup
