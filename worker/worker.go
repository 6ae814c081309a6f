// Package worker assembles the Temporal worker: meterbridge's workflows and activities on
// its task queue.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/meterbridge/meterbridge/activities"
	"github.com/meterbridge/meterbridge/workflows"
)

// Options tune the worker.
type Options struct {
	// TaskQueue defaults to workflows.TaskQueue; tests give each test its own.
	TaskQueue string
	// MaxConcurrentActivities bounds parallel outside calls (default 20).
	MaxConcurrentActivities int
	// Identity names the worker in the Temporal UI (default host and PID).
	Identity string
	// Status, when set, learns of a fatal error that stops the worker (for /healthz).
	Status *Status
}

// StopTimeout is how long a stopping worker waits for running activities (each finishes
// its current page). Container stop grace periods must be longer (docker-compose.yml).
const StopTimeout = 30 * time.Second

// New returns a worker that is registered but not started.
func New(c client.Client, acts *activities.Activities, opts Options) sdkworker.Worker {
	if opts.MaxConcurrentActivities == 0 {
		opts.MaxConcurrentActivities = 20
	}
	if opts.TaskQueue == "" {
		opts.TaskQueue = workflows.TaskQueue
	}
	w := sdkworker.New(c, opts.TaskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize: opts.MaxConcurrentActivities,
		Identity:                           opts.Identity,
		WorkerStopTimeout:                  StopTimeout,
		OnFatalError: func(err error) {
			if opts.Status != nil {
				opts.Status.Fatal(err)
			}
		},
	})
	Register(w, acts)
	return w
}

// Register puts meterbridge's workflows and activities on a worker (or a replayer or test
// environment with the same registry methods).
func Register(r interface {
	RegisterWorkflow(any)
	RegisterActivity(any)
}, acts *activities.Activities) {
	r.RegisterWorkflow(workflows.BillingCycle)
	r.RegisterWorkflow(workflows.ScheduledCycle)
	r.RegisterWorkflow(workflows.MetricSnapshot)
	r.RegisterWorkflow(workflows.ReconcileCycles)
	r.RegisterActivity(acts)
}
