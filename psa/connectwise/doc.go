// Package connectwise is meterbridge's client for the ConnectWise PSA (Manage) REST API,
// "apis/3.0", as described in shared/reference/psa-apis.md section 1.
//
// It reads like the API documentation: one file per resource (companies.go, agreements.go,
// additions.go, catalog.go, configurations.go, managed.go, system.go), typed requests and
// responses, one paging helper (list.go), one condition builder (conditions.go) and one
// error decoder (errors.go). Every HTTP call goes through remote.Sender, which retries 429
// and transient 5xx and honours Retry-After.
//
// psa.go implements psa.Client on top of those calls and backupstats.go implements
// psa.BackupStatsWriter (basic publish mode).
//
// Behaviour of the real API that no source confirmed is marked "Unconfirmed:" where the
// client depends on it; in each case the client does the most defensive thing.
package connectwise
