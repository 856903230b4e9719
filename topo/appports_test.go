package topo

import (
	"testing"
	"time"
)

// TestAppPortStatus checks the published status of app ports: kept only
// for declared ports, forgotten when a port is no longer declared, and
// watchers called only when the declared set changes.
func TestAppPortStatus(t *testing.T) {
	m := NewMesh(nil)
	calls := 0
	cancel := m.WatchAppPorts(func() { calls++ })
	ext0 := AppPort{Host: "h3", Name: "ext0", App: "nat"}

	m.SetAppPortStatus("h3", "ext0", AppPortStatus{OFPort: 3})
	if _, ok := m.AppPortStatus("h3", "ext0"); ok {
		t.Error("status of an undeclared port was recorded")
	}
	m.SetAppPorts([]AppPort{ext0})
	if calls != 1 {
		t.Errorf("watcher called %d times after the first set, want 1", calls)
	}
	m.SetAppPorts([]AppPort{ext0})
	if calls != 1 {
		t.Errorf("watcher called %d times after setting the same set again, want 1", calls)
	}
	since := time.Unix(100, 0)
	missing := AppPortStatus{OFPort: -1, Error: "could not open network device ext0 (No such device)", Since: since}
	m.SetAppPortStatus("h3", "ext0", missing)
	if st, ok := m.AppPortStatus("h3", "ext0"); !ok || st != missing || st.Up() || st.String() != missing.Error {
		t.Errorf("AppPortStatus = %+v, %v (%q)", st, ok, st.String())
	}
	up := AppPortStatus{OFPort: 4, Since: since}
	m.SetAppPortStatus("h3", "ext0", up)
	if st, _ := m.AppPortStatus("h3", "ext0"); !st.Up() || st.String() != "up (ofport 4)" {
		t.Errorf("AppPortStatus = %+v (%q), want up", st, st.String())
	}
	if s := (AppPortStatus{}).String(); s != "pending (no ofport yet)" {
		t.Errorf("zero status renders as %q", s)
	}

	// Moved to another app: same port, another owner counts as a change.
	m.SetAppPorts([]AppPort{{Host: "h3", Name: "ext0", App: "other"}})
	if calls != 2 {
		t.Errorf("watcher called %d times after the owner changed, want 2", calls)
	}
	m.SetAppPorts(nil)
	if calls != 3 {
		t.Errorf("watcher called %d times after removal, want 3", calls)
	}
	if _, ok := m.AppPortStatus("h3", "ext0"); ok {
		t.Error("status of a removed port kept")
	}
	cancel()
	m.SetAppPorts([]AppPort{ext0})
	if calls != 3 {
		t.Errorf("cancelled watcher called")
	}
}
