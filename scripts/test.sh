#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine with nothing but the Rust toolchain:
# installs what is missing (clang/libclang for RocksDB's bindings, the wasm target, rustfmt,
# clippy), checks formatting (cargo fmt --check) and lints (cargo clippy, warnings denied), builds
# the contracts to wasm and the web pages (scripts/build-web.sh), then runs `cargo test` over the
# whole workspace, benches in test mode included, with networks of the ed25519 + BLAKE2b suite;
# the web pages in headless Chromium (scripts/test-web.sh); then the chain-level tests again with
# the 国密 suite (JJJ_TEST_SUITE=sm2+sm3: SM2 keys, signatures and node identities, SM3 for every
# hash; the simulation on a fifth of the seeds). One profile (release) for everything, shared
# with the demo and the benchmarks.
#
#   scripts/test.sh            the CI run (consensus simulation: 1,000 seeds)
#   scripts/test.sh --long     the long run (consensus simulation: 10,000 seeds)
#   (long fault runs: scripts/chaos.sh --kills 50 --perturb, scripts/fuzz.sh --cases 100000)
#
# Environment: CARGO_TARGET_DIR (default target/), JJJ_SIM_SEEDS (overrides the seed count).
# One suite alone: JJJ_TEST_SUITE=sm2+sm3 cargo test --release -p jjj-tests (or any chain crate).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

seeds=1000
for arg in "$@"; do
  case "$arg" in
    --long) seeds=10000 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
export JJJ_SIM_SEEDS=${JJJ_SIM_SEEDS:-$seeds}
# Named absolutely: a test binary cargo reuses from a build of the same sources at another path
# (one CARGO_TARGET_DIR shared by two checkouts) would otherwise look where that checkout was.
export JJJ_CONTRACTS_DIR=${JJJ_CONTRACTS_DIR:-$ROOT/target/contracts}

bash scripts/install-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (release, warnings denied)"
cargo clippy --release --workspace --all-targets -- -D warnings

echo "== building contracts"
bash scripts/build-contracts.sh

echo "== building the web pages (and the wallet's signing module)"
bash scripts/build-web.sh
# crates/wallet-wasm's tests check the module the pages serve, byte for byte against the CLI.
export JJJ_WEB_DIR=${JJJ_WEB_DIR:-$ROOT/target/web}
export JJJ_WALLET_WASM=${JJJ_WALLET_WASM:-$JJJ_WEB_DIR/wallet.wasm}

echo "== cargo test (release)"
cargo test --release --workspace --all-targets

echo "== the web pages in a real browser (scripts/test-web.sh)"
bash scripts/test-web.sh

echo "== chain-level tests with the 国密 suite (JJJ_TEST_SUITE=sm2+sm3)"
JJJ_TEST_SUITE=sm2+sm3 JJJ_SIM_SEEDS=$((JJJ_SIM_SEEDS / 5)) cargo test --release \
  -p jjj-executive -p jjj-testkit -p jjj-store -p jjj-consensus -p jjj-node -p jjj-config -p jjj-p2p -p jjj-tests \
  --lib --bins --tests
