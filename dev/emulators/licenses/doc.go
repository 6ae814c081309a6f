// Package licenses emulates a licence portal: the vendor console where an MSP's customer
// accounts hold licences of several types (server, desktop, cloud storage in GB, …) with a
// unit count each. meterbridge's client (sources/licenses) speaks to it exactly as to a real
// portal of this shape.
//
// # API
//
// JSON over HTTPS. Paths are relative to the portal's base URL.
//
// Authentication: a personal or integration API token, sent on every request as
//
//	Authorization: Bearer <token>
//
// A missing, wrong or revoked token answers 401 with WWW-Authenticate: Bearer.
//
// GET /v1/me — the organisation the token belongs to; the cheap call for a connection test:
//
//	{"id": "org_demo", "name": "Demo MSP"}
//
// GET /v1/accounts?page=1&per_page=100 — customer accounts ordered by id, each with its
// licences ordered by type:
//
//	{
//	  "data": [
//	    {"id": "acc_1001", "name": "Acme Corp", "status": "active",
//	     "licenses": [{"type": "cloud_gb", "units": 512.5}, {"type": "desktop", "units": 25},
//	                  {"type": "server", "units": 4}]}
//	  ],
//	  "meta": {"page": 1, "per_page": 100, "total_count": 4, "total_pages": 1},
//	  "links": {"self": "https://host/v1/accounts?page=1&per_page=100", "next": null}
//	}
//
// Parameters and fields:
//   - Paging is by page number. per_page defaults to 25 and is clamped to the maximum (100);
//     a page past the end is empty. links.next is the full URL of the next page and null on
//     the last one; clients follow its page parameter.
//   - units is a JSON number, whole for seat licences and with decimals for capacity
//     licences (cloud_gb); clients must read it exactly, not as a float.
//   - A licence type whose units drop to zero stays listed with 0 until the vendor removes
//     it, so a drop to nothing shows as a change.
//   - status is "active" or "suspended"; suspended accounts keep their licences listed.
//
// # Errors
//
// Errors are RFC 9457 problem details (Content-Type: application/problem+json):
//
//	{"type": "/problems/invalid-parameter", "title": "Bad Request", "status": 400,
//	 "detail": "page must be a positive integer",
//	 "invalid_params": [{"name": "page", "reason": "must be a positive integer"}]}
//
// The last segment of type is a stable code: invalid-parameter, unauthorized, invalid-token,
// not-found, rate-limited, internal-error. 429 carries Retry-After in seconds.
//
// # Emulator extras
//
// Outside the API, under /_emulator/ (no token needed, no faults applied):
//
//	GET    /_emulator/faults                            fault switches and counts (PUT to change)
//	GET    /_emulator/state                             accounts, licences, request counts
//	PUT    /_emulator/accounts/{id}                     add or rename an account: {"name", "status"}
//	PUT    /_emulator/accounts/{id}/licenses/{type}     set units: {"units": "12"}
//	DELETE /_emulator/accounts/{id}/licenses/{type}     remove a licence type from an account
//
// Demo data (NewDemo): four accounts (Acme, Globex, Initech, Umbrella) with server, desktop
// and cloud_gb licences; see DemoAccounts.
package licenses
