#!/usr/bin/env bash
# Runtime benchmarks (criterion, then a table of medians). Needs nothing running.
#   scripts/bench.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/install-deps.sh
bash scripts/build-contracts.sh
cargo bench -p jjj-executive --bench runtime
