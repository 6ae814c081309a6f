// Command meterbridge runs meterbridge's production processes and admin tasks:
//
//	meterbridge api                 serve the HTTP API
//	meterbridge worker              run the Temporal worker
//	meterbridge migrate             apply database migrations and exit
//	meterbridge token create|list|revoke
//	meterbridge secrets new-key|rotate
//	meterbridge schedules sync
//	meterbridge backfill -tenant T -action publish -from 2026-01-01 -to 2026-07-01
//
// Configuration comes from the environment (see README). This binary does not link the
// Temporal server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "meterbridge:", err)
		os.Exit(1)
	}
}

const usage = `usage: meterbridge <command> [flags]

commands:
  api                       serve the HTTP API (METERBRIDGE_API_ADDR)
  worker                    run the Temporal worker
  migrate                   apply database migrations
  token create|list|revoke  manage API tokens
  secrets new-key           print a new credential key for METERBRIDGE_SECRET_KEYS
  secrets rotate            re-seal stored credentials with the first key
  schedules sync            bring every tenant's Temporal Schedules in line with its settings
  backfill                  run a tenant's schedule for a past range of scheduled times
`

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "api":
		return runAPI(ctx, args[1:])
	case "worker":
		return runWorker(ctx, args[1:])
	case "migrate":
		return runMigrate(ctx, args[1:])
	case "token":
		return runToken(ctx, args[1:])
	case "secrets":
		return runSecrets(ctx, args[1:])
	case "schedules":
		return runSchedules(ctx, args[1:])
	case "backfill":
		return runBackfill(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
