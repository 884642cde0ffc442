#!/usr/bin/env bash
# How close each tolerance preset is to the errors the test suite measures. Runs the workspace tests (or the
# `cargo test` arguments given) with SNNBENCH_TEST_ERRORS set, then prints per preset: its bound, the worst error
# measured, the share of the bound that used, and the comparison where it happened. A preset whose worst share is
# far below 0.1 is looser than the project's ≈ 10× rule; one near 1 is about to fail.
#   scripts/tolerance-report.sh                      # every test
#   scripts/tolerance-report.sh -p tests --test parity_gradients
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--workspace)
SNNBENCH_TEST_ERRORS="$log" cargo test --release "${args[@]}" -- --test-threads 2 >/dev/null 2>&1 || {
  echo "tolerance-report: some tests failed; figures below cover the comparisons that ran" >&2
}
echo "preset	rel	abs	comparisons	worst rel error	worst abs error	share of bound	where"
sort -t$'\t' -k1,1 -k6,6g "$log" | awk -F'\t' '
  { n[$1]++; if (!($1 in share) || $6 + 0 >= share[$1] + 0) { share[$1] = $6; rel[$1] = $4; abs[$1] = $5; at[$1] = $7; b[$1] = $2 "\t" $3 } }
  END { for (p in n) printf "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", p, b[p], n[p], rel[p], abs[p], share[p], at[p] }' | sort
