#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, and train the paper's network (80→120 ALIF→12)
# online (batch 1, Adam, lr 0.01) with e-prop and with BPTT on a built-in seeded toy task shaped like GSC features
# (T = 100, 80 features, 12 classes), then evaluate both on held-out samples. Outputs go to reports/quickstart/.
# (Synthetic speech and the full `snnbench reproduce` are later milestones; see the issues.)
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
cargo build --release -p bench-harness --bin snnbench
bin=target/release/snnbench
out=reports/quickstart
mkdir -p "$out"
$bin init --seed 0 --out "$out/params.safetensors"
$bin random-batch --batch 512 --class-signal 0.2 --seed 1 --out "$out/train.safetensors"
$bin random-batch --batch 256 --class-signal 0.2 --seed 2 --out "$out/test.safetensors"
$bin evaluate --params "$out/params.safetensors" --batch "$out/test.safetensors"
for rule in eprop bptt; do
  $bin grads --rule "$rule" --params "$out/params.safetensors" --batch "$out/test.safetensors" \
    --out "$out/grads-$rule.safetensors"
  $bin train-steps --rule "$rule" --params "$out/params.safetensors" --batch "$out/train.safetensors" \
    --steps 1024 --batch-size 1 --out "$out/trained-$rule.safetensors"
  $bin evaluate --params "$out/trained-$rule.safetensors" --batch "$out/test.safetensors"
done
echo "done: outputs in $out/"
