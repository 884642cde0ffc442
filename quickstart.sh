#!/usr/bin/env bash
# The main job on a fresh machine, with the first report as early as possible:
#   1. scripts/setup.sh installs what is missing (Mesa's lavapipe so wgpu runs without a GPU, flite and espeak-ng
#      for speech; Slurm, for the tests, after the first report);
#   2. a lean build of `snnbench` (without the burn baseline: about half of a cold build) runs `snnbench reproduce`
#      on the built-in synthetic GSC — e-prop on the emulated SpiNNaker 2, e-prop and BPTT as WGSL kernels, the
#      memory sweep, the cost stage, the bench — and writes report.md;
#   3. the full build adds burn, and the same `snnbench reproduce` resumes the run: it trains and benches the burn
#      baseline and rewrites report.md with its rows. Nothing of step 2 is recomputed.
# Outputs: reports/<date>-<machine>-reproduce/ (CSVs, plots, report.md), or --out DIR. Pass --gsc DIR to use a local
# Google Speech Commands copy, --quick for a short run; QUICKSTART_LEAN=1 stops after step 2. docs/build.md says
# where the build's time goes.
set -euo pipefail
cd "$(dirname "$0")"
start=$SECONDS
elapsed() { local s=$((SECONDS - start)); printf '%d min %02d s' $((s / 60)) $((s % 60)); }

scripts/setup.sh --report-only

# Both passes must write the same folder: name it here unless the arguments do (snnbench's default name).
args=("$@")
has_out=0
for a in "$@"; do [[ "$a" == --out || "$a" == --out=* ]] && has_out=1; done
if [ "$has_out" = 0 ]; then
  host=$(tr -d '[:space:]' </etc/hostname 2>/dev/null || true)
  host=$(printf '%s' "${host:-${HOSTNAME:-machine}}" | tr -c 'A-Za-z0-9-' '-')
  args+=(--out "reports/$(date -u +%F)-${host:-machine}-reproduce")
fi

# Cargo's output folder: CARGO_TARGET_DIR when set (relative paths are relative to this folder, as for cargo).
snnbench="${CARGO_TARGET_DIR:-target}/release/snnbench"

echo "quickstart: building snnbench without burn (the burn baseline follows the first report)"
cargo build --release -p bench-harness --bin snnbench --no-default-features
"$snnbench" reproduce "${args[@]}"
echo "quickstart: first report after $(elapsed) (every contender but the burn baseline)"

if [ "${QUICKSTART_LEAN:-0}" = 1 ]; then
  exit 0
fi
scripts/setup.sh
echo "quickstart: building snnbench with burn, then adding the burn baseline to the same run"
cargo build --release -p bench-harness --bin snnbench
"$snnbench" reproduce "${args[@]}"
echo "quickstart: complete report after $(elapsed)"
