#!/usr/bin/env bash
# Builds and runs every fuzz target (the `tests/fuzz.rs` of each fuzzed crate, over the shared
# harness crates/fuzz-harness) for N cases each, prints one line per target and the totals:
#
#   fuzz <target>: <cases> cases, <panics> panics (seed S)
#   …
#   <N> cases, <N> panics
#
# and exits non-zero if any case panicked (each failing input is printed as hex and saved under
# $TMPDIR/jjj-fuzz/, with the seed and case index that replay it).
#
#   scripts/fuzz.sh                   default cases per target (what CI runs inside cargo test)
#   scripts/fuzz.sh --cases 100000    N cases per target; a long run is a big N
#   scripts/fuzz.sh --seed 42         another seed (default fixed; printed on every line)
#
# Replay one failing case:  JJJ_FUZZ_SEED=S JJJ_FUZZ_CASE=I cargo test --release -p <crate> --test fuzz
# The vm target also mutates the built contracts when present: run scripts/build-contracts.sh
# first. Environment: CARGO_TARGET_DIR (default target/); JJJ_FUZZ_VERBOSE=1 adds timings.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --cases) [ $# -ge 2 ] || { echo "--cases needs a number" >&2; exit 2; }; export JJJ_FUZZ_CASES=$2; shift 2 ;;
    --seed) [ $# -ge 2 ] || { echo "--seed needs a number" >&2; exit 2; }; export JJJ_FUZZ_SEED=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done
for n in "${JJJ_FUZZ_CASES:-0}" "${JJJ_FUZZ_SEED:-0}"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "not a number: $n" >&2; exit 2; }
done

# The crates with fuzz targets, in the order their lines are printed.
crates=(jjj-executive jjj-vm jjj-p2p jjj-node jjj-transcode)

# Not anchored: libtest may print `test <name> ... ` on the same line first.
summary='fuzz [a-z0-9_]*: [0-9]* cases, [0-9]* panics (seed [0-9]*)'
log=$(mktemp)
lines=$(mktemp)
trap 'rm -f "$log" "$lines"' EXIT
failed=0
started=$(date +%s)
for crate in "${crates[@]}"; do
  # One target at a time (--test-threads 1): a panic on a worker thread is then blamed on the
  # right target.
  if ! cargo test --quiet --release -p "$crate" --test fuzz -- --nocapture --test-threads 1 >"$log" 2>&1; then
    failed=1
    # The failing inputs and the test's own report.
    grep -v "$summary" "$log" | grep -v '^[[:space:]]*$' >&2 || true
  elif [ -n "${JJJ_FUZZ_VERBOSE:-}" ]; then
    grep -oE '(fuzz [a-z0-9_]*: [0-9.]+ s|^[a-z0-9_]+: .*)' "$log" >&2 || true
  fi
  if ! grep -o "$summary" "$log" | tee -a "$lines"; then
    echo "fuzz: no summary line from $crate" >&2
    failed=1
  fi
done
if [ -n "${JJJ_FUZZ_VERBOSE:-}" ]; then
  echo "fuzz: $(( $(date +%s) - started )) s in all" >&2
fi
read -r total_cases total_panics < <(sed -E 's/.*: ([0-9]+) cases, ([0-9]+) panics.*/\1 \2/' "$lines" |
  awk '{ c += $1; p += $2 } END { print c + 0, p + 0 }')
echo "$total_cases cases, $total_panics panics"
[ "$failed" = 0 ] && [ "$total_panics" = 0 ]
