#!/usr/bin/env bash
# Installs the system packages the workbench needs when they are missing (Debian/Ubuntu, as root or with sudo):
#   mesa-vulkan-drivers + libvulkan1  — Mesa's lavapipe, so wgpu finds a (software) GPU on any machine;
#   flite + espeak-ng                 — speech synthesis for the built-in GSC-shaped dataset (`snnbench synth`);
#   slurm-wlm + munge                 — Slurm, for `snnbench sweep --executor slurm` on this machine
#                                       (scripts/slurm-one-node.sh) and its test.
# `--report-only` installs only what `snnbench reproduce` needs (the first three lines; the quickstart installs
# Slurm after its first report). Rust itself must already be installed (rustup, rustc ≥ 1.95).
# On Debian 12 (bookworm) it also replaces Debian's Mesa 22.3 lavapipe by Mesa 25 from bookworm-backports (adding
# that source): the same kernels train ≈ 1.5–2× faster there on one 2-core VM (docs/bench.md, "Which lavapipe"), and
# since 0627a37 it compiles them in about 1.5× the time, no longer 4×. If bookworm-backports cannot be reached it says
# so and keeps Debian's Mesa, as it does without root or sudo. `--debian-mesa` keeps Debian's Mesa 22.3 (in our
# checks the trained weights were the same bits on both; only the speed differs). `--mesa-backports`, the old
# opt-in, is accepted and now the default.
set -euo pipefail

report_only=0
mesa_backports=1
for arg in "$@"; do
  case "$arg" in
    --report-only) report_only=1 ;;
    --mesa-backports) mesa_backports=1 ;;
    --debian-mesa) mesa_backports=0 ;;
    *) echo "error: unknown option $arg (options: --report-only, --debian-mesa)" >&2; exit 2 ;;
  esac
done

packages=(mesa-vulkan-drivers libvulkan1 flite espeak-ng)
((report_only)) || packages+=(slurm-wlm munge)
need=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done

# Sets $sudo to what runs apt: nothing as root, sudo where it exists; fails where neither can.
find_sudo() {
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else return 1; fi
}

root_or_sudo() {
  find_sudo || { echo "error: $1 and no root/sudo to do it; do it as root, then rerun" >&2; exit 1; }
}

# apt-get install, quiet: its stdout dropped, and from its stderr the line debconf prints on every machine without
# apt-utils ("delaying package configuration"), which reads like a problem and is none.
apt_install() {
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    2> >(grep -v '^debconf: delaying package configuration' >&2)
}

if ((${#need[@]})); then
  root_or_sudo "missing packages ${need[*]}"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  apt_install "${need[@]}"
fi

codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if ((mesa_backports)) && [ "$codename" = bookworm ]; then
  version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)
  if [ "${version%%.*}" -lt 25 ]; then
    if ! find_sudo; then
      echo "setup: note: Mesa 25 from bookworm-backports (≈ 1.5–2× faster kernels) needs root or sudo; keeping" \
        "Debian's Mesa $version (pass --debian-mesa to skip this)" >&2
    else
      echo "setup: installing Mesa 25's lavapipe from bookworm-backports (replacing $version; --debian-mesa keeps it)" >&2
      added=""
      if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        added=/etc/apt/sources.list.d/bookworm-backports.list
        echo "deb http://deb.debian.org/debian bookworm-backports main" | $sudo tee "$added" >/dev/null
      fi
      if ! { $sudo apt-get update -qq && apt_install -t bookworm-backports mesa-vulkan-drivers; }; then
        # Leave apt as it was: a source that cannot be reached would make every later `apt-get update` fail.
        [ -z "$added" ] || $sudo rm -f "$added"
        echo "setup: warning: could not install Mesa from bookworm-backports; keeping Debian's Mesa $version (same" \
          "results in our checks, ≈ 1.5–2× more slowly)" >&2
      fi
    fi
  fi
fi
if mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null); then
  echo "setup: lavapipe is Mesa $mesa" >&2
fi

if ! command -v cargo >/dev/null; then
  echo "error: cargo not found; install Rust ≥ 1.95 with rustup (https://rustup.rs), then rerun" >&2
  exit 1
fi
