#!/usr/bin/env bash
# Runtime benchmarks (criterion, then a table of medians), then the gas calibration (ns per gas
# of the worst-case loop of each priced operation). Needs nothing running.
#   scripts/bench.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/install-deps.sh
bash scripts/build-contracts.sh
cargo bench -p jjj-executive --bench runtime
cargo bench -p jjj-vm --bench gas
