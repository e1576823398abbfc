#!/usr/bin/env bash
# Where the gateway's CPU goes in a scenario of benches/gateway.sh (A by
# default: single pushes, IN_FLIGHT at a time): `perf record` on the serve
# process while the driver's timed part runs, then the functions with the
# most samples of their own, and with the most below them.
#
#   bash benches/profile.sh                 # A: COUNT=20000 IN_FLIGHT=100
#   SCENARIO=group bash benches/profile.sh  # B: one request of GROUP=10000 devices
#   SCENARIO=batch bash benches/profile.sh  # C: COUNT in batches of BATCH=100
#   TOP=40 bash benches/profile.sh
#
# Function names below ours need frame pointers for the "below" table:
#   CARGO_TARGET_DIR=target/profiling RUSTFLAGS="-C force-frame-pointers=yes" bash benches/profile.sh
#
# Needs perf (Debian's linux-perf). Samples the cpu-clock software event,
# so it works where hardware counters are not exposed (VMs).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-20000}
in_flight=${IN_FLIGHT:-100}
top=${TOP:-25}
scenario=${SCENARIO:-single}
group=${GROUP:-10000}
batch=${BATCH:-100}
case "$scenario" in
  single) args=("$count" "$in_flight") ;;
  group) args=("$group") ;;
  batch) args=("$count" "$batch" "${BATCHES_IN_FLIGHT:-4}") ;;
  *) echo "SCENARIO: single, group or batch" >&2; exit 64 ;;
esac
serve_concurrency=${SERVE_CONCURRENCY:-256}
command -v perf >/dev/null || { echo "perf is not installed: apt-get install -y linux-perf" >&2; exit 1; }

source benches/serve-common.sh
start_standin
start_gateway gateway
"$bin/tidings" render --raw "$case_file" >"$work/payload.json"

perf record -q -e cpu-clock -F 2000 -g -p "$serve_pid" -o "$work/perf.data" 2>"$work/perf.log" &
perf_pid=$!
sleep 0.5
# perf stops when the driver's timed part ends (it then reads every job
# back, which is not part of the scenario).
"$bin/gateway-bench" "$scenario" "$base" "$serve_pid" "$tick" "$case_file" "$work/payload.json" "${args[@]}" \
  >"$work/run.json" 2> >(while read -r line; do
    case "$line" in *"timed part done"*) kill -INT "$perf_pid" ;; *) echo "$line" >&2 ;; esac
  done)
wait "$perf_pid" || true

python3 - "$work/run.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r['scenario']}: {r['pushes']} pushes, {r['delivered'] / r['seconds']:.0f}/s, "
      f"{1000 * r['cpu_seconds'] / r['pushes']:.3f} gateway CPU s / 1,000 pushes")
PY
if [ -n "${KEEP:-}" ]; then cp "$work/perf.data" "$KEEP"; fi
# `head` closes each report's pipe early; under pipefail that would end
# the script after the first table.
set +o pipefail
echo
echo "self time, by function (top $top):"
perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
  grep -E '^ +[0-9.]+%' | sed -E 's/ +- +- +$//; s/ +$//' | cut -c1-150 | head -n "$top"
echo
echo "time below, by function of ours or of a library (top $top; [k] is the kernel):"
perf report -i "$work/perf.data" --children --sort symbol --stdio 2>/dev/null |
  grep -E '^ +[0-9.]+% +[0-9.]+%' | grep -vE 'tokio::runtime|std::sys|std::thread|start_thread|clone3|__GI|core::ops::function|_start|main$|std::rt' |
  sed -E 's/ +- +- +$//; s/ +$//' | cut -c1-150 | head -n "$top"
echo
echo "self time, by shared object:"
perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null |
  grep -E '^ +[0-9.]+%' | sed -E 's/ +$//' | head -n 8 || true
