package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/emulators/fault"
	"github.com/meterbridge/meterbridge/dev/testenv/temporalenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// productionBinary builds cmd/meterbridge once per test run.
func productionBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "meterbridge-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "meterbridge")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/meterbridge").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build meterbridge: %v", buildErr)
	}
	return binPath
}

// A worker process killed with SIGKILL in the middle of pushing loses nothing: the page's
// attempt times out on its heartbeat, another worker retries it, items already applied are
// skipped, and an item whose write landed just before the kill is recognised by reading the
// PSA back. Every quantity is written exactly once.
func TestWorkerKilledMidPushWritesEachQuantityOnce(t *testing.T) {
	s := newStack(t)
	s.patchSettings(`{"settings": {"publish": {"approval": {"mode": "automatic"}}}}`)
	s.starter.HeartbeatTimeout = 3 * time.Second
	srv := temporalenv.Server(t)

	proc := exec.Command(productionBinary(t), "worker")
	proc.Env = append(os.Environ(),
		"DATABASE_URL="+s.databaseURL,
		"METERBRIDGE_SECRET_KEYS="+s.secretKeys,
		"METERBRIDGE_TASK_QUEUE="+s.taskQueue,
		"METERBRIDGE_SMTP_ADDR="+s.mail.SMTPAddr(),
		"METERBRIDGE_SMTP_TLS=none",
		"METERBRIDGE_ALLOW_PRIVATE_TARGETS=true", // the emulators answer on loopback over http
		"METERBRIDGE_LOG_LEVEL=warn",
		"TEMPORAL_ADDRESS="+srv.FrontendAddress(),
		"TEMPORAL_NAMESPACE="+srv.Namespace(),
	)
	proc.Stdout, proc.Stderr = os.Stderr, os.Stderr
	require.NoError(t, proc.Start())
	t.Cleanup(func() { _ = proc.Process.Kill(); _, _ = proc.Process.Wait() })

	// Every ConnectWise answer takes a while, so the kill lands inside the push.
	s.world.ConnectWise.Faults().Set(fault.Settings{Latency: fault.Duration(700 * time.Millisecond)})
	id := s.publish(nil)
	eventually(t, 90*time.Second, "the first item applied", func() bool {
		for _, it := range s.items(id) {
			if it.State == billing.Applied {
				return true
			}
		}
		return false
	})
	require.NoError(t, proc.Process.Signal(syscall.SIGKILL))
	_, _ = proc.Process.Wait()
	applied := 0
	for _, it := range s.items(id) {
		if it.State == billing.Applied {
			applied++
		}
	}
	require.Less(t, applied, 3, "the kill must land before the page finished")

	s.startWorker()
	c := s.waitCycle(id, 2*time.Minute)
	require.Equal(t, billing.Completed, c.Status, c.Error)
	require.Equal(t, 3, c.Counts.Applied)
	s.assertPublishedOnce()

}
