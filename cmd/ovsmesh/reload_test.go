package main

import (
	"slices"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
)

// TestChangedFields checks that a reload names each changed core field by
// its YAML path, so a field added to openflow later is reported without
// a new line in restartOnly.
func TestChangedFields(t *testing.T) {
	base := config.OpenFlow{Listen: []string{"tcp:127.0.0.1:6633"}, EchoInterval: 5 * time.Second, MaxPorts: 10}
	for _, tc := range []struct {
		name string
		edit func(*config.OpenFlow)
		want []string
	}{
		{"unchanged", func(*config.OpenFlow) {}, nil},
		{"one field", func(o *config.OpenFlow) { o.MaxPorts = 11 }, []string{"openflow.max_ports"}},
		{"two fields", func(o *config.OpenFlow) { o.Listen = nil; o.EchoInterval = time.Second },
			[]string{"openflow.listen", "openflow.echo_interval"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base
			next.Listen = slices.Clone(base.Listen)
			tc.edit(&next)
			if got := changedFields("openflow", base, next); !slices.Equal(got, tc.want) {
				t.Errorf("changedFields = %q, want %q", got, tc.want)
			}
		})
	}
	if got := changedFields("x", 1, 2); !slices.Equal(got, []string{"x"}) {
		t.Errorf("non-struct change = %q, want [x]", got)
	}
}
