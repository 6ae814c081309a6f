// Command meterbridge runs meterbridge's production processes and admin tasks:
//
//	meterbridge api                 serve the HTTP API
//	meterbridge worker              run the Temporal worker
//	meterbridge migrate             apply database migrations and exit
//	meterbridge token create|list|revoke
//	meterbridge secrets new-key|rotate
//	meterbridge schedules sync
//	meterbridge backfill -tenant T -action publish -from 2026-01-01 -to 2026-07-01
//	meterbridge version             module version, commit and Temporal SDK version
//	meterbridge probe URL           ask a health endpoint (container healthchecks)
//
// Every command answers -h. Configuration comes from the environment (see README). Exit
// codes: 0 success (and -h), 1 a failure while running, 2 a usage error naming the flag.
// This binary does not link the Temporal server.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := report(run(ctx, os.Args[1:]), os.Stderr)
	stop()
	os.Exit(code)
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
  version                   print the version, commit and Temporal SDK version
  probe URL                 ask a health endpoint; exit 0 when it answers 2xx

Run 'meterbridge <command> -h' for a command's flags.
`

func printUsage(w io.Writer) { fmt.Fprint(w, usage) }

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		printUsage(os.Stderr)
		return usagef("", "a command is required")
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
	case "version", "-version", "--version":
		return runVersion(args[1:])
	case "probe":
		return runProbe(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		printUsage(os.Stdout)
		return flag.ErrHelp
	}
	return usagef("", "unknown command %q (run 'meterbridge -h' for the list)", args[0])
}
