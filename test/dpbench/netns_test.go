//go:build linux

package main

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"testing"
)

func TestGARPFrame(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0, 0, 0, 1, 1}
	got := garpFrame(mac, netip.MustParseAddr("10.0.1.1"))
	want, _ := hex.DecodeString(
		"ffffffffffff" + "020000000101" + "0806" + // Ethernet: broadcast <- mac, ARP
			"0001" + "0800" + "06" + "04" + "0001" + // Ethernet/IPv4, request
			"020000000101" + "0a000101" + // sender: mac, 10.0.1.1
			"000000000000" + "0a000101" + // target: zero, 10.0.1.1
			"000000000000000000000000000000000000") // padding to 60 bytes
	if !bytes.Equal(got, want) {
		t.Errorf("garpFrame =\n%x\nwant\n%x", got, want)
	}
}

func TestEtherFrame(t *testing.T) {
	f := etherFrame(broadcast, benchMAC(3, 0x010203), etherTypeBench, nil)
	if len(f) != minFrame {
		t.Fatalf("len %d, want %d", len(f), minFrame)
	}
	if got := net.HardwareAddr(f[6:12]).String(); got != "02:dd:03:01:02:03" {
		t.Errorf("source %s", got)
	}
	if f[12] != 0x88 || f[13] != 0xb5 {
		t.Errorf("EtherType %x", f[12:14])
	}
	long := etherFrame(broadcast, broadcast, 0x0800, make([]byte, 100))
	if len(long) != 114 {
		t.Errorf("len %d with a 100-byte payload, want 114", len(long))
	}
}

func TestEchoRequest(t *testing.T) {
	b := echoRequest(0x4401, 7)
	if b[0] != 8 || b[1] != 0 {
		t.Errorf("type/code %d/%d", b[0], b[1])
	}
	if icmpChecksum(b) != 0 {
		t.Errorf("checksum does not verify: %x", b)
	}
	reply := append([]byte{0, 0}, b[2:]...)
	if !isEchoReply(reply, 0x4401) || isEchoReply(reply, 0x4402) || isEchoReply(b, 0x4401) {
		t.Errorf("isEchoReply wrong for %x", reply)
	}
}

func TestTrialAddr(t *testing.T) {
	seen := map[string]bool{}
	for k := 1; k <= 600; k++ {
		for side := 1; side <= 2; side++ {
			mac, ip := trialAddr(side, k)
			if mac[0]&1 != 0 || mac[0]&2 == 0 {
				t.Fatalf("trial %d: MAC %s is not locally administered unicast", k, mac)
			}
			if !netip.MustParsePrefix("10.0.0.0/8").Contains(ip) {
				t.Fatalf("trial %d: %s outside 10.0.0.0/8", k, ip)
			}
			if seen[mac.String()] || seen[ip.String()] {
				t.Fatalf("trial %d side %d: %s or %s reused", k, side, mac, ip)
			}
			seen[mac.String()], seen[ip.String()] = true, true
		}
	}
}
