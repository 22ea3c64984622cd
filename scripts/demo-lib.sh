# Helpers of the demo scripts (sourced, not run). The sourcing script defines `jjj` (the CLI with
# the --rpc/--network it wants), BIN (the binaries), K (the devnet's keys) and C (the contracts'
# wasm and metadata).
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# id NAME: the account id of the devnet key NAME
id() { "$BIN/jjj" key show "$K/$1.key"; }
# call KEY CONTRACT METADATA MESSAGE ARGS [VALUE]: prints the receipt; returns the decoded output on stdout's last line
# (the transaction's hash goes to $DIR/last-tx)
call() {
  local out
  out=$(jjj contract call --key "$K/$1.key" --contract "$2" --metadata "$C/$3.json" --message "$4" --args "$5" --value "${6:-0}" 2>&1) || { echo "$out" >&2; return 1; }
  echo "$out" | sed 's/^/    /' >&2
  echo "$out" | sed -n 's/.*(tx \(0x[0-9a-f]*\)).*/\1/p' | head -n1 >"$DIR/last-tx"
  echo "$out" | sed -n 's/^output: //p'
}
# refused KEY CONTRACT METADATA MESSAGE ARGS [VALUE]: the call must fail; prints its reason
refused() {
  local out
  if out=$(jjj contract call --key "$K/$1.key" --contract "$2" --metadata "$C/$3.json" --message "$4" --args "$5" --value "${6:-0}" 2>&1); then
    echo "expected $4 to be refused, it succeeded" >&2; return 1
  fi
  echo "    refused as it should be: $(echo "$out" | grep -E '^(reason|error):' | head -n1)" >&2
}
# query CONTRACT METADATA MESSAGE ARGS: the decoded output (unsigned: public data only)
query() { jjj contract query --contract "$1" --metadata "$C/$2.json" --message "$3" --args "$4" | sed -n 's/^output: //p'; }
# query_as KEY CONTRACT METADATA MESSAGE ARGS: a signed read by KEY's account (protected data
# under the contract's read policy); the decoded output
query_as() { jjj contract query --key "$K/$1.key" --contract "$2" --metadata "$C/$3.json" --message "$4" --args "$5" | sed -n 's/^output: //p'; }
# read_refused KEY|- CONTRACT METADATA MESSAGE ARGS: a read (signed by KEY, or unsigned for -) that
# must be refused; prints why
read_refused() {
  local out sign=()
  [ "$1" = - ] || sign=(--key "$K/$1.key")
  if out=$(jjj contract query "${sign[@]}" --contract "$2" --metadata "$C/$3.json" --message "$4" --args "$5" 2>&1); then
    echo "expected the read of $4 by $1 to be refused, it was answered" >&2; return 1
  fi
  echo "    refused as it should be ($1): $(echo "$out" | grep -E '^(reason|error):' | head -n1)" >&2
}
# pid: the id of the proposal a `jjj proposal new`/`role grant`… printed (its first line, "#ID …")
pid() { head -n1 | cut -d' ' -f1 | tr -d '#'; }
# balance NAME: the fen of the devnet account NAME
balance() { jjj account "$(id "$1")" | sed -n 's/.*"balance": \([0-9]*\).*/\1/p'; }
# hash_of TEXT: blake2b-256 of TEXT, 0x-hex (a document's hash)
hash_of() { echo "0x$(printf '%s' "$1" | b2sum -l 256 | cut -d' ' -f1)"; }
# le64 N: N as the 8 little-endian bytes of a SCALE u64, in hex
le64() { local i out=""; for i in 0 1 2 3 4 5 6 7; do out+=$(printf '%02x' $((($1 >> (8 * i)) & 255))); done; echo "$out"; }
# seal CALL BIDDER AMOUNT PROPOSAL SALT: a tender bid's commitment, computed here and never sent
# to a node: blake2b-256 of the SCALE encoding of (call: u64, bidder, amount: u64, proposal, salt)
seal() {
  local hex
  hex="$(le64 "$1")${2#0x}$(le64 "$3")${4#0x}${5#0x}"
  printf '%b' "$(echo "$hex" | sed 's/../\\x&/g')" | b2sum -l 256 | cut -d' ' -f1 | sed 's/^/0x/'
}
# wait_until MS: sleeps until the wall clock (and so the next block's time) passes MS
wait_until() {
  local left=$(($1 - $(date +%s%3N) + 500))
  [ "$left" -le 0 ] || sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
}
