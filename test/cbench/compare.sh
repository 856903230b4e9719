#!/usr/bin/env bash
# Compare ovsmesh with ovs-testcontroller (OpenFlow 1.3, learning switch) under
# the same ofcbench load, interleaved: for each round and mode, first
# ovs-testcontroller, then ovsmesh, each freshly started on 127.0.0.1.
#
# Usage: test/cbench/compare.sh            (from the repository root)
# Environment (defaults):
#   OVSMESH=bin/ovsmesh   ovsmesh binary; skipped with a message if missing
#   SWITCHES=16 MACS=1000 WINDOW=1000 LOOPS=5 DURATION=5s WARMUP=2s
#   MODES="latency throughput"  ROUNDS=1
# Prints one table row per mode: medians over rounds of each run's median.
set -euo pipefail

cd "$(dirname "$0")/../.."
OVSMESH=${OVSMESH:-bin/ovsmesh}
SWITCHES=${SWITCHES:-16}
MACS=${MACS:-1000}
WINDOW=${WINDOW:-1000}
LOOPS=${LOOPS:-5}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-2s}
MODES=${MODES:-latency throughput}
ROUNDS=${ROUNDS:-1}

TMP=$(mktemp -d /tmp/ofcbench-compare.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

secs() { # 5s, 500ms, 2 -> whole seconds, rounded up
	case $1 in
	*ms) echo $(((${1%ms} + 999) / 1000)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}
# Hard bound per run: handshake, warm-up, loops and slack.
RUN_LIMIT=$((15 + $(secs "$WARMUP") + LOOPS * $(secs "$DURATION")))

free_port() {
	local p
	for p in $(seq 16653 16753); do
		if ! ss -Hltn "sport = :$p" | grep -q .; then
			echo "$p"
			return
		fi
	done
	echo "compare.sh: no free TCP port in 16653-16753" >&2
	exit 1
}

go build -o "$TMP/ofcbench" ./test/cbench/cmd/ofcbench
command -v ovs-testcontroller >/dev/null || {
	echo "compare.sh: ovs-testcontroller not found (apt-get install openvswitch-testcontroller)" >&2
	exit 1
}
mkdir -p /var/run/openvswitch
HAVE_OVSMESH=1
if [[ ! -x $OVSMESH ]]; then
	HAVE_OVSMESH=0
	echo "compare.sh: $OVSMESH not found or not executable: measuring ovs-testcontroller only (build ovsmesh or set OVSMESH)" >&2
fi

# start_controller NAME PORT: starts the controller in the background and
# sets CTRL_PID.
start_controller() {
	local name=$1 port=$2 dir=$TMP/$1.$RANDOM
	mkdir -p "$dir"
	case $name in
	testcontroller)
		# Default mode: learning switch that installs flows.
		ovs-testcontroller -O OpenFlow13 --pidfile="$dir/pid" --unixctl="$dir/ctl" \
			--log-file="$dir/log" -vconsole:off "ptcp:$port:127.0.0.1" >"$dir/out" 2>&1 &
		;;
	ovsmesh)
		cat >"$dir/config.yaml" <<EOF
openflow:
  listen: ["tcp:127.0.0.1:$port"]
api:
  listen: "127.0.0.1:0"
state: $dir/state.db
hosts: []
EOF
		"$OVSMESH" controller --config "$dir/config.yaml" >"$dir/out" 2>&1 &
		;;
	esac
	CTRL_PID=$!
	PIDS+=("$CTRL_PID")
	CTRL_DIR=$dir
}

stop_controller() {
	kill "$CTRL_PID" 2>/dev/null || true
	wait "$CTRL_PID" 2>/dev/null || true
}

# bench NAME MODE: sets BENCH to the run's median responses/s (or "failed").
# Not run in a subshell, so that the EXIT trap knows every pid.
bench() {
	local name=$1 mode=$2 port out
	port=$(free_port)
	start_controller "$name" "$port"
	if out=$(timeout "$RUN_LIMIT" "$TMP/ofcbench" -json -controller "127.0.0.1:$port" \
		-switches "$SWITCHES" -macs "$MACS" -mode "$mode" -window "$WINDOW" \
		-loops "$LOOPS" -duration "$DURATION" -warmup "$WARMUP" 2>"$TMP/err"); then
		echo "$out" >>"$TMP/$name.$mode.json"
		jq -r '"  \(.mode) \(.controller): median \(.median|floor) resp/s, loops \([.loops[].responses_per_sec|floor]|join(" ")), flow-mods \(.flow_mods_per_sec|floor)/s, rtt \(.avg_rtt_us|floor) us, lost \(.lost), errors \(.of_errors), gen cpu \(.generator_cpu_us_per_response*100|floor/100) us/resp"' <<<"$out" | sed "s/^/$name/"
		BENCH=$(jq -r '.median' <<<"$out")
	else
		echo "compare.sh: $name $mode failed: $(cat "$TMP/err")" >&2
		tail -5 "$CTRL_DIR/out" "$CTRL_DIR/log" 2>/dev/null >&2 || true
		BENCH=failed
	fi
	stop_controller
}

median() { # numbers on stdin -> median
	sort -g | awk '{v[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

echo "ofcbench: $SWITCHES switches x $MACS MACs, window $WINDOW, $LOOPS loops x $DURATION, warm-up $WARMUP, $ROUNDS round(s); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A RES
for round in $(seq "$ROUNDS"); do
	for mode in $MODES; do
		for name in testcontroller ovsmesh; do
			[[ $name == ovsmesh && $HAVE_OVSMESH == 0 ]] && continue
			bench "$name" "$mode"
			RES[$name.$mode]+="$BENCH "
		done
	done
done

printf '%-11s %22s %16s %8s\n' mode "ovs-testcontroller" ovsmesh ratio
for mode in $MODES; do
	tc=$(tr ' ' '\n' <<<"${RES[testcontroller.$mode]:-}" | grep -E '^[0-9.]+$' | median)
	om=n/a
	if [[ $HAVE_OVSMESH == 1 ]]; then
		om=$(tr ' ' '\n' <<<"${RES[ovsmesh.$mode]:-}" | grep -E '^[0-9.]+$' | median)
	fi
	ratio=n/a
	if [[ $tc =~ ^[0-9.]+$ && $om =~ ^[0-9.]+$ ]]; then
		ratio=$(awk -v a="$om" -v b="$tc" 'BEGIN {printf "%.2f", a / b}')
	fi
	printf '%-11s %22s %16s %8s\n' "$mode" "$(printf '%.0f' "$tc" 2>/dev/null || echo "$tc")" \
		"$(printf '%.0f' "$om" 2>/dev/null || echo "$om")" "$ratio"
done
