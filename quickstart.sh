#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing (Mesa's lavapipe so wgpu runs without a GPU, flite and
# espeak-ng for speech), build, and run `snnbench reproduce` on the built-in synthetic GSC: e-prop on the emulated
# SpiNNaker 2 (online), e-prop and BPTT as WGSL kernels (batch 100; lavapipe when there is no GPU), the memory-vs-T
# sweep and the chip-vs-GPU energy comparison. Outputs: reports/<date>-<machine>-reproduce/ (CSVs, plots, report.md).
# Pass --gsc DIR to use a local Google Speech Commands copy instead, --quick for a 2-minute run.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
cargo build --release -p bench-harness --bin snnbench
target/release/snnbench reproduce "$@"
