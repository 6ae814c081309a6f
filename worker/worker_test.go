package worker

import (
	"reflect"
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
