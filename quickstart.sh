#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, make a GSC-shaped keyword dataset by speech
# synthesis (30 words × 40 speakers), extract the paper's log-Mel + delta features, train the paper's network
# (80→120 ALIF→12) with e-prop and with BPTT as WGSL kernels (lavapipe when there is no GPU), evaluate both on the
# held-out speakers, and price e-prop on an emulated SpiNNaker 2 against a GPU. Outputs: reports/quickstart/.
# (The full `snnbench reproduce` harness is a later milestone; see the issues.)
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
cargo build --release -p bench-harness --bin snnbench
bin=target/release/snnbench
out=reports/quickstart
mkdir -p "$out"
[ -d "$out/synth-gsc/yes" ] || $bin synth --out "$out/synth-gsc" --speakers 40 --seed 0
$bin prepare --gsc "$out/synth-gsc" --out "$out/features" --silence-train 64 --silence-validation 8
$bin init --seed 0 --out "$out/params.safetensors"
for rule in eprop bptt; do
  # 5 epochs of minibatches of 32 over the 1,024 training clips.
  $bin train-steps --rule "$rule" --backend wgpu --params "$out/params.safetensors" \
    --batch "$out/features/train.safetensors" --steps 160 --batch-size 32 --out "$out/trained-$rule.safetensors"
  $bin evaluate --params "$out/trained-$rule.safetensors" --batch "$out/features/test.safetensors"
done
$bin cost > "$out/cost.txt"
head -n 1 "$out/cost.txt"
grep -E "^(Real time|Ratio band)" "$out/cost.txt"
echo "done: outputs in $out/"
