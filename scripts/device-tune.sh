#!/usr/bin/env bash
# Runs on the device machine (prepared by scripts/device-prepare.sh, carry [".gl", ".devbin"]): the parity tests,
# then BPTT's work split (SNNBENCH_BPTT_SPW, SNNBENCH_BPTT_SPLITS) swept over one GSC-sized epoch at several batch
# sizes, so that the GPU defaults in kernels::BpttTuning are measured, not guessed. Output under $OUT.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
{
  nvidia-smi --query-gpu=name,driver_version,power.limit,memory.total,clocks.max.sm --format=csv
  for t in parity_gradients contender_training gpu_memory gpu_context; do
    [ -x ".devbin/$t" ] && timeout 120 ".devbin/$t" --test-threads 1 > "$OUT/test-$t.log" 2>&1
    echo "test $t rc=$? $(grep -E '^test result' "$OUT/test-$t.log" | tail -1)"
  done
  B=.devbin/snnbench
  for n in 100 256 1024; do
    for spw in 1 2 4 8; do
      for splits in 32 128; do
        r=$(SNNBENCH_BPTT_SPW=$spw SNNBENCH_BPTT_SPLITS=$splits timeout 60 $B bench-train --rule bptt --backend wgpu \
          --batch $n --steps-t 100 --samples 55948 --reps 2 --json 2>/dev/null)
        echo "bptt N=$n SPW=$spw SPLITS=$splits $r"
      done
    done
    echo "eprop N=$n $(timeout 60 $B bench-train --rule eprop --backend wgpu --batch $n --steps-t 100 --samples 55948 --reps 2 --json 2>/dev/null)"
  done
} 2>&1 | tee "$OUT/device-tune.log"
