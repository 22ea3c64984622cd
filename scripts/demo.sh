#!/usr/bin/env bash
# The jjj demo: a 4-validator devnet on embedded RocksDB; the three contracts deployed; bills
# issued across regions and paid by residents with `jjj contract call`; a waste manifest
# crossing from Beijing to Hebei; an e-commerce agreement signed and settled, its document
# anchored as evidence (存证) by a court, its e-invoice claimed once (电子发票); a housing
# project's money supervised to each worker (资金监管); a call for projects with sealed bids
# and a scoring committee, its defaulter in the penalty register (竞争激励); a home's
# ownership, electricity and water transferred on one application (一网通办); enterprises
# graded from their stations' readings, a polluter fined and the best rewarded, a cross-region
# alert acknowledged (生态环境联防联控); the alliance at
# work (a refused deploy, a utility registered by vote, the bills contract named and upgraded
# 2 of 3, an incompatible upgrade refused, a fifth validator voted in while bills are paid);
# then the history replayed from genesis and verified by an auditor, followed by the light client,
# a bill payment proven offline and traced key by key; a summary; the network
# stopped. JJJ_CRYPTO=sm2 runs all of it on the 国密 suite (SM2 + SM3).
#
#   scripts/demo.sh           run it, stop the devnet at the end
#   scripts/demo.sh --keep    leave the devnet running (its directory and RPC are printed)
#   scripts/demo.sh --preset jingjinji [--keep]
#                             the region's four networks on six nodes (scripts/demo-jingjinji.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# The region's four networks on six nodes: its own script.
if [ "${1:-}" = "--preset" ] || [ "${2:-}" = "--preset" ]; then
  exec bash "$ROOT/scripts/demo-jingjinji.sh" "$@"
fi
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release
C=${JJJ_CONTRACTS_DIR:-$ROOT/target/contracts}

. "$ROOT/scripts/demo-lib.sh"

say "building (first time: several minutes — wasmtime and RocksDB are large)"
bash scripts/install-deps.sh
bash scripts/build-contracts.sh   # wasm and metadata JSON into $C
bash scripts/build-web.sh         # the pages every node serves: wallet, explorer… (target/web)
cargo build --release -p jjj-node --bins --quiet

DIR=$(mktemp -d /tmp/jjj-demo.XXXXXX)
export JJJ_RPC=http://127.0.0.1:${JJJ_RPC_PORT:-9941}
export JJJ_NETWORK=jjj
cleanup() { if [ "$KEEP" = 0 ]; then bash scripts/devnet.sh --stop "$DIR" >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT

say "starting 4 validators (networks jjj and jj) in $DIR"
bash scripts/devnet.sh --crypto "${JJJ_CRYPTO:-ed25519}" "$DIR"
K=$DIR/keys
jjj() { "$BIN/jjj" "$@"; }
deploy() { jjj contract deploy --key "$K/admin.key" --wasm "$C/$1.wasm" --args "$2" | tail -n1; }

START_MS=$(date +%s%3N)
say "deploying the contracts"
BILLS=$(deploy utility_bills "[]")
WASTE=$(deploy waste_disposal "[500]")
DEALS=$(deploy ecommerce_agreement "[]")
echo "  utility-bills $BILLS"; echo "  waste-disposal $WASTE"; echo "  ecommerce-agreement $DEALS"

say "utility bills: a Beijing water company and a Tianjin grid company bill residents of Hebei and Beijing"
# The contracts have no admin: the alliance's roles say who is a utility. The two companies the
# members registered as utility-provider sign up themselves; a factory posing as a water
# company cannot.
call beijing-water "$BILLS" utility_bills register_provider "[\"$(id beijing-water)\", \"北京自来水集团\", \"Beijing\", [\"Water\"], 5]" >/dev/null
call tianjin-grid "$BILLS" utility_bills register_provider "[\"$(id tianjin-grid)\", \"国网天津电力\", \"Tianjin\", [\"Electricity\"], 10]" >/dev/null
refused beijing-factory "$BILLS" utility_bills register_provider "[\"$(id beijing-factory)\", \"北京自来水(冒名)\", \"Beijing\", [\"Water\"], 5]"
DUE=$(( $(date +%s%3N) + 30 * 86400000 ))
B1=$(call beijing-water "$BILLS" utility_bills issue_bill "[\"$(id hebei-resident)\", \"Water\", 12345, \"2026-10\", $DUE]")
B2=$(call tianjin-grid "$BILLS" utility_bills issue_bill "[\"$(id beijing-resident)\", \"Electricity\", 20000, \"2026-10\", $DUE]")
echo "  bill $B1: Beijing water → Hebei resident, 123.45 yuan;  bill $B2: Tianjin grid → Beijing resident, 200.00 yuan"
refused hebei-resident "$BILLS" utility_bills pay "[$B1]" 12000
call hebei-resident "$BILLS" utility_bills pay "[$B1]" 12345 >/dev/null
PAY_TX=$(cat "$DIR/last-tx")
call beijing-resident "$BILLS" utility_bills pay "[$B2]" 25000 >/dev/null
refused hebei-resident "$BILLS" utility_bills pay "[$B1]" 12345
WATER=$(balance beijing-water); GRID=$(balance tianjin-grid); BJR=$(balance beijing-resident)
[ "$WATER" = 12345 ] && [ "$GRID" = 20000 ] && [ "$BJR" = 480000 ] || { echo "unexpected balances: water $WATER grid $GRID beijing resident $BJR" >&2; exit 1; }
BILLS_OK="2 bills paid across regions (water 123.45 yuan to Beijing from Hebei; power 200.00 yuan to Tianjin, 50.00 yuan overpayment refunded); underpayment and double payment refused"

say "waste disposal: a manifest (联单) from a Beijing factory to a Hebei facility"
call beijing-agency "$WASTE" waste_disposal register_agency "[\"Beijing\", \"$(id beijing-agency)\"]" >/dev/null
call hebei-agency "$WASTE" waste_disposal register_agency "[\"Hebei\", \"$(id hebei-agency)\"]" >/dev/null
call jinghua-transport "$WASTE" waste_disposal register_transporter "[\"$(id jinghua-transport)\", \"京华运输\"]" >/dev/null
call langfang-facility "$WASTE" waste_disposal register_facility "[\"$(id langfang-facility)\", \"廊坊处置中心\", \"Hebei\"]" >/dev/null
M=$(call beijing-factory "$WASTE" waste_disposal create_manifest "[\"Industrial\", 1000, \"Beijing\", \"Hebei\", \"$(id jinghua-transport)\", \"$(id langfang-facility)\", 3000]" 100000)
refused jinghua-transport "$WASTE" waste_disposal confirm_pickup "[$M]"
call hebei-agency "$WASTE" waste_disposal approve "[$M]" >/dev/null
call jinghua-transport "$WASTE" waste_disposal confirm_pickup "[$M]" >/dev/null
call langfang-facility "$WASTE" waste_disposal confirm_receipt "[$M, 1010]" >/dev/null
SPLIT=$(call langfang-facility "$WASTE" waste_disposal confirm_disposal "[$M]")
WASTE_OK="manifest $M: approved by the Hebei agency, picked up, received (1010 kg of 1000), disposed; escrow split $SPLIT fen (transporter, facility); pickup before approval refused"

say "e-commerce agreement: buyer, seller and logistics sign one document"
DOC=0x$(echo -n "合同 2026-001: 采购 1000 件, 两期付款" | b2sum -l 256 | cut -d' ' -f1)
FAKE=0x$(echo -n "合同 2026-001: 采购 1000 件, 一期付款" | b2sum -l 256 | cut -d' ' -f1)
DEADLINE=$(( $(date +%s%3N) + 7 * 86400000 ))
BUYER=$(id tianjin-buyer); SELLER=$(id hebei-seller); LOG=$(id beijing-logistics)
A=$(call tianjin-buyer "$DEALS" ecommerce_agreement propose "[\"$DOC\", [\"$BUYER\", \"$SELLER\", \"$LOG\"], \"$BUYER\", \"$SELLER\", \"$(id arbitrator)\", [{\"description\": \"首批 500 件\", \"amount\": 300000, \"deadline\": $((DEADLINE + 86400000))}, {\"description\": \"次批 500 件\", \"amount\": 200000, \"deadline\": $((DEADLINE + 2 * 86400000))}], $DEADLINE]")
refused hebei-seller "$DEALS" ecommerce_agreement sign "[$A, \"$FAKE\"]"
call tianjin-buyer "$DEALS" ecommerce_agreement sign "[$A, \"$DOC\"]" 500000 >/dev/null
call hebei-seller "$DEALS" ecommerce_agreement sign "[$A, \"$DOC\"]" >/dev/null
call beijing-logistics "$DEALS" ecommerce_agreement sign "[$A, \"$DOC\"]" >/dev/null
call tianjin-buyer "$DEALS" ecommerce_agreement confirm_delivery "[$A, 0]" >/dev/null
call tianjin-buyer "$DEALS" ecommerce_agreement confirm_delivery "[$A, 1]" >/dev/null
SELLER_BAL=$(balance hebei-seller)
[ "$SELLER_BAL" = 500000 ] || { echo "seller has $SELLER_BAL fen, expected 500000" >&2; exit 1; }
DEALS_OK="agreement $A: 3 parties signed document ${DOC:0:18}…, a different version refused, 2 milestones released, seller paid 5000.00 yuan"

say "evidence (存证): the Beijing internet court anchors the agreement's document; the seller hands it to the arbitrator"
# Only the hash goes on chain. A court (role notary) registers it; the same hash again is refused,
# naming the first registration; the chain of custody records each hand-over and note.
EVID=$(deploy evidence "[]")
P=$(jjj proposal new --key "$K/beijing-admin.key" --memo "the official evidence registry" register-name evidence --address "$EVID" | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" >/dev/null
[ "$(jjj registry evidence)" = "$EVID" ] || { echo "the registry does not name $EVID" >&2; exit 1; }
E=$(call beijing-court "$EVID" evidence register "[\"$DOC\", \"买卖合同\", \"$SELLER\"]")
EVID_TX=$(cat "$DIR/last-tx")
refused beijing-court "$EVID" evidence register "[\"$DOC\", \"买卖合同\", \"$BUYER\"]"
refused tianjin-buyer "$EVID" evidence register "[\"$FAKE\", \"买卖合同\", \"$BUYER\"]"
call hebei-seller "$EVID" evidence transfer "[$E, \"$(id arbitrator)\"]" >/dev/null
call beijing-court "$EVID" evidence annotate "[$E, \"已核验: 与三方签署版本一致\", null]" >/dev/null
STEPS=$(query "$EVID" evidence custody "[$E, 0, 10]" | grep -o '"step"' | wc -l)
HOLDER=$(query "$EVID" evidence evidence "[$E]" | grep -o '"owner":"0x[0-9a-f]*"' | cut -d'"' -f4)
[ "$HOLDER" = "$(id arbitrator)" ] && [ "$STEPS" = 3 ] || { echo "evidence $E: holder $HOLDER, $STEPS custody steps" >&2; exit 1; }
EVIDENCE_OK="document ${DOC:0:18}… anchored as evidence #$E (registry name \"evidence\") by the Beijing internet court; a duplicate and a non-notary refused; handed to the arbitrator and annotated ($STEPS custody steps)"

say "e-invoices (电子发票): the Hebei tax bureau authorises the seller, which invoices the Tianjin buyer; the buyer's finance claims it once"
INV=$(deploy e_invoice "[]")
P=$(jjj proposal new --key "$K/beijing-admin.key" --memo "the official e-invoice platform" register-name e-invoice --address "$INV" | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" >/dev/null
refused hebei-seller "$INV" e_invoice issue "[\"$BUYER\", 500000, 57522, \"货物 1000 件\", \"2026-12\"]"
call hebei-tax "$INV" e_invoice authorise_issuer "[\"$SELLER\", \"河北卖家贸易公司\"]" >/dev/null
I1=$(call hebei-seller "$INV" e_invoice issue "[\"$BUYER\", 500000, 57522, \"货物 1000 件 (合同 ${DOC:0:10}…)\", \"2026-12\"]")
call tianjin-finance "$INV" e_invoice claim "[$I1]" >/dev/null
refused tianjin-buyer "$INV" e_invoice claim "[$I1]"
refused beijing-finance "$INV" e_invoice claim "[$I1]"
I2=$(call hebei-seller "$INV" e_invoice issue "[\"$BUYER\", 1000, 115, \"运费\", \"2026-12\"]")
RED=$(call hebei-seller "$INV" e_invoice reverse "[$I2, \"金额开错\"]")
refused tianjin-finance "$INV" e_invoice claim "[$I2]"
CLAIMED=$(query_as tianjin-finance "$INV" e_invoice invoice "[$I1]" | grep -c '"Claimed"' || true)
[ "$CLAIMED" = 1 ] || { echo "invoice $I1 is not claimed" >&2; exit 1; }
# The Hebei resident's paid water bill becomes an invoice to the resident: utility-bills calls
# e-invoice, which takes it only from a source the bureau authorised, by an issuer it authorised.
call hebei-tax "$INV" e_invoice authorise_source "[\"$BILLS\", true]" >/dev/null
call hebei-tax "$INV" e_invoice authorise_issuer "[\"$(id beijing-water)\", \"北京自来水集团\"]" >/dev/null
I3=$(call beijing-water "$BILLS" utility_bills invoice_payment "[$B1, \"$INV\", 1019]")
refused beijing-water "$BILLS" utility_bills invoice_payment "[$B1, \"$INV\", 1019]"
BUYER3=$(query_as hebei-resident "$INV" e_invoice invoice "[$I3]" | grep -o '"buyer":"0x[0-9a-f]*"' | cut -d'"' -f4)
[ "$BUYER3" = "$(id hebei-resident)" ] || { echo "invoice $I3 is not the Hebei resident's: $BUYER3" >&2; exit 1; }
INVOICE_OK="invoice #$I1 (5000.00 yuan, Hebei seller → Tianjin buyer) claimed once by the buyer's finance, a second claim and another organisation's refused (double reimbursement); #$I2 reversed (红冲) by red-letter #$RED; an unauthorised issuer refused; water bill $B1's payment invoiced to the Hebei resident (#$I3) by a utility-bills → e-invoice call, once"

say "fund supervision (资金监管): a Xiong'an housing project pays its worker directly; a large payment needs owner and bureau"
FS=$(deploy fund_supervision "[]")
P=$(jjj proposal new --key "$K/beijing-admin.key" --memo "the official fund supervision" register-name fund-supervision --address "$FS" | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" >/dev/null
BUILDER=$(id hebei-builder); WORKER=$(id hebei-worker)
PRJ=$(call bank "$FS" fund_supervision create_project "[\"雄安安置房 3 号楼\", \"$BUILDER\", \"$(id hebei-housing-bureau)\", 100000]")
call bank "$FS" fund_supervision fund "[$PRJ]" 1000000 >/dev/null
call hebei-builder "$FS" fund_supervision register_payee "[$PRJ, \"$WORKER\", \"Worker\"]" >/dev/null
call hebei-builder "$FS" fund_supervision register_payee "[$PRJ, \"$LOG\", \"Supplier\"]" >/dev/null
W=$(call hebei-builder "$FS" fund_supervision record_work "[$PRJ, \"11 月工资\", 50000]")
S=$(call hebei-builder "$FS" fund_supervision record_work "[$PRJ, \"钢材运输\", 600000]")
refused hebei-builder "$FS" fund_supervision pay "[$PRJ, $W, \"$(id hebei-seller)\", 1000]"
call hebei-builder "$FS" fund_supervision pay "[$PRJ, $W, \"$WORKER\", 30000]" >/dev/null
LOG_BEFORE=$(balance beijing-logistics)
PO=$(call hebei-builder "$FS" fund_supervision pay "[$PRJ, $S, \"$LOG\", 500000]" | sed -n 's/^{"amount":[0-9]*,"approvals":\[\],"id":\([0-9]*\),.*/\1/p')
refused hebei-builder "$FS" fund_supervision approve "[$PO]"
call bank "$FS" fund_supervision approve "[$PO]" >/dev/null
call hebei-housing-bureau "$FS" fund_supervision approve "[$PO]" >/dev/null
WORKER_BAL=$(balance hebei-worker); LOG_GOT=$(( $(balance beijing-logistics) - LOG_BEFORE ))
MOVES=$(query "$FS" fund_supervision trail "[$PRJ, 0, 10]" | grep -o '"Paid"\|"Funded"' | wc -l)
[ "$WORKER_BAL" = 30000 ] && [ "$LOG_GOT" = 500000 ] && [ "$MOVES" = 3 ] || { echo "fund supervision: worker $WORKER_BAL, supplier +$LOG_GOT, $MOVES movements" >&2; exit 1; }
FUND_OK="project $PRJ funded 10000.00 yuan; wages of 300.00 yuan straight to the worker; a 5000.00 yuan payment paid only with the owner's and the housing bureau's approvals; a payee never registered refused; the trail shows all $MOVES movements"

say "calls for projects (竞争激励): sealed bids, a committee of three experts, the best bid funded in milestones"
# A bid is only a hash until the bidding closes (`seal`: computed here, never sent to a node);
# the committee scores the revealed bids; the bidder that never revealed forfeits its deposit and
# enters the penalty register, which the next call (max_penalties 0) reads to refuse it.
TND=$(deploy tender "[]")
P=$(jjj proposal new --key "$K/beijing-admin.key" --memo "the official calls for projects" register-name tender --address "$TND" | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" >/dev/null
EXPERTS="\"$(id expert-beijing)\", \"$(id expert-tianjin)\", \"$(id expert-hebei)\""
BID_END=$(( $(date +%s%3N) + 20000 )); REVEAL_END=$((BID_END + 15000))
CALL=$(call jingjinji-fund "$TND" tender open_call "[{\"title\": \"京津冀区域节能改造\", \"criteria\": [{\"name\": \"技术方案\", \"weight\": 60}, {\"name\": \"报价\", \"weight\": 40}], \"deposit\": 10000, \"bid_deadline\": $BID_END, \"reveal_deadline\": $REVEAL_END, \"evaluators\": [$EXPERTS], \"quorum\": 2, \"max_winners\": 1, \"milestones\": [40, 60], \"max_penalties\": 0}]" 1000000)
PROPOSAL=$(hash_of '节能改造方案 v1')
SALT_B=0x$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'); SALT_E=0x$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
call hebei-builder "$TND" tender bid "[$CALL, \"$(seal "$CALL" "$BUILDER" 800000 "$PROPOSAL" "$SALT_B")\"]" 10000 >/dev/null
call tianjin-energy "$TND" tender bid "[$CALL, \"$(seal "$CALL" "$(id tianjin-energy)" 700000 "$PROPOSAL" "$SALT_E")\"]" 10000 >/dev/null
call beijing-factory "$TND" tender bid "[$CALL, \"$(seal "$CALL" "$(id beijing-factory)" 600000 "$PROPOSAL" "$SALT_B")\"]" 10000 >/dev/null
SEALED=$(query "$TND" tender bids "[$CALL, 0, 10]" | grep -o '"amount":null' | wc -l)
refused hebei-builder "$TND" tender reveal "[$CALL, 800000, \"$PROPOSAL\", \"$SALT_B\"]"
echo "    waiting for the bidding to close…" >&2; wait_until "$BID_END"
refused tianjin-energy "$TND" tender reveal "[$CALL, 650000, \"$PROPOSAL\", \"$SALT_E\"]"
call hebei-builder "$TND" tender reveal "[$CALL, 800000, \"$PROPOSAL\", \"$SALT_B\"]" >/dev/null
call tianjin-energy "$TND" tender reveal "[$CALL, 700000, \"$PROPOSAL\", \"$SALT_E\"]" >/dev/null
echo "    waiting for the reveal to close…" >&2; wait_until "$REVEAL_END"
refused hebei-builder "$TND" tender score "[$CALL, \"$BUILDER\", [100, 100]]"
for ex in expert-beijing expert-hebei; do
  call $ex "$TND" tender score "[$CALL, \"$BUILDER\", [90, 60]]" >/dev/null
  call $ex "$TND" tender score "[$CALL, \"$(id tianjin-energy)\", [80, 70]]" >/dev/null
done
call expert-tianjin "$TND" tender publish "[$CALL]" >/dev/null
FUNDED=$(query "$TND" tender results "[$CALL]" | grep -o '"bidder":"0x[0-9a-f]*","funded":true' | cut -d'"' -f4)
BUILDER_BEFORE=$(balance hebei-builder)
call jingjinji-fund "$TND" tender accept_milestone "[$CALL, \"$BUILDER\"]" >/dev/null
call jingjinji-fund "$TND" tender accept_milestone "[$CALL, \"$BUILDER\"]" >/dev/null
BUILDER_GOT=$(( $(balance hebei-builder) - BUILDER_BEFORE ))
PENALTIES=$(query "$TND" tender penalty_count "[\"$(id beijing-factory)\"]")
[ "$SEALED" = 3 ] && [ "$FUNDED" = "$BUILDER" ] && [ "$BUILDER_GOT" = 810000 ] && [ "$PENALTIES" = 1 ] ||
  { echo "tender: $SEALED sealed, funded $FUNDED, builder +$BUILDER_GOT, factory penalties $PENALTIES" >&2; exit 1; }
TENDER_OK="call #$CALL: 3 sealed bids (no amount visible before the close), an early reveal and a changed amount refused; 2 of 3 experts scored; the Hebei builder funded first (7,800 vs 7,600 points) and paid 8000.00 yuan in 2 milestones with its deposit; the Beijing factory never revealed: deposit forfeited, entered in the penalty register"

say "one-trip services (一网通办): a Beijing home changes hands with its electricity and water accounts in one application"
# A template of three departments: the property registry first, then the power and the water
# companies in parallel; each acts on the same case, and only the departments, the applicant and
# auditors can read it.
WF=$(deploy workflow "[]")
P=$(jjj proposal new --key "$K/beijing-admin.key" --memo "the official workflow engine" register-name workflow --address "$WF" | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" >/dev/null
step() { echo "{\"name\": \"$1\", \"org\": \"beijing\", \"role\": \"$2\", \"after\": $3, \"deadline_hours\": $4, \"documents\": $5}"; }
TPL=$(call beijing-gov-service "$WF" workflow publish_template "[\"房产过户(含水电)\", [$(step 不动产登记 real-estate-registry '[]' 72 '["房产证", "身份证", "购房合同"]'), $(step 电力过户 power-utility '[0]' 48 '["身份证"]'), $(step 水务过户 water-utility '[0]' 48 '["身份证"]')]]")
CASE=$(call beijing-resident "$WF" workflow apply "[$TPL, \"北京市朝阳区幸福路 8 号 3-502\", [[\"房产证\", \"$(hash_of 京房权证朝字第123456号)\"], [\"身份证\", \"$(hash_of 110105199001011234)\"], [\"购房合同\", \"$(hash_of 购房合同-2026-1130)\"]]]")
refused beijing-power "$WF" workflow approve "[$CASE, 1, \"电力户名已变更\"]"
refused tianjin-grid "$WF" workflow approve "[$CASE, 0, \"冒名审批\"]"
call beijing-housing-registry "$WF" workflow approve "[$CASE, 0, \"产权核验无误, 已登记\"]" >/dev/null
INBOX=$(query_as beijing-power "$WF" workflow inbox "[\"beijing\", \"power-utility\", 0, 10]" | grep -o "\"case\":$CASE," | wc -l)
call beijing-water "$WF" workflow approve "[$CASE, 2, \"水务户名已变更\"]" >/dev/null
call beijing-power "$WF" workflow approve "[$CASE, 1, \"电力户名已变更\"]" >/dev/null
read_refused hebei-resident "$WF" workflow case "[$CASE]"
DONE=$(query_as beijing-resident "$WF" workflow case "[$CASE]" | grep -c '"Complete"' || true)
[ "$INBOX" = 1 ] && [ "$DONE" = 1 ] || { echo "workflow case $CASE: in the power inbox $INBOX, complete $DONE" >&2; exit 1; }
WORKFLOW_OK="case #$CASE (property + electricity + water transfer): the resident applied once; the power company refused before the registry and a Tianjin company refused the registry's step; registry, then water and power in parallel approved; complete; another resident cannot read it"

say "eco-compliance (生态环境联防联控): stations report, enterprises graded against their permits, a polluter fined, the best rewarded"
# The three bureaus' agreement: joint-prevention thresholds, the fine per percent over a permit
# limit, the rewards of grades A and B, and the tender's penalty register, which governance lets
# the contract write to (role penalty-recorder, 2 of 3 members).
ECO=$(deploy eco_compliance "[[[\"SO2\", 45000], [\"NOx\", 100000], [\"PM2.5\", 20000]], 1000, 20000, 10000, \"$TND\"]")
P=$(jjj proposal new --key "$K/beijing-admin.key" --memo "the official eco-compliance" register-name eco-compliance --address "$ECO" | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" >/dev/null
jjj account register --key "$K/hebei-admin.key" --account "$ECO" --member hebei >/dev/null
P=$(jjj role grant --key "$K/hebei-admin.key" --account "$ECO" --role penalty-recorder --memo "eco-compliance fines enter the penalty register" | pid)
jjj proposal approve "$P" --key "$K/beijing-admin.key" >/dev/null
PERIOD=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)   # last month: over, so it can be graded
LIMITS='[["SO2", 35000], ["NOx", 50000], ["PM2.5", 10000]]'
STEEL=$(id hebei-steel); CHEM=$(id tianjin-petrochem)
refused hebei-agency "$ECO" eco_compliance register_enterprise "[\"$CHEM\", \"天津石化\", \"$PERIOD\", $LIMITS, [\"$(id tianjin-petrochem-station)\"]]"
call hebei-agency "$ECO" eco_compliance register_enterprise "[\"$STEEL\", \"唐山钢铁\", \"$PERIOD\", $LIMITS, [\"$(id hebei-steel-station)\"]]" >/dev/null
call tianjin-env-bureau "$ECO" eco_compliance register_enterprise "[\"$CHEM\", \"天津石化\", \"$PERIOD\", $LIMITS, [\"$(id tianjin-petrochem-station)\"]]" >/dev/null
call hebei-steel "$ECO" eco_compliance deposit "[\"$STEEL\"]" 200000 >/dev/null
call tianjin-petrochem "$ECO" eco_compliance deposit "[\"$CHEM\"]" 100000 >/dev/null
call jingjinji-fund "$ECO" eco_compliance fund_rewards "[]" 50000 >/dev/null
reading() { call "$1" "$ECO" eco_compliance submit_reading "[\"$2\", $3, \"$PERIOD\", \"$(hash_of "$1 $2 $PERIOD $3")\"]"; }
ALERT=$(reading hebei-steel-station SO2 50000)
reading hebei-steel-station NOx 40000 >/dev/null; reading hebei-steel-station PM2.5 8000 >/dev/null
refused hebei-steel-station "$ECO" eco_compliance submit_reading "[\"SO2\", 30000, \"$PERIOD\", \"$(hash_of corrected)\"]"
for r in "SO2 10000" "NOx 20000" "PM2.5 4000"; do reading tianjin-petrochem-station $r >/dev/null; done
call beijing-agency "$ECO" eco_compliance grade "[\"$STEEL\", \"$PERIOD\"]" >/dev/null
call tianjin-env-bureau "$ECO" eco_compliance grade "[\"$CHEM\", \"$PERIOD\"]" >/dev/null
refused hebei-steel "$ECO" eco_compliance claim_reward "[\"$PERIOD\"]"
REWARD=$(call tianjin-petrochem "$ECO" eco_compliance claim_reward "[\"$PERIOD\"]")
refused hebei-agency "$ECO" eco_compliance acknowledge "[$ALERT]"
call beijing-agency "$ECO" eco_compliance acknowledge "[$ALERT]" >/dev/null
call tianjin-env-bureau "$ECO" eco_compliance acknowledge "[$ALERT]" >/dev/null
STEEL_GRADE=$(query "$ECO" eco_compliance grade_of "[\"$STEEL\", \"$PERIOD\"]")
RECOMPUTED=$(query "$ECO" eco_compliance recompute_grade "[\"$STEEL\", \"$PERIOD\"]")
FINE=$(echo "$STEEL_GRADE" | grep -o '"fine_taken":[0-9]*' | cut -d: -f2)
CLOSED=$(query "$ECO" eco_compliance alert "[$ALERT]" | grep -c '"closed_at":[0-9]' || true)
STEEL_PENALTIES=$(query "$TND" tender penalty_count "[\"$STEEL\"]")
echo "$STEEL_GRADE" | grep -q '"level":"D"' && [ -n "$RECOMPUTED" ] && echo "$STEEL_GRADE" | grep -qF "$RECOMPUTED" &&
  [ "$REWARD" = 20000 ] && [ "$CLOSED" = 1 ] && [ "$STEEL_PENALTIES" = 1 ] ||
  { echo "eco-compliance: steel $STEEL_GRADE, recomputed $RECOMPUTED, reward $REWARD, alert closed $CLOSED, penalties $STEEL_PENALTIES" >&2; exit 1; }
ECO_OK="period $PERIOD: the Hebei steel works graded D (SO2 at 143 % of its permit; the grade recomputed from the readings matches), fined $((FINE / 100)).$(printf '%02d' $((FINE % 100))) yuan from its deposit into the reward fund and entered in the penalty register; the Tianjin petrochemical plant graded A, rewarded 200.00 yuan; the Hebei SO2 alert acknowledged by Beijing and Tianjin (its own bureau refused); a Hebei bureau registering a Tianjin plant, a second reading and a D's reward refused"

say "the alliance (联盟共治): a refused deploy, a utility registered by vote, the official bills contract named and upgraded 2 of 3"
# proposal ID of the "#ID kind [...]" line `jjj` prints for a proposal
# Code upload needs the deployer role: a factory has none.
if out=$(jjj contract deploy --key "$K/beijing-factory.key" --wasm "$C/counter.wasm" --args '[0]' 2>&1); then
  echo "a deploy by an account without the deployer role succeeded" >&2; exit 1
fi
echo "    refused as it should be: $(echo "$out" | grep -m1 -o 'permission denied.*')" >&2
# A new gas company in Hebei: a key nobody registered cannot send anything; Hebei's admin
# registers it, proposes the utility-provider role, and Beijing's admin makes it 2 of 3.
jjj key new --scheme "${JJJ_CRYPTO:-ed25519}" --out "$K/hebei-gas.key" >/dev/null
HG=$(id hebei-gas)
jjj account register --key "$K/hebei-admin.key" --account "$HG" --member hebei --role resident >/dev/null
P=$(jjj role grant --key "$K/hebei-admin.key" --account "$HG" --role utility-provider --memo "河北燃气 (vote)" | pid)
jjj proposal approve "$P" --key "$K/beijing-admin.key" | sed 's/^/    /' >&2
call hebei-gas "$BILLS" utility_bills register_provider "[\"$HG\", \"河北燃气\", \"Hebei\", [\"Gas\", \"Heating\"], 5]" >/dev/null
B3=$(call hebei-gas "$BILLS" utility_bills issue_bill "[\"$(id hebei-resident)\", \"Gas\", 8800, \"2026-11\", $DUE]")
call hebei-resident "$BILLS" utility_bills pay "[$B3]" 8800 >/dev/null
# The official instance gets a name wallets can look up; then new code for it, its storage kept
# (checked against the running code's storage layout when proposed), approved by a second region.
P=$(jjj proposal new --key "$K/beijing-admin.key" --memo "the official bills contract" register-name utility-bills --address "$BILLS" | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" >/dev/null
[ "$(jjj registry utility-bills)" = "$BILLS" ] || { echo "the registry does not name $BILLS" >&2; exit 1; }
cp "$C/utility_bills.wasm" "$DIR/utility_bills_v2.wasm"
printf '\000\005\002v2\001\002' >>"$DIR/utility_bills_v2.wasm"   # a custom section "v2": new code hash, same behaviour
P=$(jjj contract upgrade --key "$K/beijing-admin.key" --uploader "$K/admin.key" --contract "$BILLS" --wasm "$DIR/utility_bills_v2.wasm" --memo "v2" | grep '^#' | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" | sed 's/^/    /' >&2
VERSIONS=$(jjj contract history "$BILLS" | grep -c 0x)
PAID=$(query_as hebei-resident "$BILLS" utility_bills bill "[$B1]" | grep -c '"payment":{' || true)
[ "$VERSIONS" -ge 2 ] && [ "$PAID" = 1 ] || { echo "after the upgrade: $VERSIONS code versions, bill $B1 paid: $PAID" >&2; exit 1; }
# An upgrade that changes what a stored item holds is refused when proposed, before any vote,
# naming the item: a tally (`jjj contract new`) counting in u64, then its code counting in u32.
jjj contract new tally --dir "$DIR/src" --sdk-path "$ROOT/sdk-contracts" >/dev/null
jjj contract build --manifest-path "$DIR/src/tally/Cargo.toml" --out "$DIR/tally-v1" >/dev/null
TALLY=$(jjj contract deploy --key "$K/admin.key" --wasm "$DIR/tally-v1/tally.wasm" --args '[0]' | tail -n1)
sed -i 's/u64/u32/g' "$DIR/src/tally/src/lib.rs"
jjj contract build --manifest-path "$DIR/src/tally/Cargo.toml" --out "$DIR/tally-v2" >/dev/null
if out=$(jjj contract upgrade --key "$K/beijing-admin.key" --uploader "$K/admin.key" --contract "$TALLY" --wasm "$DIR/tally-v2/tally.wasm" --memo "u32" 2>&1); then
  echo "an upgrade changing a stored type was proposed" >&2; exit 1
fi
INCOMPATIBLE=$(echo "$out" | grep -m1 -o 'storage item COUNT.*') || { echo "the refusal does not name the item: $out" >&2; exit 1; }
echo "    refused as it should be: $INCOMPATIBLE" >&2
say "a fifth validator joins jjj by a 2-of-3 vote while bills keep being paid"
height() { jjj block | sed -n 's/.*"height": \([0-9]*\).*/\1/p' | head -n1; }
VALS=(); for n in 1 2 3 4 5; do VALS+=(--validator "$(id validator-$n)"); done
FROM=$(( $(height) + 8 ))
P=$(jjj proposal new --key "$K/beijing-admin.key" --memo "node 5 joins" set-validators "${VALS[@]}" --from-height "$FROM" | pid)
jjj proposal approve "$P" --key "$K/tianjin-admin.key" | sed 's/^/    /' >&2
PAID5=0
# Two rounds of five leaders: node 5 follows by catch-up until the switch, so it may still be
# a block or two behind when its first turn comes.
while [ "$(height)" -lt $((FROM + 11)) ]; do
  B=$(call beijing-water "$BILLS" utility_bills issue_bill "[\"$(id hebei-resident)\", \"Water\", 100, \"2026-12\", $DUE]" 2>/dev/null)
  call hebei-resident "$BILLS" utility_bills pay "[$B]" 100 >/dev/null 2>&1
  PAID5=$((PAID5 + 1))
done
V5=$(id validator-5)
BY5=0
for h in $(seq "$FROM" $((FROM + 10))); do
  if jjj block "$h" | grep -c "\"proposer\": \"$V5\"" >/dev/null; then BY5=$((BY5 + 1)); fi
done
jjj --rpc "http://127.0.0.1:$(( ${JJJ_RPC_PORT:-9941} + 4 ))" status | grep -c '"validator": true' >/dev/null || { echo "node 5 does not say it validates" >&2; exit 1; }
[ "$BY5" -ge 1 ] || { echo "node 5 proposed none of heights $FROM..$((FROM + 10))" >&2; exit 1; }
echo "    validator set 4 → 5 from height $FROM; node 5 proposed $BY5 of heights $FROM..$((FROM + 10)); $PAID5 bills issued and paid meanwhile" >&2
JOIN_OK="node 5 made a validator by a 2-of-3 vote from height $FROM, proposing blocks while $PAID5 bills were issued and paid"
GOV_OK="deploy without the deployer role refused; Hebei gas registered and granted utility-provider by 2 of 3 members, billed and paid; utility-bills named in the registry and upgraded 2 of 3 ($VERSIONS code versions), its bills kept; an upgrade changing a stored type refused before the vote ($INCOMPATIBLE)"
END_MS=$(date +%s%3N)

say "auditor: replay the history of jjj from genesis against validator 3, verifying every certificate and root"
AUDIT=$(jjj --rpc "http://127.0.0.1:$(( ${JJJ_RPC_PORT:-9941} + 2 ))" audit replay --genesis "$DIR/genesis-jjj.json")
echo "$AUDIT"
say "auditor: the light client follows every validator set; the Hebei resident's payment proven offline and traced key by key"
G="$DIR/genesis-jjj.json"
FOLLOW=$(jjj follow --genesis "$G" --sets "$DIR/sets-jjj.json" | tail -n2 | head -n1)
echo "$FOLLOW"
jjj audit receipt "$PAY_TX" --genesis "$G" --sets "$DIR/sets-jjj.json" --out "$DIR/bill-paid.json" >/dev/null
PROVEN=$(jjj audit verify-receipt "$DIR/bill-paid.json" --genesis "$G" --sets "$DIR/sets-jjj.json" | sed -n 1p)
echo "  $PROVEN"
TRACE=$(jjj audit trace "$PAY_TX" --genesis "$G" --sets "$DIR/sets-jjj.json" --key "$K/tianjin-auditor.key" --metadata "$C/utility_bills.json")
echo "$TRACE" | sed 's/^/    /'
WRITES=$(echo "$TRACE" | grep -c 'write ' || true)
echo "$TRACE" | grep -q 'exactly the certified receipt' || { echo "the traced payment differs from its receipt" >&2; exit 1; }
HEADERS=$(echo "$FOLLOW" | grep -o '[0-9]* certified headers'); CHANGES=$(echo "$FOLLOW" | grep -o '[0-9]* validator-set change(s)')
# The court's record, proven offline: the registration event with the document's hash.
jjj audit receipt "$EVID_TX" --genesis "$G" --sets "$DIR/sets-jjj.json" --out "$DIR/evidence-proof.json" >/dev/null
EVIDENCE_PROOF=$(jjj audit verify-receipt "$DIR/evidence-proof.json" --genesis "$G" --sets "$DIR/sets-jjj.json" --metadata "$C/evidence.json")
echo "$EVIDENCE_PROOF" | sed 's/^/  /'
echo "$EVIDENCE_PROOF" | grep -q "\"hash\":\"$DOC\"" || { echo "the evidence proof does not show the document's hash" >&2; exit 1; }
EVIDENCE_OK="$EVIDENCE_OK; its registration proven offline at height $(echo "$EVIDENCE_PROOF" | head -n1 | sed -n 's/.* of block \([0-9]*\) .*/\1/p')"
AUDIT_OK="$(echo "$AUDIT" | head -n1); light client: $HEADERS verified, $CHANGES followed; bill $B1's payment proven offline (bill-paid.json) and traced ($WRITES storage writes, the certified receipt)"

HEALTH=$(jjj status)
HEIGHT=$(jjj block | sed -n 's/.*"height": \([0-9]*\).*/\1/p' | head -n1)
LAT=$(curl -s "http://127.0.0.1:${JJJ_METRICS_PORT:-9611}/metrics" 2>/dev/null | awk '/^jjj_finality_latency_ms_(sum|count)\{network="jjj"\}/ {v[$1 ~ /sum/ ? "s" : "c"] = $2} END { if (v["c"] > 0) printf "%.0f ms mean over %d blocks", v["s"] / v["c"], v["c"]; else print "n/a" }')
say "summary"
SUITE=$(grep -o '"crypto": *"[^"]*"' "$DIR/genesis-jjj.json" | cut -d'"' -f4)
echo "  network jjj ($SUITE): height $HEIGHT, all final under PBFT (3 of 4 signatures per block, then 4 of 5 from height $FROM)"
echo "  finality latency (block timestamp → commit on validator 1): $LAT"
echo "  stories ran in $(( (END_MS - START_MS) / 1000 )) s"
echo "  utility bills:        $BILLS_OK"
echo "  waste disposal:       $WASTE_OK"
echo "  e-commerce agreement: $DEALS_OK"
echo "  evidence (存证):      $EVIDENCE_OK"
echo "  e-invoices (电子发票): $INVOICE_OK"
echo "  fund supervision:     $FUND_OK"
echo "  calls for projects:   $TENDER_OK"
echo "  one-trip services:    $WORKFLOW_OK"
echo "  eco-compliance:       $ECO_OK"
echo "  governance:           $GOV_OK"
echo "  validators:           $JOIN_OK"
echo "  audit:                $AUDIT_OK"
WEB_URL=$JJJ_RPC
curl -sf "$WEB_URL/" | grep -c '京津冀链' >/dev/null || { echo "validator 1 does not serve the web pages at $WEB_URL/" >&2; exit 1; }
echo "  web pages:            wallet $WEB_URL/#/wallet · explorer $WEB_URL/#/explorer (governance, operator, auditor beside them; every node serves them)"
if [ "$KEEP" = 1 ]; then
  echo; echo "devnet left running in $DIR (RPC $JJJ_RPC); stop it with: scripts/devnet.sh --stop $DIR"
  echo "open the wallet at $WEB_URL/#/wallet and import a resident's key, e.g. the content of $K/hebei-resident.key"
fi
