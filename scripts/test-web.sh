#!/usr/bin/env bash
# The web pages' browser tests alone, on a fresh devnet of four jjj-node processes serving the
# pages: headless Chromium (Debian's chromium and chromium-driver, installed here when missing)
# drives the wallet, explorer, governance, operator and auditor pages (tests/tests/web.rs).
#
#   scripts/test-web.sh [--screenshots DIR]   PNGs of each page into DIR
#
# Ends with "N passed, N failed" (the checks of tests/tests/web.rs). Also run by scripts/test.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SHOTS=
while [ $# -gt 0 ]; do
  case "$1" in
    --screenshots) SHOTS=${2:?--screenshots takes a directory}; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done
export JJJ_CONTRACTS_DIR=${JJJ_CONTRACTS_DIR:-$ROOT/target/contracts}
export JJJ_WEB_DIR=${JJJ_WEB_DIR:-$ROOT/target/web}
# The pages are Chinese first: a CJK font, or the screenshots show boxes.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 ||
  ! fc-list :lang=zh 2>/dev/null | grep -c . >/dev/null; then
  echo "installing Chromium, its WebDriver and a Chinese font (Debian's chromium, chromium-driver, fonts-wqy-zenhei)…"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-wqy-zenhei >/dev/null
fi
# chromium-driver is the package of /usr/bin/chromedriver, which the tests drive the browser through.
for b in chromium chromedriver; do
  command -v "$b" >/dev/null 2>&1 || { echo "scripts/test-web.sh: $b is still missing after the install" >&2; exit 1; }
done
[ -f "$JJJ_CONTRACTS_DIR/utility_bills.wasm" ] || bash scripts/build-contracts.sh >/dev/null
bash scripts/build-web.sh
cargo build --release -q -p jjj-node -p jjj-cli
if [ -n "$SHOTS" ]; then
  mkdir -p "$SHOTS"
  export JJJ_WEB_SCREENSHOTS=$(cd "$SHOTS" && pwd)
fi
LOG=$(mktemp)
set +e
cargo test --release -q -p jjj-tests --test web -- --ignored --nocapture 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -c '^web check .*: ok$' "$LOG" || true)
failed=$(grep -c '^web check .*: FAILED' "$LOG" || true)
rm -f "$LOG"
# A failure before any check ran (no devnet, no browser) still counts as one.
[ "$rc" -ne 0 ] && [ "$failed" = 0 ] && failed=1
[ -n "$SHOTS" ] && echo "screenshots in $JJJ_WEB_SCREENSHOTS"
echo "$passed passed, $failed failed"
exit "$rc"
