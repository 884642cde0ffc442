#!/usr/bin/env bash
# Runs on the device machine (see scripts/device-prepare.sh): the GPU parity tests, the training benchmarks for one
# GSC-sized epoch (55,948 samples, T = 100) and the PyTorch peer on CUDA; everything written under $OUT. Prints the
# GPU first so every figure carries its name.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
{
  nvidia-smi --query-gpu=name,driver_version,power.limit,memory.total,clocks.max.sm --format=csv
  for t in parity_gradients contender_training gpu_memory gpu_context; do
    [ -x ".devbin/$t" ] && timeout 120 ".devbin/$t" --test-threads 1 > "$OUT/test-$t.log" 2>&1
    echo "test $t rc=$? $(grep -E '^test result' "$OUT/test-$t.log" | tail -1)"
  done
  B=.devbin/snnbench
  EPOCH=${EPOCH:-55948}
  for rule in eprop bptt; do
    for n in 100 256 1024; do
      timeout 100 $B bench-train --rule "$rule" --backend wgpu --batch "$n" --steps-t 100 --samples "$EPOCH" --reps 2 --json \
        2>/dev/null || echo "{\"rule\":\"$rule\",\"batch\":$n,\"failed\":true}"
    done
  done
  for n in 100 256; do
    timeout 100 python3 bench-harness/peers/torch_bptt.py --device cuda --batch "$n" --steps-t 100 --samples 12800 \
      || echo "{\"backend\":\"torch-cuda\",\"batch\":$n,\"failed\":true}"
  done
  for T in 25 1000; do
    timeout 60 $B bench-train --rule bptt --backend wgpu --batch 100 --steps-t $T --samples 2000 --reps 1 --json 2>/dev/null
    timeout 60 $B bench-train --rule eprop --backend wgpu --batch 100 --steps-t $T --samples 2000 --reps 1 --json 2>/dev/null
  done
  # e-prop at T = 1,000 as one chunk (the trace adjoint, memory linear in T) beside the default chunks of 100 above.
  timeout 60 $B bench-train --rule eprop --backend wgpu --batch 100 --steps-t 1000 --samples 2000 --reps 1 \
    --eprop-chunk all --json 2>/dev/null
  # GPU energy per sample by the MLPerf-style protocol (bench_harness::power): ≥ ENERGY_WINDOW s of repeated
  # training, the NVML energy counter sampled at 2 Hz, idle before and after a 10 s cooldown (≈ 1.5 min per rule
  # at the default 60 s). ENERGY_WINDOW=0 skips it.
  if [ "${ENERGY_WINDOW:-60}" != 0 ]; then
    for rule in eprop bptt; do
      timeout 200 $B bench-train --rule "$rule" --backend wgpu --batch 100 --steps-t 100 --samples "$EPOCH" --reps 1 \
        --energy-window "${ENERGY_WINDOW:-60}" --json 2>/dev/null || echo "{\"rule\":\"$rule\",\"energy_failed\":true}"
    done
  fi
  # `train` on the GPU (the cue task: generated from its seed, so no speech synthesiser is needed there): per-epoch
  # samples/s after the warm-up step, and the whole run as the MLPerf-style energy window (gpu_energy.csv).
  if [ "${TRAIN_CHECK:-1}" != 0 ]; then
    timeout 200 $B train --task cue --t-steps 1200 --backend wgpu --rule bptt --epochs 3 \
      --energy-window "${ENERGY_WINDOW:-60}" --out "$OUT/train-cue-bptt" 2>&1 | tail -2
    cat "$OUT/train-cue-bptt/gpu_energy.csv" 2>/dev/null
  fi
} 2>&1 | tee "$OUT/device-check.log"
