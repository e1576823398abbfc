#!/usr/bin/env bash
# Scale-out on NATS JetStream, end to end, beside the local queue in the
# same run: `tidings serve` processes taking push requests over HTTP from
# the gateway-bench driver (requests spread over the gateways in turn) and
# delivering to one APNs stand-in process.
#
#   local     one gateway, its redb queue
#   nats ×N   N = 1, 2, 3 gateways on one nats-server -js (a fresh store
#             each), one shared work queue
#
# Each runs A (COUNT single-device requests, IN_FLIGHT at a time) and B
# (one request fanned out to GROUP devices). pushes/s run from the first
# request to the last device's DeliveredAt; CPU is per 1,000 pushes, for
# the gateways and (NATS) the server, from /proc/PID/stat. Everything
# shares this machine's cores with the stand-in and the driver, so more
# gateways add CPU contention, not cores: read the CPU columns.
#
#   bash benches/gateway-scale.sh                  # COUNT=10000 IN_FLIGHT=100 GROUP=10000
#   COUNT=3000 GROUP=3000 bash benches/gateway-scale.sh
#
# Needs nats-server (apt-get install -y nats-server). Not part of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-10000}
command -v nats-server >/dev/null || { echo "needs nats-server: apt-get install -y nats-server" >&2; exit 1; }

source benches/serve-common.sh
start_standin
"$bin/tidings" render --raw "$case_file" >"$work/payload.json"

# run LABEL BASES PIDS -> one JSON line per scenario in $work/results
run() {
  local label=$1 bases=$2 pids_csv=$3 a b
  a=$("$bin/gateway-bench" single "$bases" "$pids_csv" "$tick" "$case_file" "$work/payload.json" "$count" "$in_flight")
  b=$("$bin/gateway-bench" group "$bases" "$pids_csv" "$tick" "$case_file" "$work/payload.json" "$group")
  printf '%s\t%s\n%s\t%s\n' "$label" "$a" "$label" "$b" >>"$work/results"
}

start_gateway local
run "local" "$base" "$serve_pid"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true

for n in 1 2 3; do
  store=$work/nats-$n
  mkdir -p "$store"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Requests of a 10,000-device fan-out are larger than the 1 MB default.
  printf 'listen: "127.0.0.1:%d"\nmax_payload: 8MB\njetstream { store_dir: "%s" }\n' "$port" "$store" >"$store/nats.conf"
  nats-server -js -c "$store/nats.conf" 2>"$store/nats.log" &
  nats_pid=$!
  pids+=("$nats_pid")
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  bases=() serve_pids=()
  for i in $(seq "$n"); do
    start_gateway "nats-$n-$i" "$(printf '[queue]\nkind = "nats"\nurl = "nats://127.0.0.1:%d"' "$port")"
    bases+=("$base") serve_pids+=("$serve_pid")
  done
  run "nats x$n" "$(IFS=,; echo "${bases[*]}")" "$(IFS=,; echo "${serve_pids[*]},$nats_pid")"
  kill "${serve_pids[@]}"; wait "${serve_pids[@]}" 2>/dev/null || true
  kill "$nats_pid"; wait "$nats_pid" 2>/dev/null || true
done

python3 - "$work/results" "$in_flight" <<'PY'
import json, sys
rows = [line.split("\t", 1) for line in open(sys.argv[1]).read().splitlines()]
in_flight = sys.argv[2]
def rate(r): return r["delivered"] / r["seconds"]
local = {json.loads(r)["scenario"]: rate(json.loads(r)) for label, r in rows if label == "local"}
print(f"{'queue':<9} | {'scenario':<28} | {'devices':>7} | {'pushes/s':>8} | {'vs local':>8} | "
      f"{'p50 ms':>7} | {'p99 ms':>7} | {'CPU s/1000 gateways':>19} | {'NATS':>6}")
print("|".join("-" * n for n in (10, 30, 9, 10, 10, 9, 9, 21, 7)))
for label, text in rows:
    r = json.loads(text)
    if r["delivered"] != r["pushes"] or r["seconds"] <= 0:
        sys.exit(f"{label} {r['scenario']}: only {r['delivered']} of {r['pushes']} delivered")
    cpu = r["cpu_by_process"]
    nats = cpu[-1] if label != "local" else None
    gateways = sum(cpu[:-1]) if nats is not None else sum(cpu)
    scenario = (f"A: single, {in_flight} in flight" if r["scenario"] == "single"
                else "B: one request, fanned out")
    per = lambda s: 1000 * s / r["pushes"]
    print(f"{label:<9} | {scenario:<28} | {r['pushes']:>7} | {rate(r):8.0f} | "
          f"{rate(r) / local[r['scenario']]:7.2f}x | {r['p50_ms']:7.1f} | {r['p99_ms']:7.1f} | "
          f"{per(gateways):19.3f} | {'' if nats is None else f'{per(nats):6.3f}'}")
print()
print("pushes/s: first request to the last device's DeliveredAt; p50/p99: accepted -> delivered per device.")
print("CPU: utime + stime per 1,000 pushes, of all gateways together and of nats-server.")
PY
