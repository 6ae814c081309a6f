package worker

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/meterbridge/meterbridge/activities"
	"github.com/meterbridge/meterbridge/workflows"
)

// Workflows call activities by name; a name without a method would fail only at run time.
func TestEveryActivityNameIsAMethodOfActivities(t *testing.T) {
	typ := reflect.TypeOf(&activities.Activities{})
	for _, name := range workflows.ActivityNames() {
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("workflows call activity %q, but *activities.Activities has no such method", name)
		}
	}
}

// Visibility queries name workflow types; a name the worker does not register finds nothing.
func TestWorkflowTypeNamesAreTheRegisteredOnes(t *testing.T) {
	for name, fn := range map[string]any{
		workflows.WorkflowTypeScheduledCycle: workflows.ScheduledCycle,
		workflows.WorkflowTypeMetricSnapshot: workflows.MetricSnapshot,
	} {
		full := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
		if !strings.HasSuffix(full, "."+name) {
			t.Errorf("workflow type %q is registered as %s", name, full)
		}
	}
}
