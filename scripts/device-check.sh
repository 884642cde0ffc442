#!/usr/bin/env bash
# Runs on the device machine (see scripts/device-prepare.sh): the GPU parity tests and the training benchmarks,
# everything written under $OUT. Prints the adapter first so every figure carries its GPU's name.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
nvidia-smi --query-gpu=name,driver_version,power.limit,memory.total --format=csv > "$OUT/gpu.csv" 2>&1
cat "$OUT/gpu.csv"
for t in parity_gradients parity_training gpu_memory gpu_context; do
  [ -x ".devbin/$t" ] && timeout 120 ".devbin/$t" --test-threads 1 > "$OUT/test-$t.log" 2>&1; echo "$t rc=$?"
done
B=.devbin/snnbench
for rule in eprop bptt; do
  for n in 100 256; do
    timeout 120 $B bench-train --rule "$rule" --backend wgpu --batch "$n" --steps-t 100 --samples "${SAMPLES:-20000}" --reps 3 --json \
      > "$OUT/bench-$rule-$n.json" 2> "$OUT/bench-$rule-$n.err"
    echo "$rule N=$n: $(cat "$OUT/bench-$rule-$n.json")"
  done
done
