#!/usr/bin/env bash
# The delivery benchmark: pushes/s, p50/p99 latency and CPU seconds per
# 1,000 pushes from Tidings' APNs client and from @parse/node-apn, sending
# the same rendered payload to the same APNs stand-in (its own process, TLS
# + HTTP/2, JWT checked on every request), at 1, 100 and 1,000 in flight,
# one after the other in the same run.
#
#   bash benches/delivery.sh            # COUNT=20000 pushes per run
#   COUNT=5000 bash benches/delivery.sh
#
# Needs node and npm (installs benches/peers' pinned node-apn).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-20000}
case_file=examples/c2c-apns.json

cargo build -q --profile dist -p tidings --features tidings/jemalloc --bin tidings -p tidings-benches --bin deliver-bench
(cd benches/peers && { [ -d node_modules/@parse/node-apn ] || npm install --no-audit --no-fund --silent; })
target_dir=$(cargo metadata -q --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/dist

work=$(mktemp -d)
"$bin/tidings" standin apns --listen 127.0.0.1:0 --dir "$work/standin" >"$work/standin.json" 2>"$work/standin.log" &
standin_pid=$!
trap 'kill $standin_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/standin.json" ] && break; sleep 0.1; done
info() { python3 -c "import json,sys; print(json.load(open('$work/standin.json'))['$1'])"; }
url=$(info Url)
config=$(info Config)
"$bin/tidings" render --raw "$case_file" >"$work/payload.json"
token=$(python3 -c "import json; print(json.load(open('$case_file'))['Recipient']['Device']['Token'])")

printf '%-11s | %-26s | %9s | %7s | %7s | %13s | %s\n' \
  "in flight" client "pushes/s" "p50 ms" "p99 ms" "CPU s/1000" "ratio"
printf -- '------------|----------------------------|-----------|---------|---------|---------------|------\n'
for concurrency in 1 100 1000; do
  n=$count
  # At one in flight a run is latency-bound; fewer pushes say the same.
  [ "$concurrency" = 1 ] && n=$((count / 10))
  ours=$("$bin/deliver-bench" "$config" "$case_file" "$concurrency" "$n")
  peer=$(cd benches/peers && node deliver.js "$url" "$(info CaFile)" "$(info KeyFile)" \
    "$(info TeamId)" "$(info KeyId)" com.example.chat "$token" "$work/payload.json" "$concurrency" "$n")
  python3 - "$concurrency" "$ours" "$peer" <<'PY'
import json, sys
concurrency, ours, peer = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
def rate(r): return r["delivered"] / r["seconds"]
runs = (("tidings", ours), ("@parse/node-apn 8.1.0", peer))
for name, r in runs:
    if r["delivered"] != r["pushes"] or r["seconds"] <= 0:
        sys.exit(f"{name}: only {r['delivered']} of {r['pushes']} delivered")
for name, r in runs:
    ratio = f"{rate(ours) / rate(peer):.2f}x" if name == "tidings" else ""
    print(f"{concurrency:<11} | {name:<26} | {rate(r):9.0f} | {r['p50_ms']:7.2f} | "
          f"{r['p99_ms']:7.2f} | {1000 * r['cpu_seconds'] / r['pushes']:13.3f} | {ratio}")
PY
done
