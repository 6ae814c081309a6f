package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// Recorded histories of real runs (testdata/*.json, written by the integration test
// TestRealHistoriesReplay with METERBRIDGE_RECORD_HISTORIES=1) must replay on today's code.
// A change that would break workflows already running fails here: guard it with
// workflow.GetVersion, and keep the old histories.
func TestRecordedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(BillingCycle)
			r.RegisterWorkflow(ScheduledCycle)
			r.RegisterWorkflow(ReconcileCycles)
			for _, extra := range replayExtras {
				r.RegisterWorkflow(extra)
			}
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		})
	}
}

// replayExtras are further workflows whose histories live in testdata.
var replayExtras []any
