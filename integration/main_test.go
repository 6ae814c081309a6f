// Package integration runs meterbridge end to end on real parts: PostgreSQL, an in-process
// Temporal server, the worker and the HTTP API, against the emulators.
package integration

import (
	"os"
	"testing"

	"github.com/meterbridge/meterbridge/dev/testenv/temporalenv"
)

func TestMain(m *testing.M) { os.Exit(temporalenv.Main(m)) }
