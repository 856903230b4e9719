#!/usr/bin/env bash
# Memory under many switches (issue 11): ofcbench with SWITCHES emulated
# switches x MACS MACs against ovsmesh, in throughput and latency mode,
# reporting the controller's peak RSS (VmHWM) next to its responses/s and
# the fewest responses any one switch got (0: a switch went unanswered).
# In the same run, as peers: nullctl (cbench.ServeNull, one packet-out per
# packet-in, no state: the floor of what holding SWITCHES connections
# costs), and, if OVSMESH_BASE names another ovsmesh binary (one built
# from main, say), that one too.
#
# Usage: test/cbench/memory.sh          (from the repository root)
# Environment (defaults):
#   OVSMESH=bin/ovsmesh  OVSMESH_BASE=   ovsmesh binaries
#   SWITCHES=1000 MACS=100 WINDOW=1000 LOOPS=3 DURATION=5s WARMUP=3s
#   MODES="throughput latency"  TARGET_MB=200 (peak RSS target, throughput)
set -euo pipefail

cd "$(dirname "$0")/../.."
OVSMESH=${OVSMESH:-bin/ovsmesh}
OVSMESH_BASE=${OVSMESH_BASE:-}
SWITCHES=${SWITCHES:-1000}
MACS=${MACS:-100}
WINDOW=${WINDOW:-1000}
LOOPS=${LOOPS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-3s}
MODES=${MODES:-throughput latency}
TARGET_MB=${TARGET_MB:-200}

[[ -x $OVSMESH ]] || {
	echo "memory.sh: $OVSMESH not found (make build, or set OVSMESH)" >&2
	exit 1
}
TMP=$(mktemp -d /tmp/ofcbench-memory.XXXXXX)
CTRL_PID=
cleanup() {
	[[ -n $CTRL_PID ]] && kill "$CTRL_PID" 2>/dev/null && wait "$CTRL_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { # free_port FIRST: a free TCP port in FIRST..FIRST+100
	local p
	for p in $(seq "$1" $(($1 + 100))); do
		if ! ss -Hltn "sport = :$p" | grep -q .; then
			echo "$p"
			return
		fi
	done
	echo "memory.sh: no free TCP port in $1-$(($1 + 100))" >&2
	exit 1
}

go build -o "$TMP/ofcbench" ./test/cbench/cmd/ofcbench
go build -o "$TMP/nullctl" ./test/cbench/cmd/nullctl

# start NAME BIN PORT: starts a controller in the background, sets CTRL_PID.
start() {
	local name=$1 bin=$2 port=$3 dir=$TMP/$1.$RANDOM
	mkdir -p "$dir"
	if [[ $name == null ]]; then
		"$TMP/nullctl" -listen "127.0.0.1:$port" >"$dir/out" 2>&1 &
	else
		# Every switch connects from 127.0.0.1: the per-address limit
		# must admit them all (a base binary from before the limits
		# knows no such fields).
		local limits=""
		[[ $name == ovsmesh ]] && limits="  max_connections: $((SWITCHES + 64))
  max_connections_per_ip: $((SWITCHES + 64))"
		cat >"$dir/config.yaml" <<EOF
openflow:
  listen: ["tcp:127.0.0.1:$port"]
$limits
api:
  listen: "127.0.0.1:$(free_port 19753)"
state: $dir/state.db
hosts: []
EOF
		"$bin" controller --config "$dir/config.yaml" >"$dir/out" 2>&1 &
	fi
	CTRL_PID=$!
	CTRL_DIR=$dir
}

stop() {
	kill "$CTRL_PID" 2>/dev/null || true
	wait "$CTRL_PID" 2>/dev/null || true
	CTRL_PID=
}

echo "ofcbench memory: $SWITCHES switches x $MACS MACs, window $WINDOW (throughput), $LOOPS loops x $DURATION, warm-up $WARMUP; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-11s %-13s %13s %14s %16s %12s\n' mode controller "peak RSS MB" "responses/s" "min per switch" lost
PEERS="ovsmesh null"
[[ -n $OVSMESH_BASE ]] && PEERS="ovsmesh base null"
status=0
for mode in $MODES; do
	for name in $PEERS; do
		bin=$OVSMESH extra=()
		[[ $name == base ]] && bin=$OVSMESH_BASE
		# ovsmesh routes packet-ins by table: its learning stage is 10.
		[[ $name != null ]] && extra=(-table 10)
		port=$(free_port 16853)
		start "$name" "$bin" "$port"
		if out=$("$TMP/ofcbench" -json -controller "127.0.0.1:$port" -controller-pid "$CTRL_PID" \
			-switches "$SWITCHES" -macs "$MACS" -mode "$mode" -window "$WINDOW" -connect-timeout 60s \
			-loops "$LOOPS" -duration "$DURATION" -warmup "$WARMUP" "${extra[@]}" 2>"$TMP/err"); then
			read -r rss rate minsw lost < <(jq -r '"\(.controller_peak_rss_bytes/1e6*10|floor/10) \(.median|floor) \(.min_switch_responses) \(.lost)"' <<<"$out")
			printf '%-11s %-13s %13s %14s %16s %12s\n' "$mode" "$name" "$rss" "$rate" "$minsw" "$lost"
			if [[ $name == ovsmesh && $mode == throughput ]]; then
				if awk -v r="$rss" -v t="$TARGET_MB" 'BEGIN {exit !(r <= t)}' && [[ $minsw -gt 0 ]]; then
					VERDICT="target met: peak RSS $rss MB <= $TARGET_MB MB, every switch answered (fewest $minsw)"
				else
					VERDICT="target NOT met: peak RSS $rss MB (target $TARGET_MB MB), fewest responses to one switch $minsw"
					status=1
				fi
			fi
		else
			echo "memory.sh: $name $mode failed: $(cat "$TMP/err")" >&2
			tail -3 "$CTRL_DIR/out" >&2 || true
			status=1
		fi
		stop
	done
done
echo "${VERDICT:-target not measured (no throughput run of ovsmesh)}"
exit $status
