package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Up checks the prerequisites and brings up the lab described by opts:
// the underlay and management networks, every host's daemons and br-phy,
// and the guests (not yet attached; see AttachGuests). Hosts are set up in
// parallel. It writes Dir/lab.json as it goes and Dir/ovsmesh.yaml at the
// end; the directories Dir/h1 .. Dir/hN are replaced.
//
// Up fails when Dir already holds a lab or when one of the names it needs
// already exists (a leftover: run Down on its directory, or use another
// Prefix). When it fails part way, it tears down what it made and
// returns the error joined with any teardown error.
func Up(ctx context.Context, opts Options) (*Lab, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if err := CheckPrereqs(); err != nil {
		return nil, err
	}
	log := orDiscard(opts.Logger)
	start := time.Now()
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab up: %w", err)
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, StateFile)); !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("lab up: %s already holds a lab (run `ovsmesh lab down --dir %s` first)", opts.Dir, opts.Dir)
	}
	st := plan(opts)
	if err := checkFree(ctx, st); err != nil {
		return nil, err
	}
	st.Namespaces, st.RootLinks = nil, nil
	l := &Lab{dir: opts.Dir, log: log, st: st}
	if err := writeState(opts.Dir, st); err != nil {
		return nil, fmt.Errorf("lab up: %w", err)
	}
	if err := l.up(ctx); err != nil {
		// The caller's ctx may be what failed; tear down regardless.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return nil, errors.Join(err, l.Down(dctx))
	}
	log.Debug("lab up", "dir", opts.Dir, "hosts", opts.Hosts, "guests", opts.Guests, "took", time.Since(start))
	return l, nil
}

// plan returns the state of a lab that is up according to o (with o's
// defaults set): every host and guest with its names and addresses.
func plan(o Options) *state {
	st := &state{Version: stateVersion, Options: o}
	p := o.Prefix
	st.addNS(nsName(p, ulNSName))
	st.addRootLink(mgmtBridgeName(p))
	for i := 1; i <= o.Hosts; i++ {
		h := Host{
			Name: hostName(i), Index: i, NS: nsName(p, hostName(i)),
			Dir:    filepath.Join(o.Dir, hostName(i)),
			MgmtIP: MgmtIP(o.Slot, i), UnderlayIP: UnderlayIP(i),
			PIDs: map[Daemon]int{}, TLS: o.TLS,
		}
		st.Hosts = append(st.Hosts, h)
		st.addNS(h.NS)
		st.addRootLink(mgmtLinkName(p, i))
		for g := 1; g <= o.Guests; g++ {
			gu := newGuest(p, h.Name, i, g)
			st.Guests = append(st.Guests, gu)
			st.addNS(gu.NS)
		}
	}
	if o.Outside {
		st.addNS(nsName(p, outsideNSName))
	}
	return st
}

func newGuest(prefix, host string, h, g int) Guest {
	name := guestName(h, g)
	return Guest{Name: name, Host: host, NS: nsName(prefix, name), MAC: GuestMAC(h, g),
		IP: GuestIP(h, g), Port: guestPort(name)}
}

// checkFree fails when a namespace or root link st needs already exists.
func checkFree(ctx context.Context, st *state) error {
	out, err := run(ctx, nil, "ip", "netns", "list")
	if err != nil {
		return fmt.Errorf("lab up: list namespaces: %w", err)
	}
	existing := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			existing[f[0]] = true
		}
	}
	var taken []string
	for _, ns := range st.Namespaces {
		if existing[ns] {
			taken = append(taken, "namespace "+ns)
		}
	}
	for _, l := range st.RootLinks {
		if _, err := os.Stat("/sys/class/net/" + l); err == nil {
			taken = append(taken, "link "+l)
		}
	}
	cip := ControllerIP(st.Options.Slot)
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifc := range ifs {
			addrs, _ := ifc.Addrs()
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.Equal(cip.AsSlice()) {
					taken = append(taken, fmt.Sprintf("controller address %s (on %s: slot %d is in use, pick another --slot)", cip, ifc.Name, st.Options.Slot))
				}
			}
		}
	}
	if len(taken) > 0 {
		return fmt.Errorf("lab up: %s already exist (a leftover lab? run `ovsmesh lab down` on its dir, or use another --name)", strings.Join(taken, ", "))
	}
	return nil
}

func (l *Lab) up(ctx context.Context) error {
	o := l.Options()
	if o.TLS {
		if err := l.upPKI(o); err != nil {
			return err
		}
	}
	if err := l.upNetworks(ctx, o); err != nil {
		return err
	}
	hosts := l.Hosts()
	err := parallel(len(hosts), func(i int) error {
		if err := l.upHost(ctx, o, hosts[i]); err != nil {
			return err
		}
		for _, g := range l.Guests() {
			if g.Host == hosts[i].Name {
				if err := l.createGuest(ctx, g, hosts[i], false); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.Outside {
		if err := l.upOutside(ctx, o, hosts[len(hosts)-1]); err != nil {
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return writeConfig(l.dir, l.st)
}

// upNetworks creates the underlay namespace with its bridge and the root
// management bridge.
func (l *Lab) upNetworks(ctx context.Context, o Options) error {
	ul := nsName(o.Prefix, ulNSName)
	if err := l.addNS(ctx, ul); err != nil {
		return err
	}
	if err := ipBatch(ctx, ul, "link set lo up", "link add "+ulBridge+" type bridge", "link set "+ulBridge+" up"); err != nil {
		return fmt.Errorf("lab up: underlay bridge: %w", err)
	}
	br := mgmtBridgeName(o.Prefix)
	if err := l.update(func(s *state) { s.addRootLink(br) }); err != nil {
		return err
	}
	if err := ipCmd(ctx, "", "link", "add", br, "type", "bridge"); err != nil {
		return fmt.Errorf("lab up: management bridge: %w", err)
	}
	if err := noIPv6(br); err != nil {
		return err
	}
	cip := mgmtNet(o.Slot)
	if err := ipBatch(ctx, "",
		fmt.Sprintf("addr add %s/%d dev %s", ControllerIP(o.Slot), cip.Bits(), br),
		"link set "+br+" up"); err != nil {
		return fmt.Errorf("lab up: management bridge: %w", err)
	}
	return nil
}

// addNS records and creates a namespace with IPv6 off, so the only
// traffic in the lab is what tests send.
func (l *Lab) addNS(ctx context.Context, ns string) error {
	if err := l.update(func(s *state) { s.addNS(ns) }); err != nil {
		return err
	}
	if err := ipCmd(ctx, "", "netns", "add", ns); err != nil {
		return fmt.Errorf("lab: create namespace: %w", err)
	}
	if _, err := inNS(ctx, ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"); err != nil {
		return fmt.Errorf("lab: namespace %s: disable IPv6: %w", ns, err)
	}
	return nil
}

// noIPv6 disables IPv6 on a root-namespace link (no router or neighbour
// solicitations leak into the lab). A kernel without IPv6 is fine.
func noIPv6(link string) error {
	err := os.WriteFile("/proc/sys/net/ipv6/conf/"+link+"/disable_ipv6", []byte("1"), 0o644)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("lab: disable IPv6 on %s: %w", link, err)
	}
	return nil
}

// upHost creates host h's namespace, links, daemons and br-phy.
func (l *Lab) upHost(ctx context.Context, o Options, h Host) error {
	fail := func(what string, err error) error { return fmt.Errorf("lab up: host %s: %s: %w", h.Name, what, err) }
	if err := l.addNS(ctx, h.NS); err != nil {
		return err
	}
	ml := mgmtLinkName(o.Prefix, h.Index)
	if err := l.update(func(s *state) { s.addRootLink(ml) }); err != nil {
		return err
	}
	if err := ipCmd(ctx, "", "link", "add", ml, "type", "veth", "peer", "name", mgmtIf, "netns", h.NS); err != nil {
		return fail("management veth", err)
	}
	if err := noIPv6(ml); err != nil {
		return err
	}
	if err := ipCmd(ctx, "", "link", "set", ml, "master", mgmtBridgeName(o.Prefix), "up"); err != nil {
		return fail("management veth", err)
	}
	ul := nsName(o.Prefix, ulNSName)
	if err := ipCmd(ctx, h.NS, "link", "add", ulIf, "type", "veth", "peer", "name", h.Name, "netns", ul); err != nil {
		return fail("underlay veth", err)
	}
	if err := ipCmd(ctx, ul, "link", "set", h.Name, "master", ulBridge, "up"); err != nil {
		return fail("underlay veth", err)
	}
	if err := ipBatch(ctx, h.NS, "link set lo up",
		fmt.Sprintf("addr add %s/%d dev %s", h.MgmtIP, mgmtNet(o.Slot).Bits(), mgmtIf),
		"link set "+mgmtIf+" up", "link set "+ulIf+" up"); err != nil {
		return fail("addresses", err)
	}
	if err := offloadsOff(ctx, h.NS, ulIf, false); err != nil {
		return fail("offloads", err)
	}
	if err := l.startOVS(ctx, h); err != nil {
		return err
	}
	if o.LXC {
		if err := ipBatch(ctx, h.NS, "link add "+lxcBridge+" type bridge",
			fmt.Sprintf("link add %s mtu %d type veth peer name %s mtu %d", lxcOVS, GuestMTU, lxcBr, GuestMTU),
			"link set "+lxcBr+" master "+lxcBridge,
			"link set "+lxcBridge+" up", "link set "+lxcBr+" up", "link set "+lxcOVS+" up"); err != nil {
			return fail("lxc bridge", err)
		}
		for _, ifname := range []string{lxcOVS, lxcBr} {
			if err := offloadsOff(ctx, h.NS, ifname, false); err != nil {
				return fail("offloads", err)
			}
		}
	}
	if o.PreBridge {
		if _, err := l.VSCtl(ctx, h.Name, "--may-exist", "add-br", MeshBridge,
			"--", "set", "bridge", MeshBridge, "datapath_type=netdev"); err != nil {
			return fail("pre-made mesh bridge", err)
		}
	}
	return nil
}

// startOVS creates host h's database, starts its daemons and builds
// br-phy with the underlay address.
func (l *Lab) startOVS(ctx context.Context, h Host) error {
	fail := func(what string, err error) error { return fmt.Errorf("lab up: host %s: %s: %w", h.Name, what, err) }
	if err := os.RemoveAll(h.Dir); err != nil {
		return fail("clear host dir", err)
	}
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		return fail("host dir", err)
	}
	if _, err := run(ctx, nil, "ovsdb-tool", "create", filepath.Join(h.Dir, "conf.db"), schemaPath()); err != nil {
		return fail("create db", err)
	}
	if err := l.Start(ctx, h.Name, OVSDBServer); err != nil {
		return err
	}
	if _, err := l.VSCtl(ctx, h.Name, "--no-wait", "init"); err != nil {
		return fail("init db", err)
	}
	if err := l.upHostTLS(ctx, h); err != nil {
		return err
	}
	if err := l.Start(ctx, h.Name, Vswitchd); err != nil {
		return err
	}
	return nil
}

// setupPhy (re)creates br-phy with the underlay port, puts the underlay
// address on it and seeds the tunnel neighbour cache. It is idempotent, and is rerun after ovs-vswitchd
// restarts because the br-phy tap device dies with the daemon.
func (l *Lab) setupPhy(ctx context.Context, h Host) error {
	fail := func(what string, err error) error { return fmt.Errorf("host %s: %s: %w", h.Name, what, err) }
	if _, err := l.VSCtl(ctx, h.Name, "--may-exist", "add-br", phyBridge,
		"--", "set", "bridge", phyBridge, "datapath_type=netdev", "other_config:hwaddr="+phyMAC(h.Index).String(),
		"--", "--may-exist", "add-port", phyBridge, ulIf); err != nil {
		return fail("br-phy", err)
	}
	if err := ipBatch(ctx, h.NS, fmt.Sprintf("addr replace %s/16 dev %s", h.UnderlayIP, phyBridge),
		"link set "+phyBridge+" up"); err != nil {
		return fail("br-phy address", err)
	}
	// Seed the userspace tunnel neighbour cache with every peer's br-phy
	// MAC (they are deterministic). Otherwise the first packet to each
	// peer is dropped while OVS resolves it, and a guest's first ARP
	// waits a one-second retransmit. One unixctl connection carries all
	// N-1 entries: an ovs-appctl process each made this step O(hosts²)
	// process starts for the lab.
	ac, err := dialAppctl(ctx, h.CtlSocket(Vswitchd))
	if err != nil {
		return fail("tunnel neighbours", err)
	}
	defer ac.close()
	for _, p := range l.Hosts() {
		if p.Name == h.Name {
			continue
		}
		if _, err := ac.call(ctx, "tnl/neigh/set", phyBridge, p.UnderlayIP.String(), phyMAC(p.Index).String()); err != nil {
			return fail("tunnel neighbour", err)
		}
	}
	return nil
}

// schemaPath returns the installed Open_vSwitch schema.
func schemaPath() string {
	for _, p := range []string{"/usr/share/openvswitch/vswitch.ovsschema", "/usr/local/share/openvswitch/vswitch.ovsschema"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/usr/share/openvswitch/vswitch.ovsschema"
}
