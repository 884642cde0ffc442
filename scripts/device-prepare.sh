#!/usr/bin/env bash
# Prepares a device-machine check (the `device` tool lends an H100/H200 to some tasks; it has no Rust toolchain):
# builds here, then puts into .devbin/ (git-ignored) the stripped lean `snnbench` (no burn) and the GPU test binaries
# as one xz tar (the device tool carries 64 MiB with the working tree, whose reports alone are ≈ 23 MB: the lean
# runner is ≈ 52 MB stripped, 8 MB as xz), and into .gl/ the Vulkan loader packages the device README asks for.
# Then call the device tool with
#   carry: [".gl", ".devbin"], command: "bash scripts/device-check.sh", timeout_s: 590
# and read $OUT's files (see scripts/device-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.devbin/' .git/info/exclude 2>/dev/null || echo /.devbin/ >> .git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >> .git/info/exclude
cargo build --release -p bench-harness --bin snnbench --no-default-features
rm -rf .devbin /tmp/devbin && mkdir -p .devbin /tmp/devbin
strip -o /tmp/devbin/snnbench "${CARGO_TARGET_DIR:-target}/release/snnbench"
# DEVICE_TESTS: which GPU test binaries travel (each 22–97 MB stripped, 4–20 MB as xz, of the 64 MiB the device
# tool carries; gpu_memory, the largest, stays here unless asked for).
export DEVICE_TESTS=${DEVICE_TESTS:-parity_gradients contender_training gpu_context evaluation}
cargo test --release -p tests --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,os,sys
want=os.environ["DEVICE_TESTS"].split()
for l in sys.stdin:
    try: m=json.loads(l)
    except Exception: continue
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"] in want:
        print(m["target"]["name"], m["executable"])' > /tmp/devbins.txt
while read -r name exe; do strip -o "/tmp/devbin/$name" "$exe"; done < /tmp/devbins.txt
tar -C /tmp/devbin -cf - . | xz -9e -T0 > .devbin/bins.tar.xz
ls -l /tmp/devbin
if [ ! -d .gl ] || [ -z "$(ls .gl/*.deb 2>/dev/null)" ]; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .devbin .gl
