#!/usr/bin/env bash
# Installs the system packages the workbench needs when they are missing (Debian/Ubuntu, as root or with sudo):
#   mesa-vulkan-drivers + libvulkan1  — Mesa's lavapipe, so wgpu finds a (software) GPU on any machine;
#   flite + espeak-ng                 — speech synthesis for the built-in GSC-shaped dataset (`snnbench synth`);
#   slurm-wlm + munge                 — Slurm, for `snnbench sweep --executor slurm` on this machine
#                                       (scripts/slurm-one-node.sh) and its test.
# Rust itself must already be installed (rustup, rustc ≥ 1.95).
set -euo pipefail

need=()
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
dpkg -s libvulkan1 >/dev/null 2>&1 || need+=(libvulkan1)
dpkg -s flite >/dev/null 2>&1 || need+=(flite)
dpkg -s espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
dpkg -s slurm-wlm >/dev/null 2>&1 || need+=(slurm-wlm)
dpkg -s munge >/dev/null 2>&1 || need+=(munge)

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
