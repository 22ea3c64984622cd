#!/usr/bin/env bash
# Starts a 4-validator devnet on 127.0.0.1, each validator with its own embedded RocksDB, in a
# directory (default: a new temporary one). Two networks share the validators' ports:
# jjj (京津冀, validators 1-4) and jj (京津, validators 1-4), each with its own genesis, ledger
# and consensus. A fifth node follows jjj without validating (`--follow jjj=5`): governance may
# add it to the validator set (`jjj proposal new set-validators`), as the demo does.
#
#   scripts/devnet.sh [--crypto sm2|ed25519] [--preset jingjinji] [DIR]
#                             start; prints DIR, the RPC endpoints and how to stop. --crypto sm2:
#                             the 国密 suite (SM2 keys, signatures and node identities, SM3 for
#                             every hash); default ed25519 + BLAKE2b. --preset jingjinji: the
#                             region's four networks on six nodes, two per region (nodes 1-2
#                             Beijing, 3-4 Tianjin, 5-6 Hebei): jingjin 京津 (1-4), jingji 京冀
#                             (1,2,5,6), jinji 津冀 (3-6), jingjinji 京津冀 (all six), each
#                             validated by its regions' nodes and governed by their members
#   scripts/devnet.sh --stop DIR    stop every validator of DIR (SIGTERM, then SIGKILL)
#
# Binaries come from $CARGO_TARGET_DIR/release (default target/release); build them with
# `cargo build --release -p jjj-node`. Logs: DIR/validator-N.log. Every node serves the web
# pages (wallet, explorer…) at its RPC address when $JJJ_WEB_DIR (default target/web) holds
# them: scripts/build-web.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release

stop() {
  local dir=$1
  for pidfile in "$dir"/validator-*.pid; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  for pidfile in "$dir"/validator-*.pid; do
    [ -f "$pidfile" ] || continue
    kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

if [ "${1:-}" = "--stop" ]; then
  stop "${2:?usage: scripts/devnet.sh --stop DIR}"
  exit 0
fi

SUITE=ed25519+blake2b
PRESET=
while [ $# -gt 0 ]; do
  case "$1" in
    --crypto)
      case "${2:-}" in
        sm2 | sm2+sm3) SUITE=sm2+sm3 ;;
        ed25519 | ed25519+blake2b) SUITE=ed25519+blake2b ;;
        *) echo "scripts/devnet.sh: --crypto takes sm2 or ed25519, not '${2:-}'" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --preset)
      case "${2:-}" in
        jingjinji) PRESET=jingjinji ;;
        *) echo "scripts/devnet.sh: --preset takes jingjinji, not '${2:-}'" >&2; exit 2 ;;
      esac
      shift 2 ;;
    *) break ;;
  esac
done

DIR=${1:-$(mktemp -d /tmp/jjj-devnet.XXXXXX)}
mkdir -p "$DIR"
PRESET_ACCOUNTS=()
if [ -n "$PRESET" ]; then
  LAYOUT=(--preset "$PRESET")
  NODES=6
  # What the 津冀 stories need that the accounts above (mostly Beijing's) do not give that network.
  PRESET_ACCOUNTS=(--account tianjin-admin=0@tianjin+deployer --account tianjin-chem=2000000@tianjin
    --account tianjin-agency=0@tianjin+environment-agency --account hebei-transport=0@hebei+transporter)
else
  LAYOUT=(--validators 5 --network jjj=1,2,3,4 --network jj=1,2,3,4 --follow jjj=5)
  NODES=5
fi
if [ ! -f "$DIR/validator-1.toml" ]; then
  "$BIN/jjj" network init --dir "$DIR" --dev-keys --crypto "$SUITE" "${LAYOUT[@]}" \
    --p2p-port "${JJJ_P2P_PORT:-30301}" --rpc-port "${JJJ_RPC_PORT:-9941}" --metrics-port "${JJJ_METRICS_PORT:-9611}" \
    --view-timeout-ms "${JJJ_VIEW_TIMEOUT_MS:-1000}" \
    --account admin=0@beijing+deployer --account beijing-water=0@beijing+utility-provider,water-utility \
    --account tianjin-grid=0@tianjin+utility-provider \
    --account hebei-resident=500000@hebei+resident --account beijing-resident=500000@beijing+resident \
    --account bank=100000000000@tianjin+bank,deployer,registrar --account beijing-factory=2000000@beijing \
    --account jinghua-transport=0@beijing+transporter --account langfang-facility=0@hebei+facility \
    --account beijing-agency=0@beijing+environment-agency --account hebei-agency=0@hebei+environment-agency \
    --account tianjin-buyer=5000000@tianjin --account hebei-seller=0@hebei \
    --account beijing-logistics=0@beijing+transporter --account arbitrator=0@beijing+arbitrator \
    --account tianjin-auditor=0@tianjin+auditor --account beijing-court=0@beijing+notary \
    --account hebei-tax=0@hebei+tax-bureau --account tianjin-finance=0@tianjin+finance --account beijing-finance=0@beijing+finance \
    --account hebei-housing-bureau=0@hebei+fund-supervisor --account hebei-builder=200000@hebei --account hebei-worker=0@hebei+resident \
    --account jingjinji-fund=20000000@beijing+funding-body --account expert-beijing=0@beijing \
    --account expert-tianjin=0@tianjin --account expert-hebei=0@hebei --account tianjin-energy=200000@tianjin \
    --account beijing-gov-service=0@beijing+workflow-admin --account beijing-housing-registry=0@beijing+real-estate-registry \
    --account beijing-power=0@beijing+power-utility --account tianjin-env-bureau=0@tianjin+environment-agency \
    --account hebei-steel=1000000@hebei --account hebei-steel-station=0@hebei \
    --account tianjin-petrochem=1000000@tianjin --account tianjin-petrochem-station=0@tianjin \
    "${PRESET_ACCOUNTS[@]}" \
    >"$DIR/init.log"
fi
WEB_DIR=${JJJ_WEB_DIR:-$ROOT/target/web}
WEB=()
[ -f "$WEB_DIR/index.html" ] && WEB=(--web-dir "$WEB_DIR")
for i in $(seq 1 "$NODES"); do
  RUST_LOG=${RUST_LOG:-info} "$BIN/jjj-node" --config "$DIR/validator-$i.toml" "${WEB[@]}" >>"$DIR/validator-$i.log" 2>&1 &
  echo $! >"$DIR/validator-$i.pid"
done
rpc_port=${JJJ_RPC_PORT:-9941}
for i in $(seq 0 $((NODES - 1))); do
  port=$((rpc_port + i))
  for _ in $(seq 1 100); do
    if "$BIN/jjj" --rpc "http://127.0.0.1:$port" status >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  "$BIN/jjj" --rpc "http://127.0.0.1:$port" status >/dev/null || { echo "validator $((i + 1)) did not start; see $DIR/validator-$((i + 1)).log" >&2; exit 1; }
done
first_genesis=$(ls "$DIR"/genesis-*.json | head -1)
echo "devnet running in $DIR ($(grep -ho '"crypto": *"[^"]*"' "$first_genesis" | cut -d'"' -f4))"
if [ -n "$PRESET" ]; then
  echo "  RPC: http://127.0.0.1:$rpc_port … $((rpc_port + 5)) (nodes 1-2 京, 3-4 津, 5-6 冀)"
  echo "  networks: jingjin 京津 (nodes 1-4), jingji 京冀 (1,2,5,6), jinji 津冀 (3-6), jingjinji 京津冀 (1-6)"
else
  echo "  RPC: http://127.0.0.1:$rpc_port … $((rpc_port + 3))   networks: jjj, jj (node 5, following jjj: $((rpc_port + 4)))"
fi
echo "  stop: scripts/devnet.sh --stop $DIR"
