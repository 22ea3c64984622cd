#!/usr/bin/env bash
# The kill -9 campaign: a fresh 4-validator devnet (real jjj-node processes) under a load of
# utility-bills calls (bills issued and paid); random validators, the leader included, are
# killed with SIGKILL at random moments and restarted after a random pause, one at a time.
# Prints one line per kill, checks every validator over RPC and ends with
#   N kills, N finalised tx checked, N lost, roots equal: yes|no
# Exits non-zero on any loss, divergence or stall. On failure the devnet directory (logs,
# databases) is kept and its path printed.
#
#   scripts/chaos.sh [--kills N] [--seed S] [--perturb]
#       default: 50 kills, a random seed (printed). --perturb routes validator links through a
#       fault proxy and, before each kill, half of the time runs a random perturbation (latency,
#       a validator cut off, the leader partitioned one way or isolated) for 1-5 s, then heals.
#   scripts/chaos.sh --help
#
# Builds what it needs (jjj-node, jjj, jjj-chaos in release; the contracts). Environment:
# CARGO_TARGET_DIR (default target/), JJJ_CHAOS_BASE_PORT (default 31000: p2p 31000-31003,
# RPC 31010-31013, metrics 31020-31023; below the ephemeral range 32768+).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

kills=50
seed=
perturb=
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills=${2:?--kills needs a number}; shift 2 ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    --perturb) perturb=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done
case "$kills" in ''|*[!0-9]*) echo "--kills: not a number: $kills" >&2; exit 2 ;; esac
if [ -n "$seed" ]; then
  case "$seed" in *[!0-9]*) echo "--seed: not a number: $seed" >&2; exit 2 ;; esac
fi

BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
if [ ! -f "${JJJ_CONTRACTS_DIR:-$ROOT/target/contracts}/utility_bills.wasm" ]; then
  bash scripts/build-contracts.sh utility-bills >/dev/null
fi
cargo build --quiet --release -p jjj-node -p jjj-cli -p jjj-tests --bin jjj-node --bin jjj --bin jjj-chaos

args=(--kills "$kills" --base-port "${JJJ_CHAOS_BASE_PORT:-31000}")
[ -n "$seed" ] && args+=(--seed "$seed")
[ -n "$perturb" ] && args+=(--perturb)
exec "$BIN/jjj-chaos" "${args[@]}"
