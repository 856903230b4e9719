package lab

import (
	"context"
	"fmt"
	"slices"
)

// createGuest creates guest g's namespace and veth pair into host h, and,
// when attach is set, adds the host end to the mesh bridge (without LXC).
func (l *Lab) createGuest(ctx context.Context, g Guest, h Host, attach bool) error {
	fail := func(what string, err error) error { return fmt.Errorf("guest %s: %s: %w", g.Name, what, err) }
	if err := l.addNS(ctx, g.NS); err != nil {
		return err
	}
	return l.plugGuest(ctx, g, h, attach, fail)
}

// plugGuest creates the veth pair eth0 (in g.NS) / g.Port (in h.NS) with
// g's MAC and IP (and, with Options.Outside, a default route via
// NATRouterIP) and plugs the host end in.
func (l *Lab) plugGuest(ctx context.Context, g Guest, h Host, attach bool, fail func(string, error) error) error {
	if err := ipCmd(ctx, g.NS, "link", "add", "eth0", "address", g.MAC.String(), "mtu", fmt.Sprint(GuestMTU),
		"type", "veth", "peer", "name", g.Port, "netns", h.NS); err != nil {
		return fail("veth", err)
	}
	lines := []string{"link set lo up", fmt.Sprintf("addr add %s/8 dev eth0", g.IP), "link set eth0 up"}
	if l.Options().Outside {
		lines = append(lines, fmt.Sprintf("route add default via %s dev eth0", NATRouterIP))
	}
	if err := ipBatch(ctx, g.NS, lines...); err != nil {
		return fail("address", err)
	}
	if err := offloadsOff(ctx, g.NS, "eth0", true); err != nil {
		return fail("offloads", err)
	}
	if err := offloadsOff(ctx, h.NS, g.Port, false); err != nil {
		return fail("offloads", err)
	}
	// The host end gets the guest MTU too: ovsmesh warns about mesh ports
	// whose MTU exceeds the overlay's.
	up := []string{"link", "set", g.Port, "mtu", fmt.Sprint(GuestMTU), "up"}
	if l.Options().LXC {
		up = []string{"link", "set", g.Port, "mtu", fmt.Sprint(GuestMTU), "master", lxcBridge, "up"}
	}
	if err := ipCmd(ctx, h.NS, up...); err != nil {
		return fail("host end", err)
	}
	if attach && !l.Options().LXC {
		if _, err := l.VSCtl(ctx, h.Name, "--may-exist", "add-port", MeshBridge, g.Port); err != nil {
			return fail("attach", err)
		}
	}
	return nil
}

// AttachGuests waits until the mesh bridge br-int exists on every host
// (ovsmesh creates it over OVSDB, or Options.PreBridge did) and adds the
// guests' host ends to it: every guest port, or with Options.LXC the one
// patch port lxc-ovs per host. Guests added or moved later are attached
// at once. ctx bounds the wait; AttachGuests is idempotent.
func (l *Lab) AttachGuests(ctx context.Context) error {
	if err := l.update(func(s *state) { s.Attached = true }); err != nil {
		return err
	}
	hosts, guests, lxc := l.Hosts(), l.Guests(), l.Options().LXC
	return parallel(len(hosts), func(i int) error {
		h := hosts[i]
		if _, err := l.VSCtl(ctx, h.Name, "wait-until", "Bridge", MeshBridge); err != nil {
			return fmt.Errorf("attach guests: host %s: wait for %s: %w", h.Name, MeshBridge, err)
		}
		args := []string{"--may-exist", "add-port", MeshBridge, lxcOVS}
		if !lxc {
			args = nil
			for _, g := range guests {
				if g.Host == h.Name {
					if args != nil {
						args = append(args, "--")
					}
					args = append(args, "--may-exist", "add-port", MeshBridge, g.Port)
				}
			}
		}
		if len(args) == 0 {
			return nil
		}
		if _, err := l.VSCtl(ctx, h.Name, args...); err != nil {
			return fmt.Errorf("attach guests: host %s: %w", h.Name, err)
		}
		return nil
	})
}

// AddGuest creates a new guest on host (the next free number J there:
// name hIgJ, MAC 02:00:00:00:II:JJ, IP 10.0.I.J) and, once AttachGuests
// has run, attaches it.
func (l *Lab) AddGuest(ctx context.Context, host string) (Guest, error) {
	h, err := l.Host(host)
	if err != nil {
		return Guest{}, err
	}
	var g Guest
	err = l.update(func(s *state) {
		for j := 1; j <= maxGuestNumber; j++ {
			if _, taken := s.guest(guestName(h.Index, j)); !taken {
				g = newGuest(s.Options.Prefix, h.Name, h.Index, j)
				s.Guests = append(s.Guests, g)
				return
			}
		}
	})
	if err != nil {
		return Guest{}, err
	}
	if g.Name == "" {
		return Guest{}, fmt.Errorf("add guest on %s: all %d guest numbers are taken", host, maxGuestNumber)
	}
	l.mu.Lock()
	attach := l.st.Attached
	l.mu.Unlock()
	if err := l.createGuest(ctx, g, h, attach); err != nil {
		return Guest{}, fmt.Errorf("add guest on %s: %w", host, err)
	}
	return g, nil
}

// RemoveGuest detaches guest from its host and deletes its namespace.
func (l *Lab) RemoveGuest(ctx context.Context, guest string) error {
	g, err := l.Guest(guest)
	if err != nil {
		return err
	}
	if err := l.unplug(ctx, g); err != nil {
		return fmt.Errorf("remove guest %s: %w", guest, err)
	}
	if err := ipCmd(ctx, "", "netns", "del", g.NS); err != nil && !isMissing(err) {
		return fmt.Errorf("remove guest %s: %w", guest, err)
	}
	return l.update(func(s *state) {
		if i, ok := s.guest(guest); ok {
			s.Guests = slices.Delete(s.Guests, i, i+1)
		}
		if i := slices.Index(s.Namespaces, g.NS); i >= 0 {
			s.Namespaces = slices.Delete(s.Namespaces, i, i+1)
		}
	})
}

// MoveGuest unplugs guest from its host and plugs it into host to, keeping
// its namespace, name, MAC and IP (a VM migration). The guest's eth0 is
// recreated, so its own neighbour cache is lost; peers' caches stay valid.
func (l *Lab) MoveGuest(ctx context.Context, guest, to string) (Guest, error) {
	g, err := l.Guest(guest)
	if err != nil {
		return Guest{}, err
	}
	h, err := l.Host(to)
	if err != nil {
		return Guest{}, err
	}
	if err := l.unplug(ctx, g); err != nil {
		return Guest{}, fmt.Errorf("move guest %s: %w", guest, err)
	}
	if err := ipCmd(ctx, g.NS, "link", "del", "eth0"); err != nil && !isMissing(err) {
		return Guest{}, fmt.Errorf("move guest %s: %w", guest, err)
	}
	g.Host = to
	if err := l.update(func(s *state) {
		if i, ok := s.guest(guest); ok {
			s.Guests[i].Host = to
		}
	}); err != nil {
		return Guest{}, err
	}
	l.mu.Lock()
	attach := l.st.Attached
	l.mu.Unlock()
	fail := func(what string, err error) error {
		return fmt.Errorf("move guest %s to %s: %s: %w", guest, to, what, err)
	}
	if err := l.plugGuest(ctx, g, h, attach, fail); err != nil {
		return Guest{}, err
	}
	return g, nil
}

// unplug removes g's port from the mesh bridge of its host, if attached.
func (l *Lab) unplug(ctx context.Context, g Guest) error {
	l.mu.Lock()
	attach := l.st.Attached && !l.st.Options.LXC
	l.mu.Unlock()
	if !attach {
		return nil
	}
	if _, err := l.VSCtl(ctx, g.Host, "--if-exists", "del-port", MeshBridge, g.Port); err != nil {
		return fmt.Errorf("detach from %s: %w", g.Host, err)
	}
	return nil
}
