#!/usr/bin/env bash
# Instructions per decide + render for each provider, counted by callgrind:
# a figure that does not move with the machine's load, unlike criterion's.
#
# Builds `benches/instructions.rs` in the bench profile (as `cargo bench`
# does) and runs each operation under `valgrind --tool=callgrind` twice,
# once and 1 + $COUNT times; the difference over $COUNT is the cost of one
# operation, with start-up and set-up cancelled out. Prints a Markdown
# table. Needs valgrind and python3. `bash benches/instructions.sh [OP…]`.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-1000}

bin=$(cargo bench -q -p tidings-benches --bench instructions --no-run \
  --message-format=json |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])')

ops=("$@")
if [ ${#ops[@]} -eq 0 ]; then
  ops=(apns_c2c_text apns_short apns_group_placeholders fcm huawei honor xiaomi oppo vivo meizu tpns
    decide apns_long_cut)
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
collected() {
  valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$out/cg" \
    "$bin" "$1" "$2" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

echo "| operation | instructions/op |"
echo "| --- | ---: |"
for op in "${ops[@]}"; do
  one=$(collected "$op" 1)
  many=$(collected "$op" $((count + 1)))
  per_op=$(python3 -c "print(f'{round(($many - $one) / $count):,}')")
  echo "| $op | $per_op |"
done
