//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// pinger sends ICMP echo requests from one guest namespace over a raw
// socket opened there, without starting a process per ping.
type pinger struct {
	conn net.PacketConn
	id   uint16
}

// openPinger opens a raw ICMP socket in namespace ns; id tags its echo
// requests.
func openPinger(ns string, id uint16) (*pinger, error) {
	var p *pinger
	err := inNetns(ns, func() error {
		c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
		if err != nil {
			return err
		}
		p = &pinger{conn: c, id: id}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ICMP socket in %s: %w", ns, err)
	}
	return p, nil
}

func (p *pinger) close() error { return p.conn.Close() }

// echoRequest returns an ICMP echo request with id, seq and 8 bytes of
// payload.
func echoRequest(id, seq uint16) []byte {
	b := make([]byte, 16)
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:6], id)
	binary.BigEndian.PutUint16(b[6:8], seq)
	binary.BigEndian.PutUint64(b[8:16], uint64(time.Now().UnixNano()))
	binary.BigEndian.PutUint16(b[2:4], icmpChecksum(b))
	return b
}

// icmpChecksum is the Internet checksum (RFC 1071) of b with its checksum
// field zero.
func icmpChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// isEchoReply reports whether msg (an ICMP message, IP header stripped)
// is an echo reply with id.
func isEchoReply(msg []byte, id uint16) bool {
	return len(msg) >= 8 && msg[0] == 0 && msg[1] == 0 && binary.BigEndian.Uint16(msg[4:6]) == id
}

// pingUntilAnswered sends an echo request to every address in dsts every
// interval until each has answered once or ctx ends, and returns when each
// first answered (missing: never).
func (p *pinger) pingUntilAnswered(ctx context.Context, dsts []netip.Addr, interval time.Duration) map[netip.Addr]time.Time {
	var mu sync.Mutex
	answered := map[netip.Addr]time.Time{}
	want := map[netip.Addr]bool{}
	for _, d := range dsts {
		want[d] = true
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for ctx.Err() == nil {
			_ = p.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, from, err := p.conn.ReadFrom(buf)
			if err != nil {
				mu.Lock()
				all := len(answered) == len(want)
				mu.Unlock()
				if all {
					return
				}
				continue
			}
			ipa, ok := from.(*net.IPAddr)
			if !ok || !isEchoReply(buf[:n], p.id) {
				continue
			}
			a, ok := netip.AddrFromSlice(ipa.IP)
			if !ok {
				continue
			}
			a = a.Unmap()
			mu.Lock()
			if _, seen := answered[a]; want[a] && !seen {
				answered[a] = time.Now()
			}
			all := len(answered) == len(want)
			mu.Unlock()
			if all {
				return
			}
		}
	}()
	var seq uint16
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		mu.Lock()
		var pending []netip.Addr
		for _, d := range dsts {
			if _, ok := answered[d]; !ok {
				pending = append(pending, d)
			}
		}
		mu.Unlock()
		if len(pending) == 0 {
			break
		}
		seq++
		for _, d := range pending {
			_, _ = p.conn.WriteTo(echoRequest(p.id, seq), &net.IPAddr{IP: d.AsSlice()})
		}
		select {
		case <-ctx.Done():
		case <-t.C:
			continue
		}
		break
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	out := make(map[netip.Addr]time.Time, len(answered))
	for k, v := range answered {
		out[k] = v
	}
	return out
}
