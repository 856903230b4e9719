//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` keeps its namespace handles.
const netnsDir = "/var/run/netns/"

// inNetns runs f on a fresh OS thread that has joined network namespace
// ns, and returns f's error. Sockets f creates belong to ns and can be used
// from any goroutine afterwards. The thread is never unlocked, so the Go
// runtime discards it when f returns and no other goroutine ever runs in
// ns by accident.
func inNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := syscall.Open(netnsDir+ns, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", ns, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		syscall.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// packetConn sends whole Ethernet frames out of one interface of a
// namespace (an AF_PACKET socket of protocol 0, so it receives nothing).
type packetConn struct {
	fd      int
	ifindex int
}

// openPacket opens a packetConn on interface ifname of namespace ns that
// only sends.
func openPacket(ns, ifname string) (*packetConn, error) { return openPacketRecv(ns, ifname, 0) }

// openPacketRecv opens a packetConn on interface ifname of namespace ns
// that also receives the frames of EtherType proto (none for 0), in and
// out, with a 4 MiB receive buffer and recv returning after at most 50ms.
func openPacketRecv(ns, ifname string, proto uint16) (*packetConn, error) {
	var pc *packetConn
	err := inNetns(ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4<<20)
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
		tv := syscall.NsecToTimeval(int64(50 * time.Millisecond))
		_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
		if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: htons(proto)}); err != nil {
			syscall.Close(fd)
			return fmt.Errorf("bind packet socket to %s: %w", ifname, err)
		}
		pc = &packetConn{fd: fd, ifindex: ifi.Index}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open %s in %s: %w", ifname, ns, err)
	}
	return pc, nil
}

// send sends one frame (destination MAC, source MAC, EtherType, payload).
func (p *packetConn) send(frame []byte) error {
	proto := binary.BigEndian.Uint16(frame[12:14])
	sa := &syscall.SockaddrLinklayer{Ifindex: p.ifindex, Protocol: htons(proto), Halen: 6}
	copy(sa.Addr[:], frame[0:6])
	return syscall.Sendto(p.fd, frame, 0, sa)
}

// recv reads one frame into buf and returns its length; it fails with
// EAGAIN when nothing came for 50ms.
func (p *packetConn) recv(buf []byte) (int, error) {
	n, _, err := syscall.Recvfrom(p.fd, buf, 0)
	return n, err
}

// close closes the socket.
func (p *packetConn) close() error { return syscall.Close(p.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// etherTypeBench is the IEEE 802 local experimental EtherType the setups
// benchmark sends: guests' kernels drop it without answering.
const etherTypeBench = 0x88b5

// minFrame is the shortest Ethernet frame without FCS, in bytes.
const minFrame = 60

// etherFrame returns a frame dst <- src of EtherType typ carrying
// payload, padded to minFrame bytes.
func etherFrame(dst, src net.HardwareAddr, typ uint16, payload []byte) []byte {
	f := make([]byte, 14, max(minFrame, 14+len(payload)))
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:14], typ)
	f = append(f, payload...)
	for len(f) < minFrame {
		f = append(f, 0)
	}
	return f
}

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// garpFrame returns a gratuitous ARP request from mac for ip (sender and
// target address both ip, broadcast), what a hypervisor sends for a guest
// that has just moved.
func garpFrame(mac net.HardwareAddr, ip netip.Addr) []byte {
	a := make([]byte, 28)
	binary.BigEndian.PutUint16(a[0:2], 1)      // hardware type Ethernet
	binary.BigEndian.PutUint16(a[2:4], 0x0800) // protocol IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], 1) // request
	copy(a[8:14], mac)
	ip4 := ip.As4()
	copy(a[14:18], ip4[:])
	// target hardware address stays zero
	copy(a[24:28], ip4[:])
	return etherFrame(broadcast, mac, 0x0806, a)
}

// benchMAC returns the setups benchmark's source MAC number i of phase
// phase: 02:dd:PP:ii:ii:ii (locally administered, unicast).
func benchMAC(phase int, i uint32) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0xdd, byte(phase), byte(i >> 16), byte(i >> 8), byte(i)}
}
