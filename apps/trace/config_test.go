package trace

import (
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
)

var section = config.Section{Path: "apps.trace", Default: Spec.Config}

// TestConfig decodes the section and checks its limits name the field
// and its line.
func TestConfig(t *testing.T) {
	cfg, err := config.Parse([]byte("apps:\n  trace:\n    flow_timeout: 10s\n"), section)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Section("apps.trace").(*Config); c.FlowTimeout != 10*time.Second || c.StepTimeout != time.Second || c.MaxHops != 256 {
		t.Errorf("decoded %+v: file value or default lost", c)
	}
	tests := []struct{ name, doc, want string }{
		{"flow timeout too short", "apps:\n  trace:\n    flow_timeout: 1s\n", "line 3: apps.trace.flow_timeout: must be whole seconds between 2s and 60s"},
		{"fractional flow timeout", "apps:\n  trace:\n    flow_timeout: 2500ms\n", "line 3: apps.trace.flow_timeout: must be whole seconds"},
		{"step timeout too short", "apps:\n  trace:\n    step_timeout: 50ms\n", "line 3: apps.trace.step_timeout: must be between 100ms and 5s"},
		{"step timeout not below the flow timeout", "apps:\n  trace:\n    flow_timeout: 2s\n    step_timeout: 3s\n", "line 4: apps.trace.step_timeout: must be shorter than flow_timeout"},
		{"max hops", "apps:\n  trace:\n    max_hops: 4\n", "line 3: apps.trace.max_hops: must be between 8 and 4096"},
		{"unknown field", "apps:\n  trace:\n    timeout: 5s\n", "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := config.Parse([]byte(tc.doc), section); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
