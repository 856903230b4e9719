//go:build integration

package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/ovsmesh/ovsmesh/lab"
)

// TestTopologyPage loads the topology page from the controller's API
// address in headless chromium on a lab of 3 hosts × 2 guests: every
// host and tunnel is drawn with its state and guest count; iperf3
// between guests on h1 and h2 makes the h1–h2 tunnel's displayed rate
// rise; the page requested nothing but the API address; a screenshot is
// saved as a test artifact, and as docs/topology.png with
// OVSMESH_UPDATE_SCREENSHOT=1.
func TestTopologyPage(t *testing.T) {
	chromium := chromiumPath(t)
	e := newEnv(t, lab.Options{Prefix: "itui", Slot: 248, Hosts: 3, Guests: 2, Tunnel: "vxlan"})
	hosts := e.hostNames()
	c := e.startController(t)
	e.waitMesh(t, meshDeadline-time.Since(c.started), hosts, hosts)
	attach(t, e)
	e.waitConnected(t, 30*time.Second, hosts...)
	e.pingAll(t, e.guestNames()) // every guest MAC is learned: 2 per host

	b := newBrowser(t, chromium, e.api)
	start := time.Now()
	if err := b.navigate(e.api+"/", 30*time.Second); err != nil {
		t.Fatalf("load %s/: %v", e.api, err)
	}
	pairs := []string{"h1~h2", "h1~h3", "h2~h3"}
	took := b.waitPage(t, 20*time.Second, "every host (connected, 2 guests) and tunnel (up, labelled) drawn", fmt.Sprintf(`(() => {
		const hosts = %s, pairs = %s, miss = [];
		if (!(+document.body.dataset.polls >= 1)) return {ok: false, detail: 'not rendered yet: ' + document.getElementById('status').textContent};
		for (const h of hosts) {
			const g = document.querySelector('#hosts g[data-host="' + h + '"]');
			if (!g) { miss.push('host ' + h + ' not drawn'); continue; }
			if (!g.classList.contains('ok')) miss.push(h + ' is ' + g.getAttribute('class'));
			if (g.dataset.guests !== '2') miss.push(h + ' shows ' + g.dataset.guests + ' guests');
		}
		for (const p of pairs) {
			const l = document.querySelector('#tunnels line[data-tunnel="' + p + '"]');
			if (!l) { miss.push('tunnel ' + p + ' not drawn'); continue; }
			if (l.dataset.state !== 'up') miss.push(p + ' is ' + l.dataset.state);
			const r = document.querySelector('#labels text[data-tunnel="' + p + '"]');
			if (!r || r.getAttribute('display') === 'none' || !/bit\/s$/.test(r.textContent)) miss.push(p + ' has no rate label');
		}
		return {ok: miss.length === 0, detail: miss.join('; ')};
	})()`, jsList(hosts), jsList(pairs)))
	t.Logf("page drew %d hosts and %d tunnels, all up, %v after navigating", len(hosts), len(pairs), took.Round(time.Millisecond))

	const tunnel = "h1~h2"
	rateExpr := fmt.Sprintf(`(() => {
		const r = document.querySelector('#labels text[data-tunnel=%s]');
		return r ? {bps: +r.dataset.bps, text: r.textContent} : {bps: -1, text: 'no label'};
	})()`, jsString(tunnel))
	var idle struct {
		BPS  float64 `json:"bps"`
		Text string  `json:"text"`
	}
	if err := b.eval(rateExpr, &idle); err != nil {
		t.Fatal(err)
	}
	t.Logf("tunnel %s before iperf3: %q (%.0f bit/s)", tunnel, idle.Text, idle.BPS)

	stop := e.startIperf(t, "h1g1", "h2g1", 60*time.Second)
	const minBPS = 20e6
	var busy struct {
		BPS  float64 `json:"bps"`
		Text string  `json:"text"`
	}
	took = poll(t, 30*time.Second, fmt.Sprintf("the %s label to show more than %.0f Mbit/s with iperf3 running", tunnel, minBPS/1e6), func() (bool, string) {
		if err := b.eval(rateExpr, &busy); err != nil {
			return false, err.Error()
		}
		return busy.BPS > minBPS && busy.BPS > idle.BPS && (strings.HasSuffix(busy.Text, "Mbit/s") || strings.HasSuffix(busy.Text, "Gbit/s")),
			fmt.Sprintf("%q (%.0f bit/s)", busy.Text, busy.BPS)
	})
	t.Logf("tunnel %s shows %q (%.0f bit/s) %v after iperf3 started", tunnel, busy.Text, busy.BPS, took.Round(time.Millisecond))
	// The API says the same: h1's end of the tunnel sends what h2's receives.
	var topo struct {
		Tunnels []struct {
			A, B, State string
			AEnd        struct {
				Up    bool
				Rates *struct {
					TxBytes float64 `json:"tx_bytes_per_s"`
				}
			} `json:"a_end"`
			BEnd struct {
				Up    bool
				Rates *struct {
					RxBytes float64 `json:"rx_bytes_per_s"`
				}
			} `json:"b_end"`
		}
	}
	if err := e.getJSON("/api/v1/topology", &topo); err != nil {
		t.Fatal(err)
	}
	for _, tun := range topo.Tunnels {
		if tun.A+"~"+tun.B != tunnel {
			continue
		}
		if tun.State != "up" || !tun.AEnd.Up || !tun.BEnd.Up || tun.AEnd.Rates == nil || tun.BEnd.Rates == nil ||
			tun.AEnd.Rates.TxBytes*8 < minBPS/2 || tun.BEnd.Rates.RxBytes*8 < minBPS/2 {
			t.Errorf("/api/v1/topology tunnel %s: %+v; want up at both ends, h1 sending and h2 receiving over %.0f Mbit/s", tunnel, tun, minBPS/2e6)
		} else {
			t.Logf("/api/v1/topology: h1 sends %.0f Mbit/s into the tunnel, h2 receives %.0f Mbit/s from it",
				tun.AEnd.Rates.TxBytes*8/1e6, tun.BEnd.Rates.RxBytes*8/1e6)
		}
	}
	var first string
	if err := b.eval(`(() => { const c = document.querySelector('#busiest tbody tr td'); return c ? c.textContent : ''; })()`, &first); err != nil {
		t.Fatal(err)
	}
	if first != "h1 ⇄ h2" {
		t.Errorf("busiest tunnel listed first is %q, want h1 ⇄ h2", first)
	}
	// Hovering the tunnel shows both directions' rates and its ports.
	var at struct{ X, Y float64 }
	if err := b.eval(`(() => { const r = document.querySelector('#hits line[data-tunnel="h1~h2"]').getBoundingClientRect();
		return {X: r.left + r.width / 2, Y: r.top + r.height / 2}; })()`, &at); err != nil {
		t.Fatal(err)
	}
	if err := b.do(10*time.Second, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at.X, at.Y)); err != nil {
		t.Fatal(err)
	}
	b.waitPage(t, 5*time.Second, "the tooltip of tunnel h1~h2 with both directions and its ports", `(() => {
		const tip = document.getElementById('tip');
		const ok = !tip.hidden && /h1 → h2: [0-9.]+ [kMG]bit\/s/.test(tip.textContent) && /h2 → h1: /.test(tip.textContent) && /ports: h1:\d+ \(up\), h2:\d+ \(up\)/.test(tip.textContent);
		return {ok, detail: (tip.hidden ? 'hidden: ' : '') + tip.textContent};
	})()`)
	path, png := b.screenshot(t, "topology.png")
	stop()
	b.checkOnlyFrom(t, e.api)
	b.checkNoErrors(t)
	t.Logf("the page made %d requests in %v, all to %s", len(b.requested()), time.Since(start).Round(time.Millisecond), e.api)
	if os.Getenv("OVSMESH_UPDATE_SCREENSHOT") == "1" {
		doc := filepath.Join("..", "docs", "topology.png")
		if err := os.WriteFile(doc, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("OVSMESH_UPDATE_SCREENSHOT=1: %s copied to %s", path, doc)
	}
}

// startIperf runs an iperf3 server in guest dst and a client in guest
// src sending to it for at most d, both as children of the test, and
// returns a function that stops both (also registered with t.Cleanup).
// It waits for the server to listen, with a deadline.
func (e *env) startIperf(t *testing.T, src, dst string, d time.Duration) func() {
	t.Helper()
	from, err := e.lab.Guest(src)
	if err != nil {
		t.Fatal(err)
	}
	to, err := e.lab.Guest(dst)
	if err != nil {
		t.Fatal(err)
	}
	const port = "5201"
	var procs []*exec.Cmd
	start := func(ns string, args ...string) {
		// ip netns exec execs iperf3 in place: the pid is iperf3's.
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns, "iperf3"}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start iperf3 %v in %s: %v", args, ns, err)
		}
		procs = append(procs, cmd)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		for i := len(procs) - 1; i >= 0; i-- {
			_ = procs[i].Process.Kill()
			_ = procs[i].Wait()
		}
	}
	t.Cleanup(stop)
	start(to.NS, "-s", "-1", "-p", port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	poll(t, 5*time.Second, "iperf3 to listen on "+dst+" port "+port, func() (bool, string) {
		out, err := e.lab.Exec(ctx, to.NS, "ss", "-Hltn", "sport = :"+port)
		return err == nil && strings.Contains(out, ":"+port), fmt.Sprintf("%q %v", out, err)
	})
	start(from.NS, "-c", to.IP.String(), "-p", port, "-t", fmt.Sprint(int(d.Seconds())))
	t.Logf("iperf3 %s (%s) -> %s (%s) running for up to %v", src, from.IP, dst, to.IP, d)
	return stop
}
