package portsec

import (
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"slices"
)

// entry is a declared port after precedence: the declaration in force
// and what it holds.
type entry struct {
	decl
	// ips are the declared addresses the port holds: an address
	// declared on two ports is held by one of them.
	ips []netip.Addr
	// shadowed are the lower sources that declare the port too.
	shadowed []source
	// active is false when the port cannot be enforced: its host is not
	// configured, or an app owns an interface of that name.
	active bool
	// problems say what of the declaration is not in force, and why.
	problems []string
	// id is the port's cookie object number (objectOf), unique among
	// the ports in force.
	id uint32
}

// withIPs reports whether the port declares addresses: then only ARP
// and IPv4 from them (and DHCP discovery) may leave it.
func (e *entry) withIPs() bool { return len(e.IPs) > 0 }

// resolution is every declared port in force and who holds each
// declared address.
type resolution struct {
	ports map[key]*entry
	owner map[netip.Addr]key
}

// sorted returns the ports ordered by key.
func (r resolution) sorted() []*entry {
	out := slices.Collect(maps.Values(r.ports))
	slices.SortFunc(out, func(a, b *entry) int { return a.key().compare(b.key()) })
	return out
}

// resolveEnv is what resolution asks of the mesh.
type resolveEnv struct {
	// configured reports whether host is a configured host.
	configured func(host string) bool
	// appPort names the app owning host's interface port, if one does.
	appPort func(host, port string) (app string, ok bool)
}

// resolve decides what is in force from every declaration (any order):
// per port, the highest source wins (config, then API, then OVSDB);
// per address, the highest source among the active ports declaring it,
// then the port that held it in prev (a guest migrating keeps its
// address on the port it leaves until that port goes), then the first
// port by host and name. A port that loses an address may not send from
// it. Pure: no I/O.
func resolve(decls []decl, prev map[netip.Addr]key, env resolveEnv) resolution {
	r := resolution{ports: map[key]*entry{}, owner: map[netip.Addr]key{}}
	for _, d := range decls {
		e := r.ports[d.key()]
		switch {
		case e == nil:
			r.ports[d.key()] = &entry{decl: d}
		case d.Source > e.Source:
			e.shadowed = append(e.shadowed, e.Source)
			e.decl = d
		default:
			e.shadowed = append(e.shadowed, d.Source)
		}
	}
	claims := map[netip.Addr][]*entry{}
	for _, e := range r.sorted() {
		slices.SortFunc(e.shadowed, func(a, b source) int { return int(b) - int(a) })
		e.active = true
		if !env.configured(e.Host) {
			e.active = false
			e.problems = append(e.problems, fmt.Sprintf("host %s is not configured: nothing is enforced", e.Host))
		} else if app, ok := env.appPort(e.Host, e.Port); ok {
			e.active = false
			e.problems = append(e.problems, fmt.Sprintf("app %s owns %s on %s: nothing is enforced", app, e.Port, e.Host))
		}
		if !e.active {
			continue
		}
		for _, ip := range e.IPs {
			claims[ip] = append(claims[ip], e)
		}
	}
	for ip, es := range claims {
		best := es[0]
		for _, e := range es[1:] {
			switch {
			case e.Source > best.Source:
				best = e
			case e.Source == best.Source && prev[ip] == e.key() && prev[ip] != best.key():
				best = e
			}
		}
		r.owner[ip] = best.key()
	}
	for _, e := range r.sorted() {
		if !e.active {
			continue
		}
		for _, ip := range e.IPs {
			if k := r.owner[ip]; k != e.key() {
				e.problems = append(e.problems, fmt.Sprintf("%s is held by %s (%s): not allowed here", ip, k, r.ports[k].Source))
				continue
			}
			e.ips = append(e.ips, ip)
		}
	}
	return r
}

// idAlloc gives each port in force a cookie object number of 24 bits,
// stable while the port stays declared: the FNV-1a hash of its key,
// probed forward past numbers another port holds.
type idAlloc struct {
	byKey map[key]uint32
	used  map[uint32]key
}

// assign numbers r's active ports: known ports keep theirs, ports no
// longer in force free theirs, new ports get one.
func (a *idAlloc) assign(r resolution) {
	if a.byKey == nil {
		a.byKey, a.used = map[key]uint32{}, map[uint32]key{}
	}
	for k, id := range a.byKey {
		if e := r.ports[k]; e == nil || !e.active {
			delete(a.byKey, k)
			delete(a.used, id)
		}
	}
	for _, e := range r.sorted() {
		if !e.active {
			continue
		}
		id, ok := a.byKey[e.key()]
		if !ok {
			h := fnv.New32a()
			h.Write([]byte(e.key().String()))
			id = h.Sum32() & idMask
			for {
				if _, taken := a.used[id]; !taken && id != 0 {
					break
				}
				id = (id + 1) & idMask
			}
			a.byKey[e.key()], a.used[id] = id, e.key()
		}
		e.id = id
	}
}
