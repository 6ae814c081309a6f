// Command meterbridge-dev runs the whole product locally in one process: PostgreSQL, an
// in-process Temporal server with its Web UI, the emulators, the worker, the API and demo
// data. Ctrl-C stops everything; running it again keeps the data (in .devstack/).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/meterbridge/meterbridge/dev/devstack"
	"github.com/meterbridge/meterbridge/telemetry"
)

func main() {
	o := devstack.Defaults()
	flag.StringVar(&o.DataDir, "data", o.DataDir, "folder for PostgreSQL, Temporal and demo tokens")
	flag.StringVar(&o.APIAddr, "api", o.APIAddr, "API address")
	flag.IntVar(&o.TemporalPort, "temporal-port", o.TemporalPort, "Temporal frontend port")
	flag.IntVar(&o.UIPort, "ui-port", o.UIPort, "Temporal Web UI port")
	flag.IntVar(&o.ConnectWisePort, "connectwise-port", o.ConnectWisePort, "ConnectWise emulator port")
	flag.IntVar(&o.AutotaskPort, "autotask-port", o.AutotaskPort, "Autotask emulator port")
	flag.IntVar(&o.BackupPort, "backup-port", o.BackupPort, "backup usage emulator port")
	flag.IntVar(&o.LicencesPort, "licences-port", o.LicencesPort, "licence portal emulator port")
	flag.IntVar(&o.GaugesPort, "gauges-port", o.GaugesPort, "gauge service emulator port")
	flag.IntVar(&o.MailPort, "mail-port", o.MailPort, "received-mail viewer port")
	flag.IntVar(&o.SMTPPort, "smtp-port", o.SMTPPort, "SMTP sink port")
	flag.IntVar(&o.MetricsPort, "metrics-port", o.MetricsPort, "metrics and health port of the API and worker (0: off)")
	flag.Parse()

	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Traces go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set (a local Jaeger, say), as in
	// production; unset, nothing is traced.
	stopTracing, err := telemetry.SetupTracing(ctx, "dev")
	if err != nil {
		fmt.Fprintln(os.Stderr, "meterbridge-dev:", err)
		os.Exit(1)
	}
	err = devstack.Run(ctx, o)
	_ = stopTracing(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "meterbridge-dev:", err)
		os.Exit(1)
	}
}
