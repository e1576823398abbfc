#!/usr/bin/env bash
# The gateway benchmark, end to end: `tidings serve` (its own process, its
# redb queue on disk) taking push requests over HTTP from the gateway-bench
# driver and delivering them to the APNs stand-in (its own process, TLS +
# HTTP/2, JWT checked on every request), beside @parse/node-apn's bare
# client sending the same payload to the same stand-in.
#
#   A  single pushes: COUNT requests of one device each, IN_FLIGHT at a time
#   B  a group message: one request fanned out to GROUP devices
#   C  a burst handed over in batches: COUNT single-device pushes posted
#      BATCH at a time to POST /v1/push/batch, BATCHES_IN_FLIGHT at a time
#   -  node-apn: COUNT sends from benches/peers/deliver.js, IN_FLIGHT at a time
#
# pushes/s run from the first request to the last device's DeliveredAt;
# p50/p99 are accept-to-delivered per device (DeliveredAt - AcceptedAt from
# GET /v1/jobs, read once the queue is empty); CPU is the serve process's
# (/proc/PID/stat utime + stime) or node's, per 1,000 pushes.
#
#   bash benches/gateway.sh                        # COUNT=20000 IN_FLIGHT=100 GROUP=10000
#   COUNT=5000 bash benches/gateway.sh            # quicker; node-apn is slower over short runs
#   SERVE_CONCURRENCY=1000 bash benches/gateway.sh # [server] concurrency (default 256)
#
# Needs node and npm (installs benches/peers' pinned node-apn). Not part of
# `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-20000}
batch=${BATCH:-100}
batches_in_flight=${BATCHES_IN_FLIGHT:-4}

(cd benches/peers && { [ -d node_modules/@parse/node-apn ] || npm install --no-audit --no-fund --silent; })
source benches/serve-common.sh
start_standin
start_gateway gateway

"$bin/tidings" render --raw "$case_file" >"$work/payload.json"
token=$(python3 -c "import json; print(json.load(open('$case_file'))['Recipient']['Device']['Token'])")

single=$("$bin/gateway-bench" single "$base" "$serve_pid" "$tick" "$case_file" "$work/payload.json" "$count" "$in_flight")
fanout=$("$bin/gateway-bench" group "$base" "$serve_pid" "$tick" "$case_file" "$work/payload.json" "$group")
batched=$("$bin/gateway-bench" batch "$base" "$serve_pid" "$tick" "$case_file" "$work/payload.json" "$count" "$batch" "$batches_in_flight")
peer=$(cd benches/peers && node deliver.js "$url" "$(info CaFile)" "$(info KeyFile)" \
  "$(info TeamId)" "$(info KeyId)" com.example.chat "$token" "$work/payload.json" "$in_flight" "$count")

python3 - "$in_flight" "$batch" "$single" "$fanout" "$batched" "$peer" <<'PY'
import json, sys
in_flight, batch = sys.argv[1:3]
single, fanout, batched, peer = (json.loads(a) for a in sys.argv[3:7])
def rate(r): return r["delivered"] / r["seconds"]
runs = (
    (f"A: single pushes, {in_flight} in flight", "tidings serve", single),
    ("B: one request, fanned out", "tidings serve", fanout),
    (f"C: batches of {batch}", "tidings serve", batched),
    (f"bare client, {in_flight} in flight", "@parse/node-apn 8.1.0", peer),
)
for scenario, name, r in runs:
    if r["delivered"] != r["pushes"] or r["seconds"] <= 0:
        sys.exit(f"{scenario}: only {r['delivered']} of {r['pushes']} delivered")
print(f"{'scenario':<34} | {'system':<21} | {'requests':>8} | {'devices':>7} | {'pushes/s':>8} | "
      f"{'p50 ms':>7} | {'p99 ms':>7} | {'CPU s/1000':>10} | ratio")
print("|".join("-" * n for n in (35, 23, 10, 9, 10, 9, 9, 12, 6)))
for scenario, name, r in runs:
    ratio = f"{rate(r) / rate(peer):.2f}x" if r is not peer else ""
    print(f"{scenario:<34} | {name:<21} | {r.get('requests', r['pushes']):>8} | {r['pushes']:>7} | "
          f"{rate(r):8.0f} | {r['p50_ms']:7.1f} | {r['p99_ms']:7.1f} | "
          f"{1000 * r['cpu_seconds'] / r['pushes']:10.3f} | {ratio}")
print()
print("pushes/s: first request to the last device's DeliveredAt (node-apn: first send to last answer).")
print("p50/p99: tidings accepted -> delivered per device (DeliveredAt - AcceptedAt); node-apn send -> answer.")
print("ratio: pushes/s over node-apn's (targets: A >= 1.0x, goal 1.5x; B >= 2.0x). CPU: the serve process's (utime + stime), or node's.")
for label, r in (("A", single), ("B", fanout), ("C", batched)):
    print(f"{label}: POST answered in p50 {r['post_p50_ms']:.1f} ms, p99 {r['post_p99_ms']:.1f} ms; "
          f"the driver used {1000 * r['driver_cpu_seconds'] / r['pushes']:.3f} CPU s / 1,000 devices.")
for label, r in (("A", single), ("B", fanout), ("C", batched)):
    threads = ", ".join(f"{name} {1000 * s / r['pushes']:.3f}"
                        for name, s in sorted(r["cpu_by_thread"].items(), key=lambda t: -t[1]) if s > 0)
    print(f"{label}: the gateway's CPU s / 1,000 pushes by thread: {threads}.")
PY
