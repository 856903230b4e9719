package topo

import (
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// ARPBinding is one IPv4-to-MAC binding (RFC 826) in the mesh, with where
// it was learned.
type ARPBinding struct {
	// IP is the bound IPv4 address.
	IP netip.Addr
	// MAC is the hardware address IP resolves to.
	MAC net.HardwareAddr
	// Host, DPID and OFPort say where the binding was last seen (the
	// sender's switch and local port); Host is "" for a standalone switch.
	Host   string
	DPID   flows.DPID
	OFPort flows.OFPort
	// Static bindings come from the configuration and never age.
	Static bool
	// Learned is when the binding took its current MAC; Seen is when it
	// was last refreshed.
	Learned, Seen time.Time
}

// ARPTable is the mesh-wide IP-to-MAC table. It is safe for concurrent
// use; the proxy ARP app is its only writer.
type ARPTable struct {
	mu       sync.RWMutex
	bindings map[netip.Addr]ARPBinding
	hook     func(ChangeOp, ARPBinding)
}

// SetHook makes fn observe every later Put and Delete, for persistence.
// fn runs under the table's write lock, so calls arrive in table order;
// it must be quick, must not block and must not call back into the
// table. nil removes the hook. Set it once at startup.
func (t *ARPTable) SetHook(fn func(op ChangeOp, b ARPBinding)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hook = fn
}

// NewARPTable returns an empty table.
func NewARPTable() *ARPTable { return &ARPTable{bindings: map[netip.Addr]ARPBinding{}} }

// Get returns the binding of ip.
func (t *ARPTable) Get(ip netip.Addr) (ARPBinding, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	b, ok := t.bindings[ip]
	return b, ok
}

// Put stores b under b.IP.
func (t *ARPTable) Put(b ARPBinding) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bindings[b.IP] = b
	if t.hook != nil {
		t.hook(ChangePut, b)
	}
}

// Delete removes ip's binding and reports whether it was there.
func (t *ARPTable) Delete(ip netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.bindings[ip]
	delete(t.bindings, ip)
	if ok && t.hook != nil {
		t.hook(ChangeDelete, b)
	}
	return ok
}

// Len returns the number of bindings.
func (t *ARPTable) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.bindings)
}

// Select returns the bindings for which keep reports true (all when keep
// is nil), ordered by IP.
func (t *ARPTable) Select(keep func(ARPBinding) bool) []ARPBinding {
	t.mu.RLock()
	var out []ARPBinding
	for _, b := range t.bindings {
		if keep == nil || keep(b) {
			out = append(out, b)
		}
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out
}
