#!/usr/bin/env bash
# Where lavapipe spends a training step: samples a running `snnbench bench-train` with perf, lists the hottest
# addresses of the driver's JIT-compiled kernels, and disassembles the code around the hottest one with gdb (the JIT
# code has no symbols, so perf alone cannot show it). docs/bench.md, "Profiling the kernels on lavapipe", explains how
# to read the output.
#
#   scripts/profile-lavapipe.sh [--seconds S] [--warmup S] [--out DIR] [-- bench-train options]
#
# Default bench-train options: --rule bptt --backend wgpu --batch 100 --steps-t 100 --samples 400. Needs perf
# (Debian: linux-perf) and gdb, and a release build (cargo build --release -p bench-harness --bin snnbench).
# Writes DIR/perf.data, DIR/dso.txt (samples by binary), DIR/hot.txt (the kernel code's hottest addresses, by share of
# all samples), DIR/code-map.txt (samples by page of kernel code with each page's instruction mix,
# scripts/lavapipe-code-map.py; needs objdump) and DIR/disasm.txt. The script adds --reps to the bench-train options
# and stops the run at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=4
warmup=90
out=target/profile-lavapipe
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "profile-lavapipe: unknown option $1 (options: --seconds S, --warmup S, --out DIR, then -- and bench-train options)" >&2; exit 2 ;;
  esac
done
bench_args=("$@")
if [ ${#bench_args[@]} -eq 0 ]; then
  bench_args=(--rule bptt --backend wgpu --batch 100 --steps-t 100 --samples 400)
fi
for tool in perf gdb; do
  command -v "$tool" > /dev/null || { echo "profile-lavapipe: $tool is missing (Debian: apt-get install linux-perf gdb)" >&2; exit 1; }
done
bin="${CARGO_TARGET_DIR:-target}/release/snnbench"
[ -x "$bin" ] || { echo "profile-lavapipe: $bin is missing; run: cargo build --release -p bench-harness --bin snnbench" >&2; exit 1; }
mkdir -p "$out"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# Enough repetitions to outlast the warm-up and the sample; stopped when the script ends.
"$bin" bench-train "${bench_args[@]}" --reps 1000 > "$out/bench.log" 2>&1 &
pid=$!
trap 'kill $pid 2> /dev/null || true' EXIT
# Let it compile its kernels first (20 s to 3 min on lavapipe the first time; then Mesa's disk cache has them).
for _ in $(seq 1 "$warmup"); do
  sleep 1
  kill -0 $pid 2> /dev/null || { echo "profile-lavapipe: bench-train exited early:" >&2; tail -5 "$out/bench.log" >&2; exit 1; }
done
perf record -q -p $pid -o "$out/perf.data" -- sleep "$seconds" 2> /dev/null
perf report -i "$out/perf.data" --no-children --sort dso > "$out/dso-full.txt" 2> /dev/null
perf report -i "$out/perf.data" --no-children --sort dso,sym > "$out/sym-full.txt" 2> /dev/null
grep '%' "$out/dso-full.txt" | sed -n 1,8p > "$out/dso.txt" || true
# The code map (while the process still runs: its JIT code is read from /proc/PID/mem).
if command -v objdump > /dev/null; then
  python3 scripts/lavapipe-code-map.py $pid "$out/perf.data" "$out" ||
    echo "profile-lavapipe: no code map (scripts/lavapipe-code-map.py failed)" >&2
else
  echo "profile-lavapipe: objdump is missing (Debian: apt-get install binutils), so no code map" >&2
fi
# The kernels' code: rows whose binary is perf's [JIT] (no file behind the mapping).
grep '%' "$out/sym-full.txt" | grep -F '[JIT]' | sed -n 1,40p > "$out/hot.txt" || true
jit=$(awk '/\[JIT\]/ {sub(/%/, "", $1); s += $1} END {printf "%.0f", s}' "$out/dso-full.txt")
if [ "${jit:-0}" -lt 50 ]; then
  echo "profile-lavapipe: only ${jit:-0} % of the samples ran kernel code (the driver was probably still compiling);" \
    "run again with a longer --warmup (now $warmup s)" >&2
fi
hot=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^0x[0-9a-f]+$/) {print $i; exit}}' "$out/hot.txt")
if [ -n "$hot" ]; then
  start=$(printf '0x%x' $((hot - 0x600)))
  gdb -p $pid -batch -ex "x/700i $start" 2> /dev/null | grep -E '^ *0x' > "$out/disasm.txt" || true
fi
echo "samples by binary (the JIT rows are the kernels):"
cat "$out/dso.txt"
echo "hottest addresses:"
sed -n 1,12p "$out/hot.txt"
[ -f "$out/code-map.txt" ] && echo "samples by page of kernel code, with each page's instruction mix: $out/code-map.txt"
echo "disassembly around $hot: $out/disasm.txt ($(wc -l < "$out/disasm.txt" 2> /dev/null || echo 0) instructions)"
