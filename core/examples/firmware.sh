#!/usr/bin/env bash
# The `firmware` example's two figures: flash size and peak stack.
#
# 1. Builds it in the `firmware` profile for thumbv7em-none-eabihf, which
#    links only if no panic path survives (panic-never), and prints the
#    flash it takes.
# 2. Runs it on an emulated Cortex-M4F (QEMU mps2-an386). cortex-m-rt
#    (feature paint-stack) fills the stack region with 0xcccccccc at reset;
#    the firmware decides and renders its short and its 6000-char CJK/emoji
#    message on every channel, then sleeps, and the RAM is dumped through
#    the QEMU monitor. The lowest word no longer holding the pattern is the
#    deepest the stack went; the firmware's CORE_SP is where it called the
#    core, so the stack below it is decide + render's own. The outcomes the
#    firmware stored must equal a host run of the same example, so the
#    figure is for a run that really went through every renderer.
#
# Needs readelf, python3 and qemu-system-arm. Exits non-zero if the build,
# the run or the comparison fails, if the flash is over $FLASH_LIMIT bytes
# (default 32768, the budget with every provider in), or if decide + render
# used more than $STACK_LIMIT bytes of stack (default 2048).
set -euo pipefail
cd "$(dirname "$0")/../.."
flash_limit=${FLASH_LIMIT:-32768}
stack_limit=${STACK_LIMIT:-2048}
target=thumbv7em-none-eabihf
target_dir=$(cargo metadata -q --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
elf=$target_dir/$target/firmware/examples/firmware

cargo build -q -p tidings-core --example firmware --profile firmware --target $target
host=$(cargo run -q -p tidings-core --example firmware)

dump=$(mktemp)
trap 'rm -f "$dump"' EXIT
# The firmware finishes in well under a second of emulated time, then sleeps.
(sleep 3; echo "pmemsave 0x20000000 0x10000 \"$dump\""; sleep 1; echo quit) |
  qemu-system-arm -M mps2-an386 -display none -serial null -monitor stdio \
    -kernel "$elf" >/dev/null

HOST="$host" SECTIONS="$(readelf -SW "$elf")" SYMBOLS="$(readelf -sW "$elf")" \
  DUMP="$dump" FLASH_LIMIT="$flash_limit" STACK_LIMIT="$stack_limit" python3 - <<'EOF'
import os, re, struct, sys

sections = {}
for line in os.environ["SECTIONS"].splitlines():
    m = re.search(r"\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
    if m:
        sections[m.group(1)] = int(m.group(2), 16)
flash = {s: sections.get(s, 0) for s in (".vector_table", ".text", ".rodata", ".data")}
code = flash[".text"] + flash[".rodata"]
print(f"flash: .text {flash['.text']} + .rodata {flash['.rodata']} = {code} bytes "
      f"({code / 1024:.1f} KiB); with the vector table and .data {sum(flash.values())} bytes")
if sum(flash.values()) > int(os.environ["FLASH_LIMIT"]):
    sys.exit(f"flash {sum(flash.values())} bytes is over {os.environ['FLASH_LIMIT']}")

RAM = 0x20000000
PAINT = 0xCCCCCCCC
syms = {}
for line in os.environ["SYMBOLS"].splitlines():
    f = line.split()
    if len(f) >= 8 and re.fullmatch(r"[0-9a-f]{8}", f[1]):
        syms[f[7]] = (int(f[1], 16), int(f[2]))
ram = open(os.environ["DUMP"], "rb").read()

def word(addr):
    return struct.unpack_from("<I", ram, addr - RAM)[0]

def static(part):
    (addr, size), = [v for n, v in syms.items() if part in n]
    return struct.unpack_from(f"<{size // 4}I", ram, addr - RAM)

start, end = syms["_stack_start"][0], syms["_stack_end"][0]
lowest = next((a for a in range(end, start, 4) if word(a) != PAINT), start)
outcomes = list(static("OUTCOMES"))
core_sp, = static("CORE_SP")
expected = [int(line.split()[2]) for line in os.environ["HOST"].splitlines()]
if outcomes != expected:
    sys.exit(f"firmware outcomes {outcomes} differ from the host's {expected}")
if not end < lowest <= core_sp < start:
    sys.exit(f"stack not measured: painted {end:#x}..{start:#x}, lowest {lowest:#x}, "
             f"core called at {core_sp:#x}")
core = core_sp - lowest
print(f"stack (QEMU mps2-an386, {len(outcomes)} runs as on the host): "
      f"decide + render {core} bytes; the whole firmware {start - lowest} bytes")
if core > int(os.environ["STACK_LIMIT"]):
    sys.exit(f"decide + render used {core} bytes of stack, over {os.environ['STACK_LIMIT']}")
EOF
