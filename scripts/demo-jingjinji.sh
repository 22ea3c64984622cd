#!/usr/bin/env bash
# The region's four networks on six nodes (`scripts/demo.sh --preset jingjinji` runs this):
# two nodes per region; 京津 (jingjin), 京冀 (jingji), 津冀 (jinji) and 京津冀 (jingjinji), each
# validated by its regions' nodes. Cross-region bills on 京津 and 京冀, a waste manifest on 津冀, an
# agreement and a dataset shared and used on 京津冀; the 京冀 bill read under its read policy, a
# refused read and the access log that records both; a 京冀 transaction refused by a Tianjin node;
# a 津冀 disposal proven on 京津冀 (cross-network receipt); no node sent another network's data;
# each network's history replayed by an auditor.
#
#   scripts/demo.sh --preset jingjinji [--keep]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    --preset | jingjinji) ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release
C=${JJJ_CONTRACTS_DIR:-$ROOT/target/contracts}
RPC_PORT=${JJJ_RPC_PORT:-9941}

. "$ROOT/scripts/demo-lib.sh"

say "building (first time: several minutes — wasmtime and RocksDB are large)"
bash scripts/install-deps.sh
bash scripts/build-contracts.sh
cargo build --release -p jjj-node --bins --quiet

DIR=$(mktemp -d /tmp/jjj-jingjinji.XXXXXX)
cleanup() { if [ "$KEEP" = 0 ]; then bash scripts/devnet.sh --stop "$DIR" >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT

say "starting six nodes (1-2 京, 3-4 津, 5-6 冀) and four networks in $DIR"
bash scripts/devnet.sh --crypto "${JJJ_CRYPTO:-ed25519}" --preset jingjinji "$DIR"
K=$DIR/keys
# node N's RPC (1-based)
node() { echo "http://127.0.0.1:$((RPC_PORT + $1 - 1))"; }
# on NETWORK NODE: the jjj command line for that network through that node
jjj() { "$BIN/jjj" --rpc "$(node "$NODE")" --network "$NET" "$@"; }
deploy() { jjj contract deploy --key "$K/$1.key" --wasm "$C/$2.wasm" --args "$3" | tail -n1; }
DUE=$(( $(date +%s%3N) + 30 * 86400000 ))

say "京冀 (jingji, nodes 1,2,5,6): a Beijing water company bills a Hebei resident, who pays"
NET=jingji NODE=5
BILLS=$(deploy admin utility_bills "[]")
call beijing-water "$BILLS" utility_bills register_provider "[\"$(id beijing-water)\", \"北京自来水集团\", \"Beijing\", [\"Water\"], 5]" >/dev/null
B1=$(call beijing-water "$BILLS" utility_bills issue_bill "[\"$(id hebei-resident)\", \"Water\", 12345, \"2026-11\", $DUE]")
refused hebei-resident "$BILLS" utility_bills pay "[$B1]" 12000
PAY_LOG=$(call hebei-resident "$BILLS" utility_bills pay "[$B1]" 12345 2>&1 >/dev/null)
echo "$PAY_LOG" >&2
PAY_TX=$(echo "$PAY_LOG" | grep -o 'tx 0x[0-9a-f]*' | head -n1 | cut -d' ' -f2)
[ "$(balance beijing-water)" = 12345 ] || { echo "the water company was not paid on jingji" >&2; exit 1; }
# The same transaction through a Tianjin node, which does not serve 京冀: refused by name.
NODE=3
if out=$(call hebei-resident "$BILLS" utility_bills pay "[$B1]" 12345 2>&1); then
  echo "a Tianjin node took a 京冀 transaction" >&2; exit 1
fi
ISOLATED=$(echo "$out" | grep -m1 -o 'does not serve network.*') || { echo "unclear refusal: $out" >&2; exit 1; }
echo "    refused as it should be: node 3 $ISOLATED" >&2
# An auditor proves the payment from one node's proof alone (Merkle branch and certificate).
NODE=6
PROVEN=$(jjj audit receipt "$PAY_TX" --genesis "$DIR/genesis-jingji.json")
echo "    $PROVEN" | head -n1 >&2
BILL_OK="bill $B1 (Beijing water → Hebei resident, 123.45 yuan) paid on 京冀, its receipt proven to an auditor from node 6's proof; underpayment refused; node 3 (津) refused it: $ISOLATED"

say "京冀: data permissions — the bill is read by its resident and provider; a Beijing resident and an unsigned read are refused"
NODE=5
SEEN=$(query_as hebei-resident "$BILLS" utility_bills bill "[$B1]")
echo "    the resident reads its bill: $SEEN" >&2
query_as beijing-water "$BILLS" utility_bills amount_due "[$B1]" >/dev/null
read_refused beijing-resident "$BILLS" utility_bills bill "[$B1]"
read_refused - "$BILLS" utility_bills bill "[$B1]"
# Node 5 logged the four reads; it anchors its log's head on chain within seconds.
for _ in $(seq 1 60); do
  ACCESS=$(jjj audit access --metadata "$C/utility_bills.json") || { echo "$ACCESS" >&2; exit 1; }
  echo "$ACCESS" | grep -q "^anchored on chain" && break
  sleep 0.5
done
echo "$ACCESS" | sed 's/^/    /' >&2
echo "$ACCESS" | grep -q "^anchored on chain" || { echo "node 5 did not anchor its access log" >&2; exit 1; }
echo "$ACCESS" | grep -q "DENIED: read refused" || { echo "the denial is not in the access log" >&2; exit 1; }
READS_OK="bill $B1 read by its resident and provider, refused to a Beijing resident (read policy) and to an unsigned read; node 5's access log: $(echo "$ACCESS" | tail -n1), hash chain intact and anchored on chain"

say "京津 (jingjin, nodes 1-4): a Tianjin power company bills a Beijing resident, who pays"
NET=jingjin NODE=4
BILLS_JJ=$(deploy admin utility_bills "[]")
call tianjin-grid "$BILLS_JJ" utility_bills register_provider "[\"$(id tianjin-grid)\", \"国网天津电力\", \"Tianjin\", [\"Electricity\"], 10]" >/dev/null
B2=$(call tianjin-grid "$BILLS_JJ" utility_bills issue_bill "[\"$(id beijing-resident)\", \"Electricity\", 20000, \"2026-11\", $DUE]")
call beijing-resident "$BILLS_JJ" utility_bills pay "[$B2]" 20000 >/dev/null
[ "$(balance tianjin-grid)" = 20000 ] || { echo "the power company was not paid on jingjin" >&2; exit 1; }
POWER_OK="bill $B2 (Tianjin power → Beijing resident, 200.00 yuan) paid on 京津"

say "津冀 (jinji, nodes 3-6): a manifest (联单) from a Tianjin plant to a Hebei facility"
NET=jinji NODE=3
WASTE=$(deploy tianjin-admin waste_disposal "[500]")
call tianjin-agency "$WASTE" waste_disposal register_agency "[\"Tianjin\", \"$(id tianjin-agency)\"]" >/dev/null
call hebei-agency "$WASTE" waste_disposal register_agency "[\"Hebei\", \"$(id hebei-agency)\"]" >/dev/null
call hebei-transport "$WASTE" waste_disposal register_transporter "[\"$(id hebei-transport)\", \"冀运危废运输\"]" >/dev/null
call langfang-facility "$WASTE" waste_disposal register_facility "[\"$(id langfang-facility)\", \"廊坊处置中心\", \"Hebei\"]" >/dev/null
M=$(call tianjin-chem "$WASTE" waste_disposal create_manifest "[\"Industrial\", 800, \"Tianjin\", \"Hebei\", \"$(id hebei-transport)\", \"$(id langfang-facility)\", 3000]" 80000)
refused hebei-transport "$WASTE" waste_disposal confirm_pickup "[$M]"
call hebei-agency "$WASTE" waste_disposal approve "[$M]" >/dev/null
call hebei-transport "$WASTE" waste_disposal confirm_pickup "[$M]" >/dev/null
call langfang-facility "$WASTE" waste_disposal confirm_receipt "[$M, 805]" >/dev/null
DISPOSAL_LOG=$(call langfang-facility "$WASTE" waste_disposal confirm_disposal "[$M]" 2>&1 >/dev/null)
echo "$DISPOSAL_LOG" >&2
SPLIT=$(echo "$DISPOSAL_LOG" | sed -n 's/^ *output: //p')
DISPOSAL_TX=$(echo "$DISPOSAL_LOG" | grep -o 'tx 0x[0-9a-f]*' | head -n1 | cut -d' ' -f2)
WASTE_OK="manifest $M (Tianjin → Hebei, 800 kg): approved by the Hebei agency, picked up, received, disposed; escrow split $SPLIT fen"

say "京津冀 (jingjinji, all six): an agreement across the three regions"
NET=jingjinji NODE=1
DEALS=$(deploy admin ecommerce_agreement "[]")
DOC=0x$(echo -n "合同 2026-002: 京津冀三方采购" | b2sum -l 256 | cut -d' ' -f1)
DEADLINE=$(( $(date +%s%3N) + 7 * 86400000 ))
BUYER=$(id tianjin-buyer); SELLER=$(id hebei-seller); LOG=$(id beijing-logistics)
A=$(call tianjin-buyer "$DEALS" ecommerce_agreement propose "[\"$DOC\", [\"$BUYER\", \"$SELLER\", \"$LOG\"], \"$BUYER\", \"$SELLER\", \"$(id arbitrator)\", [{\"description\": \"全部 1000 件\", \"amount\": 500000, \"deadline\": $((DEADLINE + 86400000))}], $DEADLINE]")
call tianjin-buyer "$DEALS" ecommerce_agreement sign "[$A, \"$DOC\"]" 500000 >/dev/null
call hebei-seller "$DEALS" ecommerce_agreement sign "[$A, \"$DOC\"]" >/dev/null
call beijing-logistics "$DEALS" ecommerce_agreement sign "[$A, \"$DOC\"]" >/dev/null
call tianjin-buyer "$DEALS" ecommerce_agreement confirm_delivery "[$A, 0]" >/dev/null
[ "$(balance hebei-seller)" = 500000 ] || { echo "the seller was not paid on jingjinji" >&2; exit 1; }
DEALS_OK="agreement $A: Tianjin buyer, Hebei seller, Beijing logistics signed one document; seller paid 5000.00 yuan"

say "京津冀: the data-sharing platform — a Beijing agency's dataset requested, granted and used by Hebei's"
SHARE=$(deploy admin data_sharing "[]")
jjj transfer --key "$K/bank.key" --to "$(id hebei-agency)" --amount 100000 >/dev/null   # the agency's budget
DATA=0x$(echo -n "北京市 2026 年 11 月 PM2.5 小时数据" | b2sum -l 256 | cut -d' ' -f1)
D=$(call beijing-agency "$SHARE" data_sharing publish "[\"北京市 PM2.5 小时数据 2026-11\", \"station,time,pm25 (CSV)\", \"$DATA\", \"https://data.beijing.example/pm25/2026-11\", 1000]")
refused hebei-agency "$SHARE" data_sharing request_access "[$D, \"京冀传输通道分析\"]" 999
R=$(call hebei-agency "$SHARE" data_sharing request_access "[$D, \"京冀传输通道分析\"]" 1000)
call beijing-agency "$SHARE" data_sharing grant "[$R, 2, $DUE]" >/dev/null
call hebei-agency "$SHARE" data_sharing record_use "[$R, \"11 月传输报告\"]" >/dev/null
MAY=$(query "$SHARE" data_sharing may_use "[$R]")
VERIFIED=$(query "$SHARE" data_sharing verify_content "[$D, \"$DATA\"]")
[ "$MAY" = true ] && [ "$VERIFIED" = true ] || { echo "may_use $MAY, verify_content $VERIFIED" >&2; exit 1; }
SHARE_OK="dataset $D published by the Beijing agency (content hash verified), request $R by Hebei's for 10.00 yuan granted 2 uses, 1 recorded in the log; a short fee refused"

say "京津冀: the 津冀 disposal proven to the region's environmental ledger (环境台账), verified on chain"
NET=jingjinji NODE=2
# 京津冀's members trust 津冀's validators (a 2-of-3 decision): its light-client record.
P=$(jjj proposal new --key "$K/beijing-admin.key" --memo "trust 津冀's validators" trust-network --genesis "$DIR/genesis-jinji.json" | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" | sed 's/^/    /' >&2
LEDGER=$(deploy admin environment_ledger "[]")
call hebei-agency "$LEDGER" environment_ledger register_source "[\"jinji\", \"$WASTE\"]" >/dev/null
# The facility fetches the proof of its confirm_disposal from a 津冀 node…
NET=jinji NODE=4
PROOF=$(jjj audit receipt "$DISPOSAL_TX" --genesis "$DIR/genesis-jinji.json" --scale | tail -n1)
# …and hands it to the ledger on 京津冀, whose chain checks the certificate against its record.
NET=jingjinji NODE=2
BAD=${PROOF:0:120}$([ "${PROOF:120:1}" = 0 ] && echo 1 || echo 0)${PROOF:121}   # one digit of the header changed
refused langfang-facility "$LEDGER" environment_ledger record_disposal "[\"$BAD\"]"
RECORDED=$(call langfang-facility "$LEDGER" environment_ledger record_disposal "[\"$PROOF\"]")
echo "$RECORDED" | grep -q "\"manifest_id\":$M" || { echo "the ledger recorded $RECORDED" >&2; exit 1; }
refused langfang-facility "$LEDGER" environment_ledger record_disposal "[\"$PROOF\"]"
PROVEN_OK="manifest $M's disposal on 津冀 (tx ${DISPOSAL_TX:0:12}…) recorded on 京津冀's environmental ledger from its proof, checked on chain against 津冀's validators; a forged header and a second recording refused"

say "isolation: no node was sent a network it does not serve"
LEAKS=0
for n in 1 2 3 4 5 6; do
  L=$("$BIN/jjj" --rpc "$(node "$n")" status | sed -n 's/.*"unserved_network_messages": \([0-9]*\).*/\1/p')
  LEAKS=$((LEAKS + ${L:-0}))
done
[ "$LEAKS" = 0 ] || { echo "$LEAKS messages reached nodes outside their network" >&2; exit 1; }
echo "    0 messages of a network reached a node outside it, on all six nodes" >&2

say "auditor: each network's history replayed from genesis through a node of it"
AUDITS=()
for pair in jingjin:3 jingji:6 jinji:4 jingjinji:2; do
  NET=${pair%%:*}; NODE=${pair##*:}
  AUDIT=$(jjj audit replay --genesis "$DIR/genesis-$NET.json")
  AUDIT=${AUDIT%%$'\n'*}
  echo "    $NET: $AUDIT" >&2
  AUDITS+=("$NET: $AUDIT")
done

say "summary"
echo "  京津 jingjin:     $POWER_OK"
echo "  京冀 jingji:      $BILL_OK"
echo "  京冀 jingji:      $READS_OK"
echo "  津冀 jinji:       $WASTE_OK"
echo "  京津冀 jingjinji: $DEALS_OK"
echo "  京津冀 jingjinji: $SHARE_OK"
echo "  津冀 → 京津冀:    $PROVEN_OK"
echo "  isolation:        no node received a network it does not serve"
for a in "${AUDITS[@]}"; do echo "  audit             $a"; done
if [ "$KEEP" = 1 ]; then
  echo; echo "devnet left running in $DIR; stop it with: scripts/devnet.sh --stop $DIR"
fi
