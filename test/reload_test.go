//go:build integration

package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/apps/learning"
	"github.com/ovsmesh/ovsmesh/apps/proxyarp"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/lab"
)

// TestReload changes, on a running lab, the learning idle timeout, the
// proxy ARP aging time, a static binding and the host list, by SIGHUP,
// and sees each take effect with no OpenFlow session dropped; then a
// broken file changes nothing and the log says why; then the same
// reload through POST /api/v1/reload answers with its report.
func TestReload(t *testing.T) {
	e := newEnv(t, lab.Options{Prefix: "itr", Slot: 247, Hosts: 3, Guests: 2, Tunnel: "vxlan"})
	// The API is called from the root namespace over the management
	// address, not loopback: mutating calls need the bearer token.
	tokenFile := e.lab.Dir() + "/api.token"
	if err := os.WriteFile(tokenFile, []byte(reloadToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withToken := e.cfg
	withToken.API.TokenFile = tokenFile
	e.writeConfig(t, withToken)
	hosts := e.hostNames()
	c := e.startController(t)
	e.waitMesh(t, meshDeadline-time.Since(c.started), hosts, hosts)
	attach(t, e)
	e.waitConnected(t, 30*time.Second, hosts...)
	e.pingAll(t, e.guestNames())
	e.waitBindings(t, e.guestNames())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	since := e.sessionsSince(t)
	disconnects := e.metricSum(t, "ovsmesh_switch_disconnects_total")
	static := netip.MustParseAddr("10.55.0.1")
	staticMAC := net.HardwareAddr{0x02, 0x55, 0, 0, 0, 1}
	lc := learning.DefaultConfig()
	lc.IdleTimeout = 123 * time.Second
	pc := proxyarp.DefaultConfig()
	pc.Aging = 456 * time.Second
	pc.Static = []proxyarp.StaticARP{{IP: static, MAC: config.MAC(staticMAC)}}
	cfg := e.cfg.WithSection("apps.learning", &lc).WithSection("apps.proxyarp", &pc)
	cfg.Hosts = slices.DeleteFunc(slices.Clone(cfg.Hosts), func(h config.Host) bool { return h.Name == "h3" })
	e.writeConfig(t, cfg)
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	poll(t, 10*time.Second, "the new timeouts and the static binding on h1 and h2", func() (bool, string) {
		for _, h := range []string{"h1", "h2"} {
			fs, err := e.flowsOf(ctx, h)
			if err != nil {
				return false, err.Error()
			}
			var src, sender, responder bool
			for _, f := range fs {
				src = src || f.table == int(learning.TableClassify) && f.priority == int(learning.PrioKnownSrc) && strings.Contains(f.line, "idle_timeout=123,")
				sender = sender || f.table == int(proxyarp.TableARP) && f.priority == int(proxyarp.PrioARPKnownSender) && strings.Contains(f.line, "idle_timeout=456,")
				responder = responder || f.table == int(proxyarp.TableARPResponder) && strings.Contains(f.match, "arp_tpa="+static.String()+",")
			}
			if !src || !sender || !responder {
				return false, fmt.Sprintf("%s: source flows with idle_timeout=123 %v, known senders with 456 %v, static responder %v", h, src, sender, responder)
			}
		}
		return true, ""
	})
	e.waitMesh(t, 10*time.Second, []string{"h1", "h2"}, []string{"h1", "h2"})
	t.Logf("aging, static binding and host list applied %v after SIGHUP", time.Since(start).Round(time.Millisecond))
	if mac, msg := e.arping(ctx, "h1g1", static, time.Second); mac.String() != staticMAC.String() {
		t.Errorf("h1g1 resolves the new static %s to %v, want %s (%s)", static, mac, staticMAC, msg)
	}
	e.checkSessionsKept(t, since, disconnects, "h1", "h2")

	// A broken file: nothing changes, the log names the field and line.
	good := e.cfg
	bad := lc
	bad.IdleTimeout = 1500 * time.Millisecond
	e.writeConfig(t, good.WithSection("apps.learning", &bad))
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	poll(t, 5*time.Second, "the refusal in the controller's log", func() (bool, string) {
		return strings.Contains(c.log(), "reload refused: keeping the running configuration"), tail(c.log(), 3)
	})
	if line := lastLine(c.log(), "reload refused"); !strings.Contains(line, "apps.learning.idle_timeout: must be whole seconds") {
		t.Errorf("the refusal does not say why: %s", line)
	}
	if mac, msg := e.arping(ctx, "h2g1", static, time.Second); mac.String() != staticMAC.String() {
		t.Errorf("after a refused reload h2g1 resolves %s to %v, want %s still (%s)", static, mac, staticMAC, msg)
	}

	// The API: a good file again, and its report.
	e.writeConfig(t, good)
	rep := e.postReload(t)
	if len(rep.RestartRequired) != 0 || !slices.Contains(rep.Applied, "apps") {
		t.Errorf("POST /api/v1/reload = %+v, want apps applied and nothing needing a restart", rep)
	}
	e.checkSessionsKept(t, since, disconnects, "h1", "h2")
	e.pingAll(t, []string{"h1g1", "h1g2", "h2g1", "h2g2"})
}

// sessionsSince returns when each switch's current session began.
func (e *env) sessionsSince(t *testing.T) map[string]time.Time {
	t.Helper()
	var sws []struct {
		Host  string    `json:"host"`
		Since time.Time `json:"since"`
	}
	if err := e.getJSON("/api/v1/switches", &sws); err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, s := range sws {
		out[s.Host] = s.Since
	}
	return out
}

// checkSessionsKept fails t when a host's OpenFlow session is newer than
// in since or any switch disconnected.
func (e *env) checkSessionsKept(t *testing.T, since map[string]time.Time, disconnects float64, hosts ...string) {
	t.Helper()
	now := e.sessionsSince(t)
	for _, h := range hosts {
		if !now[h].Equal(since[h]) {
			t.Errorf("%s's OpenFlow session was replaced: since %v, was %v", h, now[h], since[h])
		}
	}
	if d := e.metricSum(t, "ovsmesh_switch_disconnects_total"); d != disconnects {
		t.Errorf("switch disconnects went from %v to %v", disconnects, d)
	}
}

// lastLine returns the last line of s containing sub.
func lastLine(s, sub string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], sub) {
			return lines[i]
		}
	}
	return ""
}

// postReload calls POST /api/v1/reload and decodes its report.
func (e *env) postReload(t *testing.T) struct{ Applied, RestartRequired []string } {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.api+"/api/v1/reload", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+reloadToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v1/reload: %s: %s", resp.Status, body)
	}
	var rep struct {
		Applied         []string `json:"applied"`
		RestartRequired []string `json:"restart_required"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	return struct{ Applied, RestartRequired []string }{rep.Applied, rep.RestartRequired}
}

// reloadToken is the API token of TestReload's controller.
const reloadToken = "reload-test-token-0123456789"
