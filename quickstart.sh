#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing (Mesa's lavapipe so wgpu runs without a GPU, flite and
# espeak-ng for speech), build, and run `snnbench reproduce` on the built-in synthetic GSC: e-prop on the emulated
# SpiNNaker 2 (online), e-prop and BPTT as WGSL kernels (batch 100; lavapipe when there is no GPU), the memory-vs-T
# sweep and the chip-vs-GPU energy comparison. Outputs: reports/<date>-<machine>-reproduce/ (CSVs, plots, report.md).
# Pass --gsc DIR to use a local Google Speech Commands copy instead, --quick for a 2-minute run.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
# The Vulkan loader's window-system code prints "error: XDG_RUNTIME_DIR is invalid or not set" when the variable is
# missing (harmless, but it reads as a failure): give it a private folder when the session has none.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d /tmp/xdg-runtime.XXXXXX) && chmod 700 "$XDG_RUNTIME_DIR" && export XDG_RUNTIME_DIR
fi
cargo build --release -p bench-harness --bin snnbench
target/release/snnbench reproduce "$@"
