//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// pairLab is the lab of firstping and steady: 2 hosts, one guest each.
func pairLab(o options, prefix string, slot int) lab.Options {
	return lab.Options{Prefix: prefix, Slot: slot, Hosts: 2, Guests: 1, Tunnel: o.tunnelOr("gre")}
}

// order returns the peers of round r: as given in even rounds, reversed
// in odd ones, so that no peer always runs first (ovsmesh runs first in
// round 0: it makes br-int).
func order(r int, peers ...peer) []peer {
	if r%2 == 1 {
		peers = slices.Clone(peers)
		slices.Reverse(peers)
	}
	return peers
}

// trialAddr returns guest side's (1 or 2) MAC and IP for trial k: MAC
// 02:fa:0S:kk:kk:kk, IP 10.(100+S).k/16, both never used before in the
// run.
func trialAddr(side int, k int) (net.HardwareAddr, netip.Addr) {
	mac := net.HardwareAddr{0x02, 0xfa, byte(side), byte(k >> 16), byte(k >> 8), byte(k)}
	ip := netip.AddrFrom4([4]byte{10, byte(100 + side), byte(k >> 8), byte(k)})
	return mac, ip
}

// readdress gives the guest in ns a new MAC and IP and flushes its
// neighbour cache, without taking eth0 down (a veth takes a new MAC while
// up, so the switch sees no port event).
func readdress(ctx context.Context, ns string, mac net.HardwareAddr, ip netip.Addr) error {
	return ipBatch(ctx, ns,
		"link set dev eth0 address "+mac.String(),
		"addr flush dev eth0",
		fmt.Sprintf("addr add %s/8 dev eth0", ip),
		"neigh flush all")
}

// runFirstPing measures the cold first ping h1g1 -> h2g1: before every
// trial both guests get a MAC and IP never seen before and flush their
// neighbour caches, so the RTT of `ping -c 1` includes the ARP exchange
// and whatever the switches must learn. Peers take turns in blocks of
// -trials in the same lab.
func runFirstPing(ctx context.Context, o options, slot int) ([]row, error) {
	e, err := newEnv(ctx, o, pairLab(o, "dpfp", slot), nil)
	if err != nil {
		return nil, err
	}
	defer e.close()
	g1, g2 := mustGuest(e.l, "h1g1"), mustGuest(e.l, "h2g1")
	ip2 := g2.IP
	peers := []peer{peerOvsmesh, peerNormal}
	if o.testcontroller {
		peers = append(peers, peerTC)
	}
	rtts := map[peer][]float64{}
	lost := map[peer]int{}
	k := 0
	for r := range o.rounds {
		for _, p := range order(r, peers...) {
			if err := e.use(ctx, p); err != nil {
				return nil, err
			}
			if err := e.waitPing(ctx, g1.Name, ip2, 30*time.Second); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			for range o.trials {
				k++
				mac1, ip1 := trialAddr(1, k)
				mac2, ip2new := trialAddr(2, k)
				if err := readdress(ctx, g1.NS, mac1, ip1); err != nil {
					return nil, err
				}
				if err := readdress(ctx, g2.NS, mac2, ip2new); err != nil {
					return nil, err
				}
				ip2 = ip2new
				out, _ := e.l.Exec(ctx, g1.NS, "ping", "-n", "-c", "1", "-W", "2", ip2.String())
				ts := pingTimes(out)
				if len(ts) == 0 {
					lost[p]++
					rtts[p] = append(rtts[p], math.Inf(1))
					o.progress("%s trial %d: lost", p, k)
					continue
				}
				rtts[p] = append(rtts[p], ts[0])
				o.progress("%s trial %d: %.3f ms", p, k, ts[0])
			}
		}
	}
	fmt.Printf("cold first ping h1g1 -> h2g1 (%s, 2 hosts, new MACs and IPs on both guests every trial), RTT of ping -c 1 in ms:\n", pairLab(o, "", 0).Tunnel)
	for _, p := range peers {
		series(os.Stdout, string(p), "ms", rtts[p])
		if lost[p] > 0 {
			fmt.Printf("  %s: %d trials lost (counted as the slowest)\n", p, lost[p])
		}
	}
	rows := []row{{
		What:    fmt.Sprintf("cold first ping (ms, median of %d)", len(rtts[peerOvsmesh])),
		Ovsmesh: median(rtts[peerOvsmesh]), Peer: string(peerNormal), PeerValue: median(rtts[peerNormal]),
		Target: target{Ratio: true, Op: "<=", Value: 1.1},
	}}
	if o.testcontroller {
		rows = append(rows, row{
			What:    "cold first ping vs testcontroller (reference)",
			Ovsmesh: median(rtts[peerOvsmesh]), Peer: string(peerTC), PeerValue: median(rtts[peerTC]),
			Target: target{Ratio: true, Op: "<=", Value: 1},
		})
	}
	return rows, nil
}

// mustGuest returns the lab's guest name; the benchmarks only ask for
// guests their lab has.
func mustGuest(l *lab.Lab, name string) lab.Guest {
	g, err := l.Guest(name)
	if err != nil {
		panic(err)
	}
	return g
}
