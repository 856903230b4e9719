package lab

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var arpingTime = regexp.MustCompile(`time=([0-9.]+) (usec|msec|sec)`)

// ArpingNS sends count ARP requests for ip out of ns's eth0 (iputils
// arping, RFC 826), waiting wait between them, and returns the time of
// every answer in milliseconds, in the order they came. Missing answers
// shorten the slice; the error reports arping failing to run or exiting
// non-zero (iputils does when an answer is missing), with its output.
func ArpingNS(ctx context.Context, ns string, ip netip.Addr, count int, wait time.Duration) ([]float64, error) {
	out, err := inNS(ctx, ns, "arping", "-c", strconv.Itoa(count), "-W", strconv.FormatFloat(wait.Seconds(), 'f', -1, 64), "-i", "eth0", ip.String())
	var ms []float64
	for _, m := range arpingTime.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		switch m[2] {
		case "usec":
			v /= 1000
		case "sec":
			v *= 1000
		}
		ms = append(ms, v)
	}
	if err != nil {
		return ms, fmt.Errorf("arping %s from %s: %w: %s", ip, ns, err, strings.TrimSpace(out))
	}
	return ms, nil
}

// PingEveryPair pings between every ordered pair of guests, repeating a
// pair until it answers once, so that every MAC and ARP binding is known.
// Errors: a pair still silent when within has passed.
func (l *Lab) PingEveryPair(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	guests := l.Guests()
	for _, s := range guests {
		for _, d := range guests {
			if s.Name == d.Name {
				continue
			}
			for {
				r, err := l.Ping(ctx, s.Name, d.IP, 1)
				if err == nil && r.OK() {
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%s cannot ping %s within %v (%v)", s.Name, d.Name, within, err)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}
	return nil
}
