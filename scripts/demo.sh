#!/usr/bin/env bash
# ovsmesh's main job, for real, on one machine: a 3-host x 2-guest lab of
# Open vSwitch hosts in network namespaces, steered by one ovsmesh
# controller, the last host the NAT gateway to an "outside" namespace.
# Run by `make demo` as root. KEEP=1 leaves the lab up; TLS=1 runs it over
# TLS (ovsmesh lab up --tls: OpenFlow and OVSDB on ssl:); NAT=0 leaves the
# NAT gateway out.
set -euo pipefail

BIN=${OVSMESH:-bin/ovsmesh}
DIR=${DIR:-/tmp/ovsmesh-demo}
HOSTS=${HOSTS:-3}
GUESTS=${GUESTS:-2}
TUNNEL=${TUNNEL:-vxlan}
PREFIX=${PREFIX:-omdemo}
SLOT=${SLOT:-200}
TLS_FLAG=()
if [ "${TLS:-0}" = 1 ]; then TLS_FLAG=(--tls); fi
NAT_FLAG=(--nat)
if [ "${NAT:-1}" = 0 ]; then NAT_FLAG=(); fi

[ "$(id -u)" = 0 ] || { echo "demo: must run as root (it creates network namespaces)"; exit 1; }
[ -x "$BIN" ] || { echo "demo: $BIN is missing: run 'make build' first"; exit 1; }

CTL_PID=""
cleanup() {
	if [ -n "$CTL_PID" ] && kill -0 "$CTL_PID" 2>/dev/null; then kill "$CTL_PID"; wait "$CTL_PID" 2>/dev/null || true; fi
	"$BIN" lab down --dir "$DIR" >/dev/null 2>&1 || true
}

# wait_for DESC SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_for() {
	local desc=$1 secs=$2; shift 2
	local end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ]; then echo "demo: timed out after ${secs}s waiting for $desc"; return 1; fi
		sleep 0.1
	done
}

"$BIN" lab down --dir "$DIR" >/dev/null 2>&1 || true
echo "== lab: $HOSTS hosts x $GUESTS guests, $TUNNEL tunnels, in $DIR${TLS_FLAG:+, TLS}"
"$BIN" lab up --hosts "$HOSTS" --guests "$GUESTS" --tunnel "$TUNNEL" --dir "$DIR" --name "$PREFIX" --slot "$SLOT" "${TLS_FLAG[@]}" "${NAT_FLAG[@]}"
if [ "${KEEP:-0}" != 1 ]; then trap cleanup EXIT; fi

API=$(awk '/^api:/{a=1} a && /listen:/{print $2; exit}' "$DIR/ovsmesh.yaml")
# A bearer token for the API's changes (the trace below; nat forward add
# and the like with KEEP=1): the API listens on the lab's management
# address, not loopback.
TOKEN_FILE=$DIR/api.token
(umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$TOKEN_FILE")
sed -i "/^api:/a\\    token_file: $TOKEN_FILE" "$DIR/ovsmesh.yaml"
echo "== controller: $BIN controller --config $DIR/ovsmesh.yaml (log $DIR/controller.log, API $API)"
"$BIN" controller --config "$DIR/ovsmesh.yaml" >"$DIR/controller.log" 2>&1 &
CTL_PID=$!
echo "$CTL_PID" >"$DIR/controller.pid"

switches_up() { [ "$(curl -sf "http://$API/api/v1/switches" | grep -c '"dpid"')" -ge "$HOSTS" ]; }
wait_for "every host's br-int to connect to the controller" 20 switches_up
"$BIN" lab attach --dir "$DIR" >/dev/null
if [ ${#TLS_FLAG[@]} -gt 0 ]; then
	echo "== over TLS: each switch's certificate names its host and DPID; OVSDB is ssl: too"
	grep -E 'msg="(switch|ovsdb) connected"' "$DIR/controller.log" | sed 's/^/   /'
fi

packet_ins() { curl -sf "http://$API/metrics" | awk -v app="${1:-}" '/^ovsmesh_packet_ins_total/ && index($0, "app=\"" app) {s+=$2} END{print s+0}'; }
before=$(packet_ins); before_l2=$(packet_ins learning); before_arp=$(packet_ins proxyarp)

echo "== pinging every guest pair"
mapfile -t guests < <(for h in $(seq 1 "$HOSTS"); do for g in $(seq 1 "$GUESTS"); do echo "$h $g"; done; done)
ok=0; total=0
for a in "${guests[@]}"; do
	read -r ah ag <<<"$a"
	for b in "${guests[@]}"; do
		[ "$a" = "$b" ] && continue
		read -r bh bg <<<"$b"
		total=$((total + 1))
		if ip netns exec "$PREFIX-h${ah}g${ag}" ping -c 1 -W 2 "10.0.$bh.$bg" >/dev/null 2>&1; then
			ok=$((ok + 1))
		else
			echo "   h${ah}g${ag} -> h${bh}g${bg} (10.0.$bh.$bg): no reply"
		fi
	done
done
after=$(packet_ins); after_l2=$(packet_ins learning); after_arp=$(packet_ins proxyarp)

echo
echo "== reachability: $ok/$total guest pairs answered"
echo
echo "== mesh-wide MAC table (ovsmesh macs --api $API)"
"$BIN" macs --api "$API"
echo
echo "== ARP bindings (ovsmesh arp --api $API)"
"$BIN" arp --api "$API"
for h in $(seq 1 "$HOSTS"); do
	echo
	echo "== flows on h$h (ovs-ofctl -O OpenFlow13 dump-flows br-int)"
	ip netns exec "$PREFIX-h$h" env OVS_RUNDIR="$DIR/h$h" ovs-ofctl -O OpenFlow13 dump-flows br-int | tail -n +2
done
echo
echo "== packet-ins caused by the pings: $((after - before)) for $total pings: $((after_l2 - before_l2)) by the learning switch, $((after_arp - before_arp)) by proxy ARP, with ${#guests[@]} guests; the datapath carried the rest"
echo
echo "== where does h1g1's ping to h2g1 go? (ovsmesh trace: a tagged probe through the real switches, compared with what the controller expects)"
trace_ok=1
"$BIN" trace --api "$API" --token-file "$TOKEN_FILE" 10.0.1.1 10.0.2.1 || trace_ok=0

nat_ok=1
if [ ${#NAT_FLAG[@]} -gt 0 ]; then
	FAR=198.18.201.1
	nat_ready() { curl -sf "http://$API/api/v1/nat" | grep -q '"state": "resolved"'; }
	wait_for "the NAT gateway's next hop to resolve" 20 nat_ready
	echo
	echo "== NAT: every guest pings $FAR in the outside namespace, through h$HOSTS's conntrack (masquerade)"
	for a in "${guests[@]}"; do
		read -r ah ag <<<"$a"
		if ip netns exec "$PREFIX-h${ah}g${ag}" ping -c 1 -W 2 "$FAR" >/dev/null 2>&1; then
			echo "   h${ah}g${ag} -> $FAR: reply"
		else
			echo "   h${ah}g${ag} -> $FAR: no reply"; nat_ok=0
		fi
	done
	echo
	echo "== the outside sees the external IP: conntrack on the gateway (ovs-appctl dpctl/dump-conntrack)"
	ip netns exec "$PREFIX-h$HOSTS" ovs-appctl -t "$DIR/h$HOSTS/vswitchd.ctl" dpctl/dump-conntrack 2>/dev/null | grep icmp | head -3 | sed 's/^/   /'
	echo
	echo "== ovsmesh nat --api $API"
	"$BIN" nat --api "$API"
fi

if [ "${KEEP:-0}" = 1 ]; then
	cat <<EOF

The lab is still up (KEEP=1). Look around:
  ip netns exec $PREFIX-h1g1 ping 10.0.2.1
  $BIN macs --api $API
  $BIN trace --api $API --token-file $TOKEN_FILE 10.0.1.1 10.0.2.2 --proto tcp --port 80
  curl http://$API/api/v1/hosts
  ip netns exec $PREFIX-h1 env OVS_RUNDIR=$DIR/h1 ovs-ofctl -O OpenFlow13 dump-flows br-int
  ip netns exec $PREFIX-h1 ovs-vsctl --db=unix:$DIR/h1/db.sock show
Tear it down with: kill \$(cat $DIR/controller.pid); $BIN lab down --dir $DIR
EOF
fi
[ "$ok" = "$total" ] && [ "$nat_ok" = 1 ] && [ "$trace_ok" = 1 ]
