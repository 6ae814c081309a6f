package testenv

import (
	"log/slog"
	"os"

	tlog "go.temporal.io/sdk/log"

	"github.com/meterbridge/meterbridge/secrets"
)

// SecretBox is the credential box a test store uses.
type SecretBox = *secrets.Box

// NewSecretBox returns a box with a fresh random key.
func NewSecretBox() *secrets.Box {
	b, err := secrets.ParseKeys(secrets.NewKey("test"))
	if err != nil {
		panic(err)
	}
	return b
}

// Logger shows warnings and errors only, so test output stays readable.
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// TemporalLogger is Logger for the Temporal SDK.
func TemporalLogger() tlog.Logger { return tlog.NewStructuredLogger(Logger()) }
