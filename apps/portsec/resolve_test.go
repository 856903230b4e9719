package portsec

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"strings"
	"testing"
)

// TestResolve checks precedence per port and per address, the
// incumbent rule, and ports that cannot be enforced.
func TestResolve(t *testing.T) {
	d := func(host, port string, m string, src source, ips ...string) decl {
		out := decl{Host: host, Port: port, MAC: mac(m), Source: src}
		for _, s := range ips {
			out.IPs = append(out.IPs, ip(s))
		}
		return out
	}
	env := resolveEnv{
		configured: func(h string) bool { return h != "h9" },
		appPort: func(h, p string) (string, bool) {
			if h == "h3" && p == "ext0" {
				return "nat", true
			}
			return "", false
		},
	}
	tests := []struct {
		name  string
		decls []decl
		prev  map[netip.Addr]key
		// want is each port: "host/port source [held ips] (shadowed) problems", in key order.
		want string
	}{
		{"one port per source",
			[]decl{d("h1", "a", "02:00:00:00:00:01", srcConfig, "10.0.0.1"), d("h2", "b", "02:00:00:00:00:02", srcOVSDB)},
			nil,
			"h1/a config [10.0.0.1] () | h2/b ovsdb [] ()"},
		{"the file wins a port over the API and OVSDB",
			[]decl{d("h1", "a", "02:00:00:00:00:01", srcOVSDB, "10.0.0.9"), d("h1", "a", "02:00:00:00:00:02", srcConfig, "10.0.0.1"),
				d("h1", "a", "02:00:00:00:00:03", srcAPI)},
			nil,
			"h1/a config [10.0.0.1] (api ovsdb)"},
		{"an address goes to the higher source",
			[]decl{d("h1", "a", "02:00:00:00:00:01", srcOVSDB, "10.0.0.1", "10.0.0.2"), d("h2", "b", "02:00:00:00:00:02", srcAPI, "10.0.0.2")},
			nil,
			"h1/a ovsdb [10.0.0.1] () 10.0.0.2 is held by h2/b (api): not allowed here | h2/b api [10.0.0.2] ()"},
		{"same source: the first port by name",
			[]decl{d("h2", "b", "02:00:00:00:00:02", srcOVSDB, "10.0.0.1"), d("h1", "a", "02:00:00:00:00:01", srcOVSDB, "10.0.0.1")},
			nil,
			"h1/a ovsdb [10.0.0.1] () | h2/b ovsdb [] () 10.0.0.1 is held by h1/a (ovsdb): not allowed here"},
		{"same source: the port that held it keeps it (a migration)",
			[]decl{d("h2", "b", "02:00:00:00:00:01", srcOVSDB, "10.0.0.1"), d("h1", "a", "02:00:00:00:00:01", srcOVSDB, "10.0.0.1")},
			map[netip.Addr]key{ip("10.0.0.1"): {"h2", "b"}},
			"h1/a ovsdb [] () 10.0.0.1 is held by h2/b (ovsdb): not allowed here | h2/b ovsdb [10.0.0.1] ()"},
		{"a higher source beats the holder",
			[]decl{d("h2", "b", "02:00:00:00:00:01", srcOVSDB, "10.0.0.1"), d("h1", "a", "02:00:00:00:00:03", srcAPI, "10.0.0.1")},
			map[netip.Addr]key{ip("10.0.0.1"): {"h2", "b"}},
			"h1/a api [10.0.0.1] () | h2/b ovsdb [] () 10.0.0.1 is held by h1/a (api): not allowed here"},
		{"unknown host and app port: inactive, holding nothing",
			[]decl{d("h9", "a", "02:00:00:00:00:01", srcAPI, "10.0.0.1"), d("h3", "ext0", "02:00:00:00:00:02", srcAPI, "10.0.0.2"),
				d("h1", "a", "02:00:00:00:00:03", srcOVSDB, "10.0.0.1")},
			nil,
			"h1/a ovsdb [10.0.0.1] () | h3/ext0 api [] () app nat owns ext0 on h3: nothing is enforced | h9/a api [] () host h9 is not configured: nothing is enforced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resolve(tt.decls, tt.prev, env)
			var parts []string
			for _, e := range r.sorted() {
				var sh []string
				for _, s := range e.shadowed {
					sh = append(sh, s.String())
				}
				parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s %s %v (%s) %s", e.key(), e.Source, e.ips, strings.Join(sh, " "), strings.Join(e.problems, "; "))))
			}
			if got := strings.Join(parts, " | "); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			for ip, k := range r.owner {
				if e := r.ports[k]; e == nil || !e.active {
					t.Errorf("%s held by %s, which is not in force", ip, k)
				}
			}
		})
	}
}

// TestIDs: ids are stable while a port stays, unique, freed when it
// goes, and never 0.
func TestIDs(t *testing.T) {
	all := func(keys ...string) resolution {
		r := resolution{ports: map[key]*entry{}}
		for _, k := range keys {
			h, p, _ := strings.Cut(k, "/")
			r.ports[key{h, p}] = &entry{decl: decl{Host: h, Port: p}, active: true}
		}
		return r
	}
	var a idAlloc
	r := all("h1/a", "h1/b", "h2/a")
	a.assign(r)
	first := map[key]uint32{}
	seen := map[uint32]bool{}
	for k, e := range r.ports {
		if e.id == 0 || e.id > idMask || seen[e.id] {
			t.Errorf("%s: id %#x (seen %v)", k, e.id, seen[e.id])
		}
		seen[e.id], first[k] = true, e.id
	}
	r = all("h1/a", "h2/a", "h3/c")
	a.assign(r)
	for k, e := range r.ports {
		if id, ok := first[k]; ok && id != e.id {
			t.Errorf("%s changed id %#x -> %#x", k, id, e.id)
		}
	}
	if _, ok := a.byKey[key{"h1", "b"}]; ok || len(a.used) != 3 {
		t.Errorf("h1/b's id not freed: %v", a.used)
	}
	// A collision probes forward.
	h := fnv.New32a()
	h.Write([]byte("h4/d"))
	want := h.Sum32() & idMask
	a.byKey[key{"x", "y"}], a.used[want] = want, key{"x", "y"}
	r = all("h1/a", "h2/a", "h3/c", "x/y", "h4/d")
	a.assign(r)
	if got := r.ports[key{"x", "y"}].id; got != want {
		t.Errorf("x/y lost its id: %#x, want %#x", got, want)
	}
	if got := r.ports[key{"h4", "d"}].id; got != (want+1)&idMask {
		t.Errorf("h4/d's id %#x, want the next one after its hash %#x", got, want)
	}
}
