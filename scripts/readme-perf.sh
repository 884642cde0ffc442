#!/usr/bin/env bash
# Pastes a committed benchmark run's bench.md into README.md between the `perf` markers, so the README's
# performance table is a run's output, never typed: scripts/readme-perf.sh reports/<date>-<machine>-bench
# (tests/tests/tidy.rs checks that the README's table is that file, byte for byte).
set -euo pipefail
dir=${1:?usage: scripts/readme-perf.sh reports/<run folder with bench.md>}
dir=${dir%/}
[ -f "$dir/bench.md" ] || { echo "$dir/bench.md: not found (run \`snnbench bench --out $dir\` first)" >&2; exit 1; }
cd "$(dirname "$0")/.."
python3 - "$dir" <<'PY'
import sys, re
d = sys.argv[1]
table = open(f"{d}/bench.md").read()
readme = open("README.md").read()
begin, end = "<!-- perf:begin", "<!-- perf:end -->"
i, j = readme.index(begin), readme.index(end)
block = f"<!-- perf:begin {d} (scripts/readme-perf.sh; do not edit by hand) -->\n{table}"
open("README.md", "w").write(readme[:i] + block + readme[j:])
PY
echo "README.md: performance table from $dir/bench.md"
