// Package temporalenv gives integration tests an in-process Temporal server shared by the
// tests of one package, bootstrapped like the dev stack's, and a task queue per test so the
// workers of different tests never take each other's work. It links go.temporal.io/server,
// so only integration test packages import it.
package temporalenv

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/meterbridge/meterbridge/dev/localtemporal"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/starter"
	"github.com/meterbridge/meterbridge/workflows"
)

var (
	once   sync.Once
	server *localtemporal.Server
	err0   error
	tqSeq  atomic.Int64

	// DynamicConfig is applied to the package's server; set it in TestMain before the first
	// test (for example a lower continue-as-new threshold).
	DynamicConfig map[string]any
)

// Main runs the package's tests, then stops the Temporal server and the database cluster.
func Main(m *testing.M) int {
	code := m.Run()
	if server != nil {
		_ = server.Stop()
	}
	testenv.Stop()
	return code
}

// Server returns the package's in-process Temporal server.
func Server(t testing.TB) *localtemporal.Server {
	t.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		server, err0 = localtemporal.Start(ctx, localtemporal.Options{
			SearchAttributes: workflows.SearchAttributes(),
			DynamicConfig:    DynamicConfig,
			LogLevel:         "error",
		})
	})
	if err0 != nil {
		t.Fatalf("temporal server: %v", err0)
	}
	return server
}

// Client dials the package's server; the client is closed after the test.
func Client(t testing.TB) client.Client {
	t.Helper()
	srv := Server(t)
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: testenv.TemporalLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := starter.EnsureSearchAttributes(ctx, c, srv.Namespace()); err != nil {
		t.Fatal(err)
	}
	return c
}

// TaskQueue returns a task queue no other test uses, so workers of different tests never
// take each other's work.
func TaskQueue(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return fmt.Sprintf("test-%d-%s", tqSeq.Add(1), name)
}
