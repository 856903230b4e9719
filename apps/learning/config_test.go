package learning

import (
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
)

var section = config.Section{Path: "apps.learning", Default: Spec.Config}

func TestConfig(t *testing.T) {
	cfg, err := config.Parse([]byte("apps:\n  learning:\n    idle_timeout: 60s\n"), section)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Section("apps.learning").(*Config); c.IdleTimeout != time.Minute || c.FlapMoves != 4 || c.FlapWindow != 10*time.Second {
		t.Errorf("decoded %+v: file value or default lost", c)
	}
	tests := []struct{ name, doc, want string }{
		{"fractional idle timeout", "apps:\n  learning:\n    idle_timeout: 1500ms\n", "line 3: apps.learning.idle_timeout: must be whole seconds"},
		{"idle timeout too long", "apps:\n  learning:\n    idle_timeout: 65536s\n", "line 3: apps.learning.idle_timeout"},
		{"flap moves", "apps:\n  learning:\n    flap_moves: 0\n", "line 3: apps.learning.flap_moves: must be at least 1"},
		{"flap window overflows a hard timeout", "apps:\n  learning:\n    flap_window: 65536s\n", "line 3: apps.learning.flap_window: must be whole seconds between 1s and 65535s"},
		{"flap window type", "apps:\n  learning:\n    flap_window: ten\n", `line 3: apps.learning.flap_window: "ten" is not a duration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := config.Parse([]byte(tc.doc), section); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
