#!/usr/bin/env bash
# Prepares .devdata/ (git-ignored) for scripts/device-reproduce.sh: a synthetic GSC small enough to travel with the
# binaries (the device tool carries 64 MiB in all), its features, and a reproduce config with the paper's schedules
# that reads them.
set -euo pipefail
cd "$(dirname "$0")/.."
SPEAKERS=${SPEAKERS:-18}
grep -qx '/.devdata/' .git/info/exclude 2>/dev/null || echo /.devdata/ >> .git/info/exclude
rm -rf .devdata && mkdir -p .devdata
B="${CARGO_TARGET_DIR:-target}/release/snnbench"
"$B" synth --out /tmp/devsynth-$SPEAKERS --speakers "$SPEAKERS" --seed 0 > /dev/null
"$B" prepare --gsc /tmp/devsynth-$SPEAKERS --out .devdata/features --silence-train 40 --silence-validation 5
echo "synthetic GSC ($SPEAKERS speakers, seed 0; made by scripts/device-data.sh)" > .devdata/features/source.txt
cat > .devdata/config.toml <<TOML
quick = false
seed = 0

[data]
features = ".devdata/features"
synth_speakers = $SPEAKERS
seed = 0
silence_train = 40
silence_validation = 5

[chip]
batch = 1
epochs = 33
lr = 0.01
lr_decay = 0.3
decay_every = 2
l2 = 1e-5
shuffle = false

[gpu]
batch = 100
epochs = 30
lr = 0.01
lr_decay = 0.3
decay_every = 6
l2 = 5e-7
shuffle = true

[sweep]
t_steps = [25, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
batch = 100
allocate_up_to_t = 2000

[cost]
pes = 12
gpu = "v100-sxm2"
samples_counted = 16
TOML
du -sh .devdata .devbin .gl 2>/dev/null || true
