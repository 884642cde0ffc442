#!/usr/bin/env bash
# Installs the system packages the workbench needs when they are missing (Debian/Ubuntu, as root or with sudo):
#   mesa-vulkan-drivers + libvulkan1  — Mesa's lavapipe, so wgpu finds a (software) GPU on any machine;
#   flite + espeak-ng                 — speech synthesis for the built-in GSC-shaped dataset (`snnbench synth`);
#   slurm-wlm + munge                 — Slurm, for `snnbench sweep --executor slurm` on this machine
#                                       (scripts/slurm-one-node.sh) and its test.
# `--report-only` installs only what `snnbench reproduce` needs (the first three lines; the quickstart installs
# Slurm after its first report). Rust itself must already be installed (rustup, rustc ≥ 1.95).
set -euo pipefail

packages=(mesa-vulkan-drivers libvulkan1 flite espeak-ng)
[ "${1:-}" = --report-only ] || packages+=(slurm-wlm munge)
need=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done

if ((${#need[@]})); then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "error: missing packages ${need[*]} and no root/sudo to install them; install them, then rerun" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "error: cargo not found; install Rust ≥ 1.95 with rustup (https://rustup.rs), then rerun" >&2
  exit 1
fi
