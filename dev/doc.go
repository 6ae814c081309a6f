// Package dev holds what exists only to run meterbridge on a laptop and to test it: the
// one-command dev stack (devstack), the demo MSP (demo), the in-process Temporal server and
// Web UI (localtemporal), a private PostgreSQL cluster (pgcluster), local stand-ins for every
// outside API (emulators) and test helpers (testenv).
//
// Nothing under dev/ is linked into the production binary cmd/meterbridge; .ci/run checks it.
package dev
