package topo

import (
	"net"
	"sort"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// MACKey identifies a MAC within an L2 domain: Domain 0 is the mesh;
// a standalone switch (not a configured host) is its own domain, keyed by
// its DPID.
type MACKey struct {
	Domain flows.DPID
	MAC    [6]byte
}

// MACEntry is where a MAC was learned.
type MACEntry struct {
	// MAC is the learned Ethernet address.
	MAC net.HardwareAddr
	// Domain is 0 for the mesh, else the standalone switch's DPID.
	Domain flows.DPID
	// DPID and OFPort are the switch and local port the MAC sits behind.
	DPID   flows.DPID
	OFPort flows.OFPort
	// Host is the configured host owning DPID ("" for a standalone switch).
	Host string
	// Learned is when the MAC was learned at this location; Moves counts
	// moves since it was first learned.
	Learned time.Time
	Moves   uint64
}

// MACTable is the mesh-wide MAC table. It is safe for concurrent use; the
// learning app is its only writer.
type MACTable struct {
	mu      sync.RWMutex
	entries map[MACKey]MACEntry
	hook    func(ChangeOp, MACEntry)
}

// ChangeOp says what a table change did.
type ChangeOp uint8

// Table change operations passed to change hooks.
const (
	// ChangePut stored an entry (new, moved or refreshed).
	ChangePut ChangeOp = iota + 1
	// ChangeDelete removed an entry; the hook gets the removed entry.
	ChangeDelete
)

// SetHook makes fn observe every later Put and Delete, for persistence.
// fn runs under the table's write lock, so calls arrive in table order;
// it must be quick, must not block and must not call back into the
// table. nil removes the hook. Set it once at startup.
func (t *MACTable) SetHook(fn func(op ChangeOp, e MACEntry)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hook = fn
}

// NewMACTable returns an empty table.
func NewMACTable() *MACTable { return &MACTable{entries: map[MACKey]MACEntry{}} }

// KeyOf returns the key of mac in domain; mac must be 6 bytes.
func KeyOf(domain flows.DPID, mac net.HardwareAddr) MACKey {
	return MACKey{Domain: domain, MAC: [6]byte(mac[:6])}
}

// Get returns the entry for k.
func (t *MACTable) Get(k MACKey) (MACEntry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.entries[k]
	return e, ok
}

// Put stores e under its key.
func (t *MACTable) Put(e MACEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries[KeyOf(e.Domain, e.MAC)] = e
	if t.hook != nil {
		t.hook(ChangePut, e)
	}
}

// Delete removes k and reports whether it was there.
func (t *MACTable) Delete(k MACKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[k]
	delete(t.entries, k)
	if ok && t.hook != nil {
		t.hook(ChangeDelete, e)
	}
	return ok
}

// Len returns the number of entries.
func (t *MACTable) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.entries)
}

// Select returns the entries for which keep reports true, ordered by
// domain then MAC.
func (t *MACTable) Select(keep func(MACEntry) bool) []MACEntry {
	t.mu.RLock()
	var out []MACEntry
	for _, e := range t.entries {
		if keep == nil || keep(e) {
			out = append(out, e)
		}
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Domain != out[j].Domain {
			return out[i].Domain < out[j].Domain
		}
		return string(out[i].MAC) < string(out[j].MAC)
	})
	return out
}
