#!/usr/bin/env bash
# Installs the system packages the workbench needs when they are missing (Debian/Ubuntu, as root or with sudo):
#   mesa-vulkan-drivers + libvulkan1  — Mesa's lavapipe, so wgpu finds a (software) GPU on any machine;
#   flite + espeak-ng                 — speech synthesis for the built-in GSC-shaped dataset (`snnbench synth`);
#   slurm-wlm + munge                 — Slurm, for `snnbench sweep --executor slurm` on this machine
#                                       (scripts/slurm-one-node.sh) and its test.
# `--report-only` installs only what `snnbench reproduce` needs (the first three lines; the quickstart installs
# Slurm after its first report). Rust itself must already be installed (rustup, rustc ≥ 1.95).
# `--mesa-backports` (Debian 12 only, opt-in: it adds the bookworm-backports source) replaces Debian 12's Mesa 22.3
# lavapipe by Mesa 25 from bookworm-backports, on which the same kernels trained ≈ 1.9–2.2× faster on one 2-core
# VM (docs/bench.md, "Which lavapipe"; since 0627a37 it compiles the kernels about 1.5× more slowly, no longer 4×).
# CI and the quickstart keep Debian's own Mesa.
set -euo pipefail

report_only=0
mesa_backports=0
for arg in "$@"; do
  case "$arg" in
    --report-only) report_only=1 ;;
    --mesa-backports) mesa_backports=1 ;;
    *) echo "error: unknown option $arg (options: --report-only, --mesa-backports)" >&2; exit 2 ;;
  esac
done

packages=(mesa-vulkan-drivers libvulkan1 flite espeak-ng)
((report_only)) || packages+=(slurm-wlm munge)
need=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done

root_or_sudo() {
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "error: $1 and no root/sudo to do it; do it as root, then rerun" >&2
    exit 1
  fi
}

if ((${#need[@]})); then
  root_or_sudo "missing packages ${need[*]}"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ((mesa_backports)); then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  if [ "$codename" != bookworm ]; then
    echo "error: --mesa-backports is for Debian 12 (bookworm), this is '${codename:-unknown}'; install Mesa ≥ 25 from your distribution instead" >&2
    exit 1
  fi
  version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)
  if [ "${version%%.*}" -lt 25 ]; then
    root_or_sudo "--mesa-backports needs to add bookworm-backports and upgrade Mesa $version"
    if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "deb http://deb.debian.org/debian bookworm-backports main" | $sudo tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
    fi
    echo "setup: installing Mesa's lavapipe from bookworm-backports (replacing $version)" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports \
      mesa-vulkan-drivers >/dev/null
  fi
  echo "setup: lavapipe is Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)" >&2
fi

if ! command -v cargo >/dev/null; then
  echo "error: cargo not found; install Rust ≥ 1.95 with rustup (https://rustup.rs), then rerun" >&2
  exit 1
fi
