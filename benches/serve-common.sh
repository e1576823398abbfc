# Shared by benches/gateway.sh and benches/gateway-scale.sh (sourced, not
# run): builds the binaries, starts the APNs stand-in and gateways in $work,
# and stops them all on exit. The settings both share are read here; each
# script sets its own COUNT default before sourcing this.

in_flight=${IN_FLIGHT:-100}
group=${GROUP:-10000}
# The gateway's default: sends in flight per provider. Measured against 100
# and 1,000 it made no difference here (see README, "The gateway end to
# end"); the accept path, not the sends, sets the pace.
serve_concurrency=${SERVE_CONCURRENCY:-256}

cargo build -q --profile dist -p tidings --features tidings/jemalloc --bin tidings -p tidings-benches --bin gateway-bench
target_dir=$(cargo metadata -q --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/dist
tick=$(getconf CLK_TCK)
case_file=examples/c2c-apns.json

work=$(mktemp -d)
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A gateway drains (up to 10 s) before it exits; its queue is in $work.
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop EXIT

# The APNs stand-in (its own process, TLS + HTTP/2, JWT checked on every
# request); sets $url and info().
start_standin() {
  "$bin/tidings" standin apns --listen 127.0.0.1:0 --dir "$work/standin" >"$work/standin.json" 2>"$work/standin.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/standin.json" ] && break; sleep 0.1; done
  url=$(info Url)
}
info() { python3 -c "import json,sys; print(json.load(open('$work/standin.json'))['$1'])"; }

# start_gateway NAME [EXTRA_TOML]: `tidings serve` on a free port with the
# stand-in's [apns] table; sets $base and $serve_pid.
start_gateway() {
  local name=$1 extra=${2:-}
  {
    printf '[server]\nlisten = "127.0.0.1:0"\ndata_dir = "%s"\n' "$work/$name"
    printf 'max_devices = %d\nmax_body_bytes = 4194304\nconcurrency = %d\n' \
      "$((group > 10000 ? group : 10000))" "$serve_concurrency"
    printf '%s\n\n' "$extra"
    grep -v '^#' "$(info Config)"
  } >"$work/$name.toml"
  "$bin/tidings" serve --config "$work/$name.toml" 2>"$work/$name.log" &
  serve_pid=$!
  pids+=("$serve_pid")
  base=
  for _ in $(seq 100); do
    base=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/$name.log" 2>/dev/null || true)
    [ -n "$base" ] && break
    kill -0 "$serve_pid" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$base" ] || { echo "gateway $name did not start" >&2; cat "$work/$name.log" >&2; exit 1; }
}
