#!/usr/bin/env bash
# Compare ovsmesh with ovs-testcontroller (OpenFlow 1.3, learning switch) under
# the same ofcbench load, interleaved: for each round and mode, first
# ovs-testcontroller, then ovsmesh, then nullctl (cbench.ServeNull: one
# packet-out per packet-in, no flows, no state; the ceiling of this machine
# under this load), each freshly started on 127.0.0.1. The generator also
# measures each controller's CPU time per response (/proc/PID/stat).
#
# Usage: test/cbench/compare.sh            (from the repository root)
# Environment (defaults):
#   OVSMESH=bin/ovsmesh   ovsmesh binary; skipped with a message if missing
#   OVSMESH_TABLE=10      table of ovsmesh's classify stage (0 before the app seam)
#   SWITCHES=16 MACS=1000 WINDOW=1000 LOOPS=5 DURATION=5s WARMUP=2s
#   MODES="latency throughput"  ROUNDS=1
#   CTRL_CPUS= GEN_CPUS=   taskset -c lists for the controllers and the
#                          generator (empty: no pinning). On a machine with
#                          4 or more cores, e.g. CTRL_CPUS=0,1 GEN_CPUS=2,3
#                          gives each controller 2 cores of its own.
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
CTRL_CPUS=${CTRL_CPUS:-}
GEN_CPUS=${GEN_CPUS:-}
# Command prefixes that pin the controllers and the generator (empty arrays:
# no pinning).
CTRLPIN=()
GENPIN=()
[[ -n $CTRL_CPUS ]] && CTRLPIN=(taskset -c "$CTRL_CPUS")
[[ -n $GEN_CPUS ]] && GENPIN=(taskset -c "$GEN_CPUS")

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

free_port() { # free_port [FIRST]: a free TCP port in FIRST..FIRST+100 (16653)
	local p first=${1:-16653}
	for p in $(seq "$first" $((first + 100))); do
		if ! ss -Hltn "sport = :$p" | grep -q .; then
			echo "$p"
			return
		fi
	done
	echo "compare.sh: no free TCP port in $first-$((first + 100))" >&2
	exit 1
}

go build -o "$TMP/ofcbench" ./test/cbench/cmd/ofcbench
go build -o "$TMP/nullctl" ./test/cbench/cmd/nullctl
if [[ -n $CTRL_CPUS$GEN_CPUS ]]; then
	command -v taskset >/dev/null || {
		echo "compare.sh: CTRL_CPUS/GEN_CPUS need taskset (util-linux)" >&2
		exit 1
	}
fi
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
		"${CTRLPIN[@]}" ovs-testcontroller -O OpenFlow13 --pidfile="$dir/pid" --unixctl="$dir/ctl" \
			--log-file="$dir/log" -vconsole:off "ptcp:$port:127.0.0.1" >"$dir/out" 2>&1 &
		;;
	ovsmesh)
		cat >"$dir/config.yaml" <<EOF
openflow:
  listen: ["tcp:127.0.0.1:$port"]
api:
  listen: "127.0.0.1:$(free_port 19653)"
state: $dir/state.db
hosts: []
EOF
		"${CTRLPIN[@]}" "$OVSMESH" controller --config "$dir/config.yaml" >"$dir/out" 2>&1 &
		;;
	null)
		"${CTRLPIN[@]}" "$TMP/nullctl" -listen "127.0.0.1:$port" >"$dir/out" 2>&1 &
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

# bench NAME MODE: sets BENCH to the run's median responses/s, CPU to the
# controller's CPU time per response and SYS to the system part of it, in
# microseconds (or "failed").
# Not run in a subshell, so that the EXIT trap knows every pid.
bench() {
	local name=$1 mode=$2 port out extra=()
	port=$(free_port)
	start_controller "$name" "$port"
	# ovsmesh routes a packet-in by the table that sent it: its learning
	# stage is table 10 (table 0 is the ingress stage, no app's).
	# OVSMESH_TABLE=0 measures a binary from before the app seam.
	[[ $name == ovsmesh ]] && extra=(-table "${OVSMESH_TABLE:-10}")
	if out=$(timeout "$RUN_LIMIT" "${GENPIN[@]}" "$TMP/ofcbench" -json -controller "127.0.0.1:$port" \
		-controller-pid "$CTRL_PID" -switches "$SWITCHES" -macs "$MACS" -mode "$mode" -window "$WINDOW" \
		-loops "$LOOPS" -duration "$DURATION" -warmup "$WARMUP" "${extra[@]}" 2>"$TMP/err"); then
		echo "$out" >>"$TMP/$name.$mode.json"
		jq -r '"  \(.mode): median \(.median|floor) resp/s, loops \([.loops[].responses_per_sec|floor]|join(" ")), flow-mods \(.flow_mods_per_sec|floor)/s, rtt \(.avg_rtt_us|floor) us, lost \(.lost), errors \(.of_errors); cpu: controller \(.controller_cpus*100|floor/100) cores \(.controller_cpu_us_per_response*100|floor/100) us/resp (system \(.controller_sys_us_per_response*100|floor/100)), generator \(.generator_cpus*100|floor/100) cores \(.generator_cpu_us_per_response*100|floor/100) us/resp"' <<<"$out" | sed "s/^/$name/"
		BENCH=$(jq -r '.median' <<<"$out")
		CPU=$(jq -r '.controller_cpu_us_per_response' <<<"$out")
		SYS=$(jq -r '.controller_sys_us_per_response' <<<"$out")
	else
		echo "compare.sh: $name $mode failed: $(cat "$TMP/err")" >&2
		tail -5 "$CTRL_DIR/out" "$CTRL_DIR/log" 2>/dev/null >&2 || true
		BENCH=failed
		CPU=failed
		SYS=failed
	fi
	stop_controller
}

median() { # numbers on stdin -> median
	sort -g | awk '{v[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

echo "ofcbench: $SWITCHES switches x $MACS MACs, window $WINDOW, $LOOPS loops x $DURATION, warm-up $WARMUP, $ROUNDS round(s); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); controller cpus ${CTRL_CPUS:-any}, generator cpus ${GEN_CPUS:-any}"
NAMES="testcontroller ovsmesh null"
declare -A RES CPUS SYSS cell
for round in $(seq "$ROUNDS"); do
	for mode in $MODES; do
		for name in $NAMES; do
			[[ $name == ovsmesh && $HAVE_OVSMESH == 0 ]] && continue
			bench "$name" "$mode"
			RES[$name.$mode]+="$BENCH "
			CPUS[$name.$mode]+="$CPU "
			SYSS[$name.$mode]+="$SYS "
		done
	done
done

# med ARRAY KEY: the median of the numbers stored under KEY, or n/a.
med() {
	local -n arr=$1
	tr ' ' '\n' <<<"${arr[$2]:-}" | grep -E '^[0-9.]+$' | median
}
ratio() { # ratio A B: A/B to 2 decimals, or n/a
	if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then
		awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
	else
		echo n/a
	fi
}
int() { printf '%.0f' "$1" 2>/dev/null || echo "$1"; }
dec() { printf '%.1f' "$1" 2>/dev/null || echo "$1"; }

echo "responses/s (medians over rounds); ratio = ovsmesh / ovs-testcontroller; null = nullctl, the ceiling"
printf '%-11s %19s %10s %6s %10s %10s %14s\n' mode "ovs-testcontroller" ovsmesh ratio null "null/tc" "ovsmesh/null"
for mode in $MODES; do
	tc=$(med RES "testcontroller.$mode")
	om=$(med RES "ovsmesh.$mode")
	nl=$(med RES "null.$mode")
	printf '%-11s %19s %10s %6s %10s %10s %14s\n' "$mode" "$(int "$tc")" "$(int "$om")" "$(ratio "$om" "$tc")" \
		"$(int "$nl")" "$(ratio "$nl" "$tc")" "$(ratio "$om" "$nl")"
done
echo "controller CPU time per response, microseconds (user+system, all threads; system in parentheses)"
printf '%-11s %19s %14s %6s %14s\n' mode "ovs-testcontroller" ovsmesh ratio null
for mode in $MODES; do
	for name in testcontroller ovsmesh null; do
		cell[$name]="$(dec "$(med CPUS "$name.$mode")") ($(dec "$(med SYSS "$name.$mode")"))"
	done
	printf '%-11s %19s %14s %6s %14s\n' "$mode" "${cell[testcontroller]}" "${cell[ovsmesh]}" \
		"$(ratio "$(med CPUS "testcontroller.$mode")" "$(med CPUS "ovsmesh.$mode")")" "${cell[null]}"
done
