#!/usr/bin/env bash
# Runs on the device machine: `snnbench reproduce` with the paper's schedules on features prepared here (the device
# has no speech synthesiser; .devdata/ holds them and the config), then `snnbench bench --quick` with the PyTorch
# peer on CUDA into the same run folder, and the GPU parity tests. The run folder comes back as one tar under $OUT.
# Prepare here with:  scripts/device-prepare.sh && scripts/device-data.sh
# Then call the device tool with carry [".gl", ".devbin", ".devdata"], command
#   "SNNBENCH_GIT_REV=$(git rev-parse --short=12 HEAD) DEVICE_RUN_NAME=<date>-<gpu> bash scripts/device-reproduce.sh"
# with the revision written out (the device's copy of .git is not this tree's).
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
RUN=reports/${DEVICE_RUN_NAME:-device}-reproduce
B=.devbin/snnbench
{
  nvidia-smi --query-gpu=name,driver_version,power.limit,memory.total,clocks.max.sm --format=csv
  if [ -x .devbin/parity_gradients ]; then
    timeout 120 .devbin/parity_gradients --test-threads 1 > "$OUT/test-parity_gradients.log" 2>&1
    echo "test parity_gradients rc=$? $(grep -E '^test result' "$OUT/test-parity_gradients.log" | tail -1)"
  fi
  time timeout 420 $B --quiet reproduce --config .devdata/config.toml --out "$RUN"; echo "reproduce rc=$?"
  time timeout 120 $B --quiet bench --quick --samples 2000 --out "$RUN"; echo "bench rc=$?"
  $B report "$RUN"
  cat "$RUN/summary_training.csv" "$RUN/bench.csv"
} 2>&1 | tee "$OUT/device-reproduce.log"
tar --exclude=checkpoints -cf "$OUT/run.tar" "$RUN"
