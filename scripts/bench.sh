#!/usr/bin/env bash
# Benchmarks. Nothing here asserts a time: each prints tables and JSON to read and compare.
#
#   scripts/bench.sh
#       The runtime criterion suite, the engines side by side and the gas calibration (ns per
#       gas of the worst-case loop of each priced operation), then the signature checks. Needs
#       nothing running.
#
#   scripts/bench.sh --e2e [--quick] [--validators 4|16] [--mode pressure|spike|stability]
#                    [--crypto ed25519|sm2] [-- MORE JJJ BENCH FLAGS]
#       End to end on a fresh devnet of that many validators on 127.0.0.1 (one network, "bench",
#       real processes, RocksDB, TCP): signed bill payments offered in batches over WebSocket by
#       `jjj bench`, which prints a table per step and, as its LAST line, one JSON object
#       (finalised_tps, offered_tps, success, p50_ms, p99_ms, view_changes, dropped_msgs,
#       client_cpu_share, CPU µs per transaction per validator, disk bytes per transaction,
#       per-block phase times, …).
#       pressure (default): from 400 tx/s up by half per step until one is not sustained
#                           (finalised < 95 % of offered or success < 95 %); 60 s steps,
#                           10,000 residents and 100,000 bills issued before the load.
#       spike:     2× the peak for 10 s (success ≥ 75 %); the peak from a pressure search, or
#                  `-- --peak N`.
#       stability: 20 % of the peak for 600 s (`-- --duration-secs N` to change).
#       fixed:     one run of `-- --txs N --rate R` (for profiling: JJJ_BENCH_KEEP=1 keeps the
#                  devnet's directory; the validators' pids are in the table's log).
#       --replay:  afterwards, export the history (`jjj audit export`) and replay it as an auditor
#                  (`jjj audit replay --dir`): its blocks/s and tx/s, and the time per transaction
#                  of batched signature checks, execution and state commit (the ceiling). For
#                  ≥ 100,000 payments: `--mode fixed --replay -- --txs 100000 --rate 1500`.
#       --quick:   10 s steps, 2,000 residents, bills issued as steps need them, a 60 s
#                  stability run: the pressure search ends within 5 minutes.
#       Ports: JJJ_BENCH_P2P_PORT (default 31801), RPC and metrics at +40 and +80. The devnet's
#       directory is removed afterwards unless JJJ_BENCH_KEEP=1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/install-deps.sh
bash scripts/build-contracts.sh >/dev/null

if [ "${1:-}" != "--e2e" ]; then
  cargo bench -p jjj-executive --bench runtime
  cargo bench -p jjj-vm --bench engines
  cargo bench -p jjj-vm --bench gas
  cargo bench -p jjj-crypto --bench verify
  exit 0
fi
shift

QUICK=0 VALIDATORS=4 MODE=pressure SUITE=ed25519+blake2b REPLAY=0
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --replay) REPLAY=1 ;;
    --validators) VALIDATORS=${2:?--validators takes a number}; shift ;;
    --mode) MODE=${2:?--mode takes pressure, spike or stability}; shift ;;
    --crypto)
      case "${2:-}" in
        sm2 | sm2+sm3) SUITE=sm2+sm3 ;;
        ed25519 | ed25519+blake2b) SUITE=ed25519+blake2b ;;
        *) echo "scripts/bench.sh: --crypto takes sm2 or ed25519, not '${2:-}'" >&2; exit 2 ;;
      esac
      shift ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "scripts/bench.sh: unknown flag '$1' (see the comment at the top of scripts/bench.sh)" >&2; exit 2 ;;
  esac
  shift
done
case "$MODE" in pressure | spike | stability | fixed) ;; *) echo "scripts/bench.sh: --mode takes pressure, spike, stability or fixed, not '$MODE'" >&2; exit 2 ;; esac
if [ "$VALIDATORS" -lt 1 ] || [ "$VALIDATORS" -gt 16 ]; then
  echo "scripts/bench.sh: --validators takes 1 to 16" >&2
  exit 2
fi

cargo build --release -p jjj-node -p jjj-cli
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
P2P=${JJJ_BENCH_P2P_PORT:-31801}
RPC=$((P2P + 40))
METRICS=$((P2P + 80))
DIR=$(mktemp -d /tmp/jjj-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ "${JJJ_BENCH_KEEP:-0}" = 1 ]; then echo "devnet kept in $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

PROVIDERS=8
members=$(seq -s, 1 "$VALIDATORS")
accounts=(--account bank=1000000000000000@tianjin+bank,deployer,registrar)
for i in $(seq 1 $PROVIDERS); do accounts+=(--account "bench-provider-$i=0@tianjin+utility-provider"); done
"$BIN/jjj" network init --dir "$DIR" --validators "$VALIDATORS" --dev-keys --crypto "$SUITE" \
  --network "bench=$members" --p2p-port "$P2P" --rpc-port "$RPC" --metrics-port "$METRICS" \
  --view-timeout-ms "${JJJ_VIEW_TIMEOUT_MS:-2000}" "${accounts[@]}" >"$DIR/init.log"
for i in $(seq 1 "$VALIDATORS"); do
  RUST_LOG=${RUST_LOG:-warn} "$BIN/jjj-node" --config "$DIR/validator-$i.toml" >"$DIR/validator-$i.log" 2>&1 &
  PIDS+=($!)
done
endpoints=()
for i in $(seq 0 $((VALIDATORS - 1))); do
  url="http://127.0.0.1:$((RPC + i))"
  for _ in $(seq 1 150); do
    if "$BIN/jjj" --rpc "$url" status >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  "$BIN/jjj" --rpc "$url" status >/dev/null || { echo "validator $((i + 1)) did not start; see $DIR/validator-$((i + 1)).log" >&2; exit 1; }
  if [ "$i" -gt 0 ]; then endpoints+=(--also-rpc "$url"); fi
done

if [ "$QUICK" = 1 ]; then
  sizing=(--accounts 2000 --bills 0 --rate 400 --step-secs 10 --duration-secs 60)
else
  sizing=(--accounts 10000 --bills 100000 --rate 400 --step-secs 60 --duration-secs 600)
fi
provider_keys=()
for i in $(seq 1 $PROVIDERS); do provider_keys+=(--provider "$DIR/keys/bench-provider-$i.key"); done
node_pids=()
for p in "${PIDS[@]}"; do node_pids+=(--node-pid "$p"); done
echo "devnet: $VALIDATORS validators ($SUITE) in $DIR; mode $MODE$([ "$QUICK" = 1 ] && echo ', quick')" >&2
"$BIN/jjj" --network bench --rpc "http://127.0.0.1:$RPC" bench \
  --funder "$DIR/keys/bank.key" "${provider_keys[@]}" --wasm target/contracts/utility_bills.wasm \
  --mode "$MODE" "${sizing[@]}" "${endpoints[@]}" "${node_pids[@]}" "${EXTRA[@]}"
if [ "$REPLAY" = 1 ]; then
  echo "auditor: exporting the history, then replaying it from the export" >&2
  "$BIN/jjj" --network bench --rpc "http://127.0.0.1:$RPC" audit export --genesis "$DIR/genesis-bench.json" --out "$DIR/export" >&2
  "$BIN/jjj" audit replay --dir "$DIR/export" --db "$DIR/replay-state"
fi
