// ovsmesh topology page. Polls GET /api/v1/topology every 2 s and draws
// hosts on a circle, tunnels as lines with their rates, guests as counts.
// No framework and nothing fetched from anywhere but the API itself.
'use strict';
(() => {
  const NS = 'http://www.w3.org/2000/svg'; // the SVG namespace name, never fetched
  const POLL_MS = 2000;
  const LABEL_ALL_MAX = 12; // up to this many hosts every tunnel is labelled
  const BUSY_LABELS = 15; // beyond it only the busiest tunnels are, and on hover
  const BUSY_BPS = 10e3; // a tunnel carrying at least this many bit/s is "busy"

  const $ = (id) => document.getElementById(id);
  const svg = $('graph');
  const gTun = $('tunnels'), gHit = $('hits'), gTrace = $('trace'), gLab = $('labels'), gHosts = $('hosts');
  const tip = $('tip');

  let layoutKey = '';
  let hosts = new Map(); // name -> {g, node, badge, badgeText, badgeRect, x, y, r, data}
  let tunnels = new Map(); // "a~b" -> {line, hit, label, data, bps, ab, ba, cls}
  let sizes = { r: 22, font: 13, width: 2.5 };
  let hover = null; // hovered host name
  let tipFor = null; // what the tooltip describes: {host} or {tunnel}, refreshed by each render
  let polls = 0;
  let lastView = null;

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }

  function fmtBits(bytesPerSec) {
    const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
    let v = bytesPerSec * 8, i = 0;
    while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (i === 0 || v >= 100 ? Math.round(v) : v.toFixed(1)) + ' ' + units[i];
  }
  function fmtCount(n) {
    if (n < 1000) return String(Math.round(n));
    if (n < 1e6) return (n < 1e4 ? (n / 1e3).toFixed(1) : Math.round(n / 1e3)) + 'k';
    return (n / 1e6).toFixed(1) + 'M';
  }

  // rates of a tunnel per direction: what the far end received, or,
  // before it has rates, what the near end sent. The far end's rx is
  // what crossed: OVS's userspace datapath counts a tunnel port's tx
  // high (1.8 times the packets received, measured with TCP on OVS 3.1).
  function dirRates(t) {
    const a = t.a_end.rates, b = t.b_end.rates;
    const dir = (from, to) => to
      ? { bytes: to.rx_bytes_per_s || 0, pkts: to.rx_packets_per_s || 0, sent: from ? from.tx_bytes_per_s || 0 : null }
      : { bytes: from ? from.tx_bytes_per_s || 0 : 0, pkts: from ? from.tx_packets_per_s || 0 : 0, sent: null };
    return { ab: dir(a, b), ba: dir(b, a), known: !!(a || b) };
  }

  function hostClass(h) {
    if (h.ovsdb_connected && h.openflow_connected) return 'ok';
    if (h.ovsdb_connected || h.openflow_connected) return 'half';
    return 'down';
  }

  // layout places n hosts on a circle sized so neighbours do not touch,
  // and sizes nodes, fonts and lines for the count.
  function layout(list) {
    const n = list.length;
    sizes = n <= LABEL_ALL_MAX ? { r: 22, font: 14, width: 3, gap: 90 }
      : n <= 40 ? { r: 13, font: 11, width: 1.2, gap: 26 } : { r: 8, font: 9, width: 0.5, gap: 14 };
    svg.classList.toggle('many', n > LABEL_ALL_MAX);
    const R = n <= 1 ? 0 : Math.max(170, n * (2 * sizes.r + sizes.gap) / (2 * Math.PI));
    const pad = sizes.r + 70;
    svg.setAttribute('viewBox', `${-R - pad} ${-R - pad} ${2 * (R + pad)} ${2 * (R + pad)}`);
    gTun.replaceChildren(); gHit.replaceChildren(); gLab.replaceChildren(); gHosts.replaceChildren(); gTrace.replaceChildren();
    hosts = new Map();
    tunnels = new Map();
    list.forEach((h, i) => {
      const a = -Math.PI / 2 + 2 * Math.PI * i / n;
      const x = R * Math.cos(a), y = R * Math.sin(a);
      const g = el('g', { class: 'host', 'data-host': h.name, transform: `translate(${x.toFixed(1)},${y.toFixed(1)})` }, gHosts);
      const nat = el('circle', { class: 'natring', r: sizes.r + 5, display: 'none' }, g);
      const node = el('circle', { class: 'node', r: sizes.r }, g);
      const lr = sizes.r + 8, c = Math.cos(a);
      const name = el('text', {
        class: 'name', x: (lr * c).toFixed(1), y: (lr * Math.sin(a) + sizes.font / 3).toFixed(1), 'font-size': sizes.font,
        'text-anchor': c > 0.3 ? 'start' : c < -0.3 ? 'end' : 'middle',
      }, g);
      if (Math.abs(c) <= 0.3) name.setAttribute('y', (Math.sin(a) > 0 ? lr + sizes.font : -lr).toFixed(1));
      let bx = sizes.r * 0.8, by = -sizes.r * 0.8;
      if (n > LABEL_ALL_MAX) {
        // Many hosts: names run outwards along the radius, guest badges
        // sit on the inner side, so neighbours do not overlap.
        const flip = c < 0, deg = a * 180 / Math.PI + (flip ? 180 : 0);
        name.setAttribute('transform', `rotate(${deg.toFixed(1)})`);
        name.setAttribute('x', flip ? -lr : lr);
        name.setAttribute('y', (sizes.font / 3).toFixed(1));
        name.setAttribute('text-anchor', flip ? 'end' : 'start');
        bx = -(sizes.r + 9) * c;
        by = -(sizes.r + 9) * Math.sin(a);
      }
      name.textContent = h.name;
      const badge = el('g', { class: 'badge', transform: `translate(${bx.toFixed(1)},${by.toFixed(1)})`, display: 'none' }, g);
      const badgeRect = el('rect', { rx: 7, height: 14, y: -7 }, badge);
      const badgeText = el('text', { 'font-size': Math.min(11, sizes.font) }, badge);
      const natTag = el('text', { class: 'nattag', y: -sizes.r - 9, display: 'none' }, g);
      natTag.textContent = 'NAT';
      hosts.set(h.name, { g, node, nat, natTag, badge, badgeRect, badgeText, x, y, data: h, cls: '' });
    });
  }

  function ensureTunnel(t) {
    const id = t.a + '~' + t.b;
    let e = tunnels.get(id);
    if (e) return e;
    const a = hosts.get(t.a), b = hosts.get(t.b);
    if (!a || !b) return null;
    const pts = { x1: a.x.toFixed(1), y1: a.y.toFixed(1), x2: b.x.toFixed(1), y2: b.y.toFixed(1) };
    const line = el('line', Object.assign({ class: 'tunnel', 'data-tunnel': id, 'stroke-width': sizes.width }, pts), gTun);
    const hit = el('line', Object.assign({ class: 'hit', 'data-tunnel': id }, pts), gHit);
    e = { id, line, hit, label: null, mx: (a.x + b.x) / 2, my: (a.y + b.y) / 2, cls: '', width: 0 };
    tunnels.set(id, e);
    return e;
  }

  function label(e, show) {
    if (!show) {
      if (e.label) e.label.setAttribute('display', 'none');
      return;
    }
    if (!e.label) {
      e.label = el('text', { class: 'rate', 'data-tunnel': e.id, x: e.mx.toFixed(1), y: e.my.toFixed(1), 'font-size': Math.max(sizes.font - 1, 9) }, gLab);
    }
    e.label.removeAttribute('display');
    const text = e.known ? fmtBits(e.bps / 8) : '…';
    if (e.label.textContent !== text) e.label.textContent = text;
    e.label.setAttribute('data-bps', Math.round(e.bps));
    e.label.setAttribute('class', e.bps >= BUSY_BPS ? 'rate busy' : 'rate');
  }

  function render(v) {
    lastView = v;
    const key = v.hosts.map((h) => h.name).join('\n');
    if (key !== layoutKey) {
      layout(v.hosts);
      layoutKey = key;
    }
    let ofUp = 0, dbUp = 0;
    for (const h of v.hosts) {
      const e = hosts.get(h.name);
      e.data = h;
      const cls = 'host ' + hostClass(h) + (h.name === v.nat_gateway ? ' nat' : '');
      if (e.cls !== cls) { e.g.setAttribute('class', cls); e.cls = cls; }
      ofUp += h.openflow_connected ? 1 : 0;
      dbUp += h.ovsdb_connected ? 1 : 0;
      const isNat = h.name === v.nat_gateway;
      e.nat.setAttribute('display', isNat ? 'inline' : 'none');
      e.natTag.setAttribute('display', isNat ? 'inline' : 'none');
      const n = h.guests.count;
      if (n > 0) {
        const text = fmtCount(n);
        e.badgeText.textContent = text;
        const w = 8 + 6.5 * text.length;
        e.badgeRect.setAttribute('width', w);
        e.badgeRect.setAttribute('x', -w / 2);
        e.badge.removeAttribute('display');
      } else {
        e.badge.setAttribute('display', 'none');
      }
      e.g.setAttribute('data-guests', n);
    }
    let up = 0, down = 0, unknown = 0, total = 0;
    const busy = [];
    for (const t of v.tunnels) {
      const e = ensureTunnel(t);
      if (!e) continue;
      const r = dirRates(t);
      e.data = t; e.ab = r.ab; e.ba = r.ba; e.known = r.known;
      e.bps = 8 * (r.ab.bytes + r.ba.bytes);
      total += r.ab.bytes + r.ba.bytes;
      if (t.state === 'up') up++; else if (t.state === 'down') down++; else unknown++;
      if (e.bps > 0) busy.push(e);
      const near = hover && (t.a === hover || t.b === hover);
      const cls = 'tunnel' + (t.state !== 'up' ? ' ' + t.state : e.bps >= BUSY_BPS ? ' busy' : '') + (hover ? near ? ' hl' : ' dim' : '');
      if (cls !== e.cls) { e.line.setAttribute('class', cls); e.cls = cls; }
      const w = sizes.width * (e.bps >= BUSY_BPS ? 1 + Math.min(3, Math.log10(e.bps / BUSY_BPS)) : 1);
      if (w !== e.width) { e.line.setAttribute('stroke-width', w.toFixed(2)); e.width = w; }
      e.line.setAttribute('data-state', t.state);
      e.line.setAttribute('data-bps', Math.round(e.bps));
    }
    busy.sort((x, y) => y.bps - x.bps);
    const top = new Set(busy.slice(0, BUSY_LABELS));
    const all = v.hosts.length <= LABEL_ALL_MAX;
    for (const e of tunnels.values()) {
      // Hovering a host labels its tunnels that carry traffic.
      label(e, all || top.has(e) || (hover && e.bps > 0 && (e.data.a === hover || e.data.b === hover)));
    }
    drawTrace(v);
    summary(v, { ofUp, dbUp, up, down, unknown, total });
    busiest(busy.slice(0, 10));
    if (tipFor && !tip.hidden) {
      const text = tipFor.host ? hosts.has(tipFor.host) && hostTip(hosts.get(tipFor.host).data)
        : tunnels.has(tipFor.tunnel) && tunnelTip(tunnels.get(tipFor.tunnel));
      if (text) tip.textContent = text;
    }
  }

  function drawTrace(v) {
    gTrace.replaceChildren();
    const box = $('tracebox'), list = $('tracelist');
    const hops = v.trace || [];
    box.hidden = hops.length === 0;
    list.replaceChildren();
    const pts = [];
    for (const hop of hops) {
      const li = document.createElement('li');
      li.textContent = hop.host + (hop.note ? ': ' + hop.note : '');
      list.appendChild(li);
      const h = hosts.get(hop.host);
      if (!h) continue;
      const last = pts[pts.length - 1];
      if (!last || last[0] !== h.x || last[1] !== h.y) pts.push([h.x, h.y]);
    }
    if (pts.length === 1) {
      el('circle', { class: 'trace', cx: pts[0][0], cy: pts[0][1], r: sizes.r + 9 }, gTrace);
    } else if (pts.length > 1) {
      // End the arrow at the last host's rim, not under its node.
      const [x0, y0] = pts[pts.length - 2], [x1, y1] = pts[pts.length - 1];
      const len = Math.hypot(x1 - x0, y1 - y0), cut = Math.min(len / 2, sizes.r + 3);
      pts[pts.length - 1] = [x1 - (x1 - x0) * cut / len, y1 - (y1 - y0) * cut / len];
      el('polyline', { class: 'trace', points: pts.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' ') }, gTrace);
    }
  }

  function summary(v, s) {
    const rows = [
      ['hosts', `${v.hosts.length} (OpenFlow ${s.ofUp}, OVSDB ${s.dbUp})`],
      ['tunnels', `${v.tunnels.length}: ${s.up} up` + (s.down ? `, ${s.down} down` : '') + (s.unknown ? `, ${s.unknown} unknown` : '')],
      ['guests', fmtCount(v.guests_total)],
      ['traffic', fmtBits(s.total)],
    ];
    if (v.nat_gateway) rows.push(['NAT gateway', v.nat_gateway]);
    const dl = $('summary');
    dl.replaceChildren();
    for (const [k, val] of rows) {
      const dt = document.createElement('dt'); dt.textContent = k;
      const dd = document.createElement('dd'); dd.textContent = val;
      dd.id = 'sum-' + k.replace(/\s+/g, '-').toLowerCase();
      dl.append(dt, dd);
    }
  }

  function busiest(list) {
    const tb = $('busiest').tBodies[0];
    tb.replaceChildren();
    if (list.length === 0) {
      const tr = tb.insertRow();
      const td = tr.insertCell(); td.colSpan = 2; td.textContent = 'all idle';
      return;
    }
    for (const e of list) {
      const tr = tb.insertRow();
      tr.insertCell().textContent = e.data.a + ' ⇄ ' + e.data.b;
      tr.insertCell().textContent = fmtBits(e.bps / 8);
    }
  }

  function tunnelTip(e) {
    const t = e.data;
    const ha = hosts.get(t.a).data, hb = hosts.get(t.b).data;
    const pa = ha.tunnels[t.b], pb = hb.tunnels[t.a];
    const dir = (from, to, r) => `${from} → ${to}: ${fmtBits(r.bytes)}, ${fmtCount(r.pkts)} pkt/s` +
      (r.sent !== null && Math.abs(r.sent - r.bytes) > 0.1 * r.bytes ? ` (${from} counted ${fmtBits(r.sent)} sent)` : '');
    return [
      `tunnel ${t.a} ⇄ ${t.b}: ${t.state}`,
      e.known ? dir(t.a, t.b, e.ab) : 'rates: waiting for two samples',
      e.known ? dir(t.b, t.a, e.ba) : '',
      `ports: ${t.a}:${pa === undefined ? '?' : pa} (${t.a_end.up ? 'up' : 'down'}), ${t.b}:${pb === undefined ? '?' : pb} (${t.b_end.up ? 'up' : 'down'})`,
    ].filter(Boolean).join('\n');
  }

  function hostTip(h) {
    const g = h.guests;
    const lines = [
      `${h.name}  dpid ${h.dpid}`,
      `tunnel IP ${h.tunnel_ip || '?'}`,
      `OVSDB: ${h.ovsdb_connected ? 'connected' : 'down' + (h.ovsdb_error ? ' (' + h.ovsdb_error + ')' : '')}`,
      `OpenFlow: ${h.openflow_connected ? 'connected' : 'down'}`,
      `tunnels: ${Object.keys(h.tunnels).length}`,
      `guests: ${g.count}`,
    ];
    for (const m of g.macs) lines.push('  ' + m);
    if (g.count > g.macs.length) lines.push(`  … and ${g.count - g.macs.length} more`);
    return lines.join('\n');
  }

  function showTip(text, ev) {
    tip.textContent = text;
    tip.hidden = false;
    moveTip(ev);
  }
  function moveTip(ev) {
    const box = svg.getBoundingClientRect();
    tip.style.left = (ev.clientX - box.left + 14) + 'px';
    tip.style.top = (ev.clientY - box.top + 14) + 'px';
  }

  svg.addEventListener('mouseover', (ev) => {
    const hg = ev.target.closest('[data-host]');
    if (hg) {
      hover = hg.getAttribute('data-host');
      tipFor = { host: hover };
      showTip(hostTip(hosts.get(hover).data), ev);
      if (lastView) render(lastView);
      return;
    }
    const id = ev.target.getAttribute && ev.target.getAttribute('data-tunnel');
    if (id && tunnels.has(id)) {
      const e = tunnels.get(id);
      tipFor = { tunnel: id };
      showTip(tunnelTip(e), ev);
      label(e, true);
    }
  });
  svg.addEventListener('mousemove', (ev) => { if (!tip.hidden) moveTip(ev); });
  svg.addEventListener('mouseout', (ev) => {
    const hg = ev.target.closest('[data-host]');
    if (hg && !(ev.relatedTarget && hg.contains(ev.relatedTarget))) {
      hover = null;
      if (lastView) render(lastView);
    }
    tip.hidden = true;
    tipFor = null;
  });

  async function poll() {
    const status = $('status');
    try {
      const resp = await fetch('/api/v1/topology', { cache: 'no-store' });
      if (!resp.ok) throw new Error(resp.status + ' ' + resp.statusText);
      const v = await resp.json();
      const t0 = performance.now();
      render(v);
      const t1 = performance.now();
      polls++;
      // For tests and the curious: how long drawing took, in ms.
      const d = document.body.dataset;
      d.polls = polls;
      d.renderMs = (t1 - t0).toFixed(1);
      if (polls === 1) {
        d.firstRenderMs = t1.toFixed(0); // since the page started loading
        d.firstRenderCostMs = (t1 - t0).toFixed(1);
      }
      status.className = 'status';
      status.textContent = 'updated ' + new Date(v.time).toLocaleTimeString() + `, every ${v.interval_seconds || 2} s`;
    } catch (err) {
      status.className = 'status error';
      status.textContent = 'API unreachable: ' + err.message + ' (retrying)';
    }
    setTimeout(poll, POLL_MS);
  }
  poll();
})();
