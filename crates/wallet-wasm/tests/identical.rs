//! The built wasm module, driven as the page drives it (`jjj_alloc`, write the request,
//! `jjj_call`, read the response, `jjj_free` both), signs byte for byte what the CLI signs
//! natively, checks commit certificates as the light client does, and answers malformed
//! requests with errors, never a trap.
//!
//! Needs the module (`cargo build --release --target wasm32-unknown-unknown -p jjj-wallet-wasm`)
//! and the utility-bills metadata (`jjj contract build utility-bills`).
use jjj_consensus::{CommitCertificate, Vote, VoteKind};
use jjj_crypto::{Keypair, Scheme, Suite};
use jjj_executive::Runtime;
use jjj_light::SetHistory;
use jjj_primitives::{AccountId, Block, Call, Hash, Header, NetworkId, SignedTransaction, Transaction};
use parity_scale_codec::Encode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;
use wasmtime::{Engine, Instance, Memory, Module, Store, TypedFunc};

const BUILD: &str = "cargo build --release --target wasm32-unknown-unknown -p jjj-wallet-wasm";
const NET: &str = "jjj";

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `$JJJ_WALLET_WASM`, or where [`BUILD`] puts the module: under `$CARGO_TARGET_DIR`, or the
/// workspace's `target`.
fn wasm_path() -> PathBuf {
    if let Some(path) = std::env::var_os("JJJ_WALLET_WASM") {
        return PathBuf::from(path);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"));
    target.join("wasm32-unknown-unknown/release/jjj_wallet_wasm.wasm")
}

/// The utility-bills metadata `jjj contract build` writes (`$JJJ_CONTRACTS_DIR`, or the
/// workspace's `target/contracts`, as `jjj_testkit::contracts_dir`).
fn metadata_text() -> String {
    let dir = std::env::var_os("JJJ_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/contracts"));
    let path = dir.join("utility_bills.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; build it with `cargo build --release -p jjj-cli && $CARGO_TARGET_DIR/release/jjj \
             contract build --manifest-path {}/Cargo.toml utility-bills`",
            path.display(),
            workspace_root().display()
        )
    })
}

fn compiled() -> &'static (Engine, Module) {
    static MODULE: OnceLock<(Engine, Module)> = OnceLock::new();
    MODULE.get_or_init(|| {
        let path = wasm_path();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the wallet module {}: {e}; build it first with `{BUILD}` (same CARGO_TARGET_DIR)",
                path.display()
            )
        });
        let engine = Engine::default();
        let module = Module::from_binary(&engine, &bytes).expect("the wallet module compiles");
        assert_eq!(module.imports().len(), 0, "the page gives the module no imports");
        (engine, module)
    })
}

/// One instance of the module, called exactly as the page's JavaScript calls it.
struct Wallet {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<(u32, u32), ()>,
    call: TypedFunc<(u32, u32), u64>,
}

impl Wallet {
    fn new() -> Wallet {
        let (engine, module) = compiled();
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, module, &[]).expect("instantiate");
        let memory = instance.get_memory(&mut store, "memory").expect("exports memory");
        let alloc = instance.get_typed_func(&mut store, "jjj_alloc").expect("jjj_alloc");
        let free = instance.get_typed_func(&mut store, "jjj_free").expect("jjj_free");
        let call = instance.get_typed_func(&mut store, "jjj_call").expect("jjj_call");
        Wallet { store, memory, alloc, free, call }
    }

    /// Request bytes in, response text out; a trap fails the test.
    fn call_bytes(&mut self, request: &[u8]) -> String {
        let len = u32::try_from(request.len()).expect("small request");
        let ptr = self.alloc.call(&mut self.store, len).expect("jjj_alloc does not trap");
        assert_ne!(ptr, 0, "jjj_alloc({len}) failed");
        self.memory.write(&mut self.store, ptr as usize, request).expect("write the request");
        let out = self.call.call(&mut self.store, (ptr, len)).expect("jjj_call does not trap");
        self.free.call(&mut self.store, (ptr, len)).expect("jjj_free does not trap");
        self.take_response(out)
    }

    fn take_response(&mut self, out: u64) -> String {
        let (out_ptr, out_len) = ((out >> 32) as u32, out as u32);
        assert_ne!(out_ptr, 0, "no response");
        let mut buf = vec![0u8; out_len as usize];
        self.memory.read(&self.store, out_ptr as usize, &mut buf).expect("read the response");
        self.free.call(&mut self.store, (out_ptr, out_len)).expect("jjj_free does not trap");
        String::from_utf8(buf).expect("the response is UTF-8")
    }

    /// The whole response, `{"ok": …}` or `{"error": …}`.
    fn response(&mut self, request: &Value) -> Value {
        let text = self.call_bytes(request.to_string().as_bytes());
        serde_json::from_str(&text).expect("the response is JSON")
    }

    fn ok(&mut self, request: &Value) -> Value {
        let r = self.response(request);
        match r.get("ok") {
            Some(v) => v.clone(),
            None => panic!("{request} failed: {r}"),
        }
    }

    fn error_bytes(&mut self, request: &[u8]) -> String {
        let text = self.call_bytes(request);
        error_of(&text)
    }

    fn error(&mut self, request: &Value) -> String {
        self.error_bytes(request.to_string().as_bytes())
    }

    fn pages(&self) -> u64 {
        self.memory.size(&self.store)
    }
}

fn error_of(text: &str) -> String {
    let v: Value = serde_json::from_str(text).expect("the response is JSON");
    match (v.get("error"), v.as_object().map(|o| o.len())) {
        (Some(Value::String(e)), Some(1)) => e.clone(),
        _ => panic!("expected {{\"error\": …}}, got {text}"),
    }
}

fn hex0x(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// A key as the CLI holds it: written by `save_key` (what `jjj key new` does), read back by
/// `load_key` (what every `--key` does); and the file's text, which the page is given.
fn cli_key(scheme: Scheme, name: &str) -> (Keypair, String) {
    let dir = std::env::temp_dir().join(format!("jjj-wallet-wasm-{}-{scheme}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("resident.key");
    jjj_config::save_key(&path, &Keypair::named(scheme, name)).expect("save_key");
    let key = jjj_config::load_key(&path).expect("load_key");
    let text = std::fs::read_to_string(&path).expect("key file");
    let _ = std::fs::remove_dir_all(&dir);
    (key, text)
}

/// The hash the node answers `tx_submit` with: `Chain::submit` takes it from
/// `Runtime::verify_many` under the network's suite.
fn node_tx_hash(scheme: Scheme, stx: &SignedTransaction) -> Hash {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| Runtime::new().expect("runtime")).with_suite(scheme.suite());
    runtime.verify_many(std::slice::from_ref(stx))[0]
}

const CONTRACT: AccountId = AccountId([0x5c; 32]);

#[test]
fn contract_calls_and_transfers_sign_byte_identically_with_the_cli() {
    let meta_text = metadata_text();
    let meta = jjj_transcode::LoadedMetadata::from_json(&meta_text).expect("metadata");
    let meta_object: Value = serde_json::from_str(&meta_text).expect("metadata JSON");
    let mut wallet = Wallet::new();
    for scheme in Scheme::ALL {
        let (key, text) = cli_key(scheme, "resident-7");
        let from_text = wallet.ok(&json!({"op": "key_from_text", "text": text}));
        assert_eq!(from_text["scheme"], scheme.name());
        assert_eq!(from_text["account"], key.account().to_string());
        assert_eq!(from_text["seed"], hex0x(key.seed()));
        let from_seed = wallet.ok(&json!({"op": "key_from_seed", "scheme": scheme.name(), "seed": hex0x(key.seed())}));
        assert_eq!(from_seed["account"], key.account().to_string());
        assert_eq!(format!("{}\n", str_of(&from_seed["text"])), text, "the backup text is the key file's");

        let calls = [
            ("pay", json!([7])),
            ("pay", json!({"bill_id": "18446744073709551615"})),
            (
                "issue_bill",
                json!({"resident": key.account().to_string(), "kind": "Electricity", "amount": 12_345,
                       "period": "2025-06 电费", "due": 1_750_000_000_000u64}),
            ),
        ];
        for (nonce, (message, args)) in calls.into_iter().enumerate() {
            // The CLI: `jjj contract call` → encode_args → submit_and_wait → submit_as.
            let input = jjj_transcode::encode_call(&meta, message, &args).expect("encode");
            let (nonce, gas_limit, value) = (nonce as u64 + 3, 1_234_567u64, 0u64);
            let call = Call::Call { contract: CONTRACT, input: input.clone(), value };
            let tx = Transaction {
                network: NetworkId::new(NET).expect("net"),
                sender: key.account(),
                nonce,
                gas_limit,
                call,
            };
            let stx = key.sign_tx(tx);

            // The page, with the metadata as text one time and as an object the next.
            let metadata = if nonce % 2 == 0 { json!(meta_text) } else { meta_object.clone() };
            let encoded =
                wallet.ok(&json!({"op": "encode_call", "metadata": metadata, "message": message, "args": args}));
            assert_eq!(encoded["input"], hex0x(&input), "encode_call of {message} {args}");
            let signed = wallet.ok(&json!({
                "op": "sign_call", "text": text, "network": NET, "nonce": nonce, "gas_limit": gas_limit.to_string(),
                "contract": CONTRACT.to_string(), "input": encoded["input"], "value": value,
            }));
            assert_eq!(
                signed["tx"],
                hex0x(stx.encode()),
                "{scheme} {message}: the module's bytes differ from the CLI's (a stale module? rebuild with `{BUILD}`)"
            );
            assert_eq!(signed["hash"], node_tx_hash(scheme, &stx).to_string(), "{scheme}: the node's hash");

            // What an explorer makes of it.
            let decoded = wallet.ok(&json!({"op": "decode_tx", "tx": signed["tx"], "metadata": meta_text}));
            assert_eq!(decoded["hash"], signed["hash"]);
            assert_eq!(decoded["suite"], scheme.suite().name());
            assert_eq!(decoded["verified"], true);
            assert_eq!(
                (&decoded["sender"], &decoded["nonce"], &decoded["network"]),
                (&json!(key.account().to_string()), &json!(nonce), &json!(NET))
            );
            assert_eq!(decoded["call"]["kind"], "call");
            assert_eq!(decoded["call"]["contract"], CONTRACT.to_string());
            assert_eq!(decoded["call"]["decoded"]["message"], message);
        }

        // A transfer, and a call as an account whose key was rotated to this one.
        let to = AccountId([0x42; 32]);
        let sender = AccountId([0x17; 32]);
        let transfer = key.sign_tx(Transaction {
            network: NetworkId::new(NET).expect("net"),
            sender: key.account(),
            nonce: 0,
            gas_limit: 50_000,
            call: Call::Transfer { to, amount: 9_007_199_254_740_993 },
        });
        let signed = wallet
            .ok(&json!({"op": "sign_transfer", "text": text, "network": NET, "nonce": 0, "gas_limit": 50_000,
                                       "to": to.to_string(), "amount": "9007199254740993"}));
        assert_eq!(signed["tx"], hex0x(transfer.encode()));
        assert_eq!(signed["hash"], node_tx_hash(scheme, &transfer).to_string());
        let decoded = wallet.ok(&json!({"op": "decode_tx", "tx": signed["tx"]}));
        assert_eq!(decoded["call"], json!({"kind": "transfer", "to": to.to_string(), "amount": "9007199254740993"}));

        let rotated = key.sign_tx(Transaction {
            network: NetworkId::new(NET).expect("net"),
            sender,
            nonce: 1,
            gas_limit: 9,
            call: Call::Call { contract: CONTRACT, input: vec![1, 2, 3], value: 5 },
        });
        let signed = wallet.ok(&json!({"op": "sign_call", "text": text, "network": NET, "nonce": 1, "gas_limit": 9,
                                       "contract": CONTRACT.to_string(), "input": "0x010203", "value": 5, "sender": sender.to_string()}));
        assert_eq!(signed["tx"], hex0x(rotated.encode()));

        // A raw block of these, as `chain_getBlock` with `raw: true` gives it.
        let block = Block {
            header: Header {
                network: NetworkId::new(NET).expect("net"),
                height: 12,
                parent_hash: Hash([1; 32]),
                timestamp: 1_750_000_000_000,
                proposer: AccountId([2; 32]),
                tx_root: Hash([3; 32]),
                receipts_root: Hash([4; 32]),
                state_root: Hash([5; 32]),
            },
            transactions: vec![transfer.clone(), rotated.clone()],
        };
        let decoded = wallet.ok(&json!({"op": "decode_block", "block": hex0x(block.encode())}));
        assert_eq!(decoded["hash"], block.header.hash(scheme.suite().hash_algo()).to_string());
        assert_eq!(decoded["height"], 12);
        let hashes: Vec<&Value> = decoded["transactions"].as_array().expect("txs").iter().map(|t| &t["hash"]).collect();
        assert_eq!(
            hashes,
            [&json!(node_tx_hash(scheme, &transfer).to_string()), &json!(node_tx_hash(scheme, &rotated).to_string())]
        );
        assert_eq!(decoded["transactions"][1]["sender"], sender.to_string());
    }
}

#[test]
fn signed_reads_are_byte_identical_with_the_cli() {
    let meta_text = metadata_text();
    let meta = jjj_transcode::LoadedMetadata::from_json(&meta_text).expect("metadata");
    let mut wallet = Wallet::new();
    for scheme in Scheme::ALL {
        let (key, text) = cli_key(scheme, "reader");
        // `jjj contract query --key … --message bills_of`.
        let args = json!([key.account().to_string()]);
        let input = jjj_transcode::encode_call(&meta, "bills_of", &args).expect("encode");
        let (at, nonce) = (1_750_000_123_456u64, 0xdead_beef_f00d_u64);
        let read = key.sign_read(NetworkId::new(NET).expect("net"), CONTRACT, &input, at, nonce);
        let signed = wallet
            .ok(&json!({"op": "sign_read", "text": text, "network": NET, "contract": CONTRACT.to_string(),
                                       "input": hex0x(&input), "issued_at_ms": at, "nonce": nonce.to_string()}));
        assert_eq!(signed["read"], hex0x(read.encode()), "{scheme}");
        // The events read signs the fixed events input.
        let events =
            key.sign_read(NetworkId::new(NET).expect("net"), CONTRACT, jjj_primitives::access::EVENTS_INPUT, at, 1);
        let signed = wallet.ok(&json!({"op": "sign_read", "text": text, "network": NET, "contract": CONTRACT.to_string(),
                                       "input": hex0x(jjj_primitives::access::EVENTS_INPUT), "issued_at_ms": at, "nonce": 1}));
        assert_eq!(signed["read"], hex0x(events.encode()));
    }
}

#[test]
fn outputs_events_and_inputs_decode_as_the_cli_decodes_them() {
    let meta_text = metadata_text();
    let meta = jjj_transcode::LoadedMetadata::from_json(&meta_text).expect("metadata");
    let mut wallet = Wallet::new();
    let output = 1_234u64.encode();
    let native = jjj_transcode::decode_output(&meta, "amount_due", &output).expect("decode");
    let decoded = wallet
        .ok(&json!({"op": "decode_output", "metadata": meta_text, "message": "amount_due", "output": hex0x(&output)}));
    assert_eq!((&decoded, &native), (&json!(1234), &json!(1234)));

    // UtilityEvent::BillPaid { bill_id, provider, payer, amount, late_fee }.
    let data = (1u8, 7u64, [1u8; 32], [2u8; 32], 1_500u64, 25u64).encode();
    let native = jjj_transcode::decode_event(&meta, &data).expect("decode");
    let decoded = wallet.ok(&json!({"op": "decode_event", "metadata": meta_text, "data": hex0x(&data)}));
    assert_eq!(decoded, native);
    assert_eq!(decoded["BillPaid"]["late_fee"], 25);

    let input =
        jjj_transcode::encode_call(&meta, "invoice_payment", &json!([3, hex0x([9u8; 32]), 60])).expect("encode");
    let decoded = wallet.ok(&json!({"op": "decode_call", "metadata": meta_text, "input": hex0x(&input)}));
    assert_eq!(
        decoded,
        json!({"message": "invoice_payment", "args": {"bill_id": 3, "e_invoice": hex0x([9u8; 32]), "tax": 60}})
    );
}

#[test]
fn malformed_requests_are_errors_never_traps() {
    let meta_text = metadata_text();
    let mut wallet = Wallet::new();
    let (_, text) = cli_key(Scheme::Sm2, "malformed");
    let sign = |extra: Value| {
        let mut r = json!({"op": "sign_call", "text": text, "network": NET, "nonce": 1, "gas_limit": 100,
                           "contract": CONTRACT.to_string(), "input": "0x00"});
        for (k, v) in extra.as_object().expect("object") {
            r[k] = v.clone();
        }
        r
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "not JSON"),
        (vec![0xff, 0xfe, b'{'], "not UTF-8"),
        (b"".to_vec(), "not JSON"),
        ([b'['; 10_000].to_vec(), "not JSON"),
        (b"[1, 2]".to_vec(), "must be a JSON object"),
        (br#"{"text": "00"}"#.to_vec(), "no `op`"),
        (br#"{"op": 5}"#.to_vec(), "`op` must be a string"),
        (br#"{"op": "steal_keys"}"#.to_vec(), "unknown op \"steal_keys\""),
        (br#"{"op": "version", "verbose": true}"#.to_vec(), "takes no field `verbose`"),
        (br#"{"op": "key_from_text", "text": "xyz"}"#.to_vec(), "not hex"),
        (br#"{"op": "key_from_text", "text": "sm2:0011"}"#.to_vec(), "not a 32-byte seed"),
        (br#"{"op": "key_from_text", "text": 42}"#.to_vec(), "`text` must be a string"),
        (br#"{"op": "key_from_text"}"#.to_vec(), "`text` is missing"),
        (br#"{"op": "key_from_seed", "scheme": "rsa", "seed": "00"}"#.to_vec(), "unknown signature scheme"),
        (br#"{"op": "key_from_seed", "scheme": "sm2", "seed": "0x00"}"#.to_vec(), "`seed` must be 32 bytes"),
        (sign(json!({"nonce": "abc"})).to_string().into_bytes(), "`nonce` must be a whole number"),
        (sign(json!({"nonce": -1})).to_string().into_bytes(), "`nonce` must be a whole number"),
        (sign(json!({"gas_limit": 1.5})).to_string().into_bytes(), "`gas_limit` must be a whole number"),
        (sign(json!({"value": "18446744073709551616"})).to_string().into_bytes(), "`value` must be a whole number"),
        (sign(json!({"contract": "0x1234"})).to_string().into_bytes(), "`contract` must be 32 bytes"),
        (sign(json!({"input": "0xzz"})).to_string().into_bytes(), "`input` is not hex"),
        (sign(json!({"network": "no spaces"})).to_string().into_bytes(), "`network`: network id"),
        (sign(json!({"text": "sm2:zz"})).to_string().into_bytes(), "`text`: key text is not hex"),
        (sign(json!({"gas": 5})).to_string().into_bytes(), "takes no field `gas`"),
        (
            json!({"op": "encode_call", "metadata": meta_text, "message": "pay", "args": ["seven"]})
                .to_string()
                .into_bytes(),
            "argument `bill_id`",
        ),
        (
            json!({"op": "encode_call", "metadata": meta_text, "message": "pay", "args": "[7]"})
                .to_string()
                .into_bytes(),
            "must be a JSON array",
        ),
        (
            json!({"op": "encode_call", "metadata": meta_text, "message": "rob", "args": []}).to_string().into_bytes(),
            "no message or constructor `rob`",
        ),
        (json!({"op": "encode_call", "metadata": "{}", "message": "pay"}).to_string().into_bytes(), "`metadata`"),
        (
            json!({"op": "encode_call", "metadata": [1], "message": "pay"}).to_string().into_bytes(),
            "`metadata` must be",
        ),
        (
            json!({"op": "decode_output", "metadata": meta_text, "message": "amount_due", "output": "0x01"})
                .to_string()
                .into_bytes(),
            "cannot decode",
        ),
        (json!({"op": "decode_event", "metadata": meta_text, "data": "0x09"}).to_string().into_bytes(), "an event of"),
        (
            json!({"op": "decode_call", "metadata": meta_text, "input": "0x00"}).to_string().into_bytes(),
            "shorter than a selector",
        ),
        (
            json!({"op": "decode_tx", "tx": "0x00112233"}).to_string().into_bytes(),
            "not a SCALE-encoded signed transaction",
        ),
        (json!({"op": "decode_tx", "tx": "0x00", "suite": "rot13"}).to_string().into_bytes(), "`suite`"),
        (
            json!({"op": "decode_block", "block": "0xffffffffffff"}).to_string().into_bytes(),
            "not a SCALE-encoded block",
        ),
    ];
    for (request, expected) in &cases {
        let error = wallet.error_bytes(request);
        assert!(
            error.contains(expected),
            "{}: expected an error with {expected:?}, got {error:?}",
            String::from_utf8_lossy(request)
        );
    }

    // A transaction whose signature is broken: no suite to hash it with, unless told.
    let key = Keypair::named(Scheme::Ed25519, "x");
    let mut stx = key.sign_tx(Transaction {
        network: NetworkId::new(NET).expect("net"),
        sender: key.account(),
        nonce: 0,
        gas_limit: 1,
        call: Call::Transfer { to: CONTRACT, amount: 1 },
    });
    stx.signatures[0].signature[0] ^= 1;
    let error = wallet.error(&json!({"op": "decode_tx", "tx": hex0x(stx.encode())}));
    assert!(error.contains("pass `suite`"), "{error}");
    let told = wallet.ok(&json!({"op": "decode_tx", "tx": hex0x(stx.encode()), "suite": "ed25519"}));
    assert_eq!(
        (&told["verified"], &told["hash"]),
        (&json!(false), &json!(stx.hash(jjj_primitives::HashAlgo::Blake2b256).to_string()))
    );

    // Pointers and lengths the page might get wrong.
    let pages = wallet.pages();
    let beyond = u32::try_from(pages * 65_536 - 8).expect("memory under 4 GiB");
    for (ptr, len, expected) in
        [(8, u32::MAX, "over the limit"), (beyond, 100, "outside the module's memory"), (0, 10, "null")]
    {
        let out = wallet.call.call(&mut wallet.store, (ptr, len)).expect("jjj_call does not trap");
        let error = error_of(&wallet.take_response(out));
        assert!(error.contains(expected), "({ptr}, {len}): {error}");
    }
    assert_eq!(
        wallet.alloc.call(&mut wallet.store, u32::MAX).expect("jjj_alloc does not trap"),
        0,
        "a 4 GiB allocation fails"
    );
    wallet.free.call(&mut wallet.store, (0, 0)).expect("freeing nothing");

    // And the instance still works.
    assert_eq!(wallet.ok(&json!({"op": "version"}))["scheme_list"], json!(["ed25519", "sm2"]));
}

#[test]
fn memory_is_given_back() {
    let mut wallet = Wallet::new();
    let (_, text) = cli_key(Scheme::Ed25519, "memory");
    let request = json!({"op": "sign_transfer", "text": text, "network": NET, "nonce": 1, "gas_limit": 1,
                         "to": CONTRACT.to_string(), "amount": 1});
    for _ in 0..20 {
        wallet.ok(&request);
    }
    let pages = wallet.pages();
    for _ in 0..2_000 {
        wallet.ok(&request);
        wallet.error_bytes(b"not json");
    }
    assert_eq!(wallet.pages(), pages, "memory grew over calls: something is not freed");
}

/// A header of network [`NET`] at `height`.
fn header(height: u64, timestamp: u64) -> Header {
    Header {
        network: NetworkId::new(NET).expect("net"),
        height,
        parent_hash: Hash([1; 32]),
        timestamp,
        proposer: AccountId([2; 32]),
        tx_root: Hash([3; 32]),
        receipts_root: Hash([4; 32]),
        state_root: Hash([5; 32]),
    }
}

/// The commit certificate of `header` in `view` by the validators `signers` of `keys`, made as
/// the consensus core makes it (and jjj-light's tests): their signed COMMIT votes.
fn certify(suite: Suite, keys: &[Keypair], signers: &[usize], header: &Header, view: u64) -> CommitCertificate {
    let block_hash = header.hash(suite.hash_algo());
    let signatures = signers
        .iter()
        .map(|&i| {
            let v = Vote::sign(&header.network, &keys[i], VoteKind::Commit, header.height, view, block_hash);
            (v.voter, v.signature)
        })
        .collect();
    CommitCertificate { height: header.height, view, block_hash, signatures }
}

/// The light client's verdict on the same bytes, to compare the module's with.
fn light_verdict(
    suite: Suite,
    header: &Header,
    cert: &CommitCertificate,
    validators: &[AccountId],
) -> Result<(), String> {
    SetHistory::fixed(header.network.clone(), validators.to_vec())
        .verify_header(suite, header, Some(cert))
        .map_err(|e| e.to_string())
}

#[test]
fn block_certificates_verify_as_the_light_client_verifies_them() {
    let mut wallet = Wallet::new();
    for scheme in Scheme::ALL {
        let suite = scheme.suite();
        let keys: Vec<Keypair> = (0..5).map(|i| Keypair::named(scheme, &format!("validator-{i}"))).collect();
        let ids: Vec<AccountId> = keys.iter().map(Keypair::account).collect();
        let set = &ids[..4];
        let names = |accounts: &[AccountId]| accounts.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let block = header(12, 1_750_000_000_000);
        let request = |cert: &CommitCertificate, validators: &[AccountId]| {
            json!({"op": "verify_block", "header": hex0x(block.encode()), "certificate": hex0x(cert.encode()),
                   "validators": names(validators)})
        };

        // 3 of 4 sign: the quorum, in the suite found from the hash or named.
        let cert = certify(suite, &keys, &[0, 2, 3], &block, 1);
        light_verdict(suite, &block, &cert, set).expect("the light client accepts it");
        let expected = json!({
            "height": 12, "hash": block.hash(suite.hash_algo()).to_string(), "view": 1, "suite": suite.name(),
            "signers": names(&[ids[0], ids[2], ids[3]]), "quorum": 3, "verified": true,
        });
        assert_eq!(wallet.ok(&request(&cert, set)), expected, "{scheme}");
        for named in [suite.name(), scheme.name()] {
            let mut r = request(&cert, set);
            r["suite"] = json!(named);
            assert_eq!(wallet.ok(&r), expected, "{scheme}, suite {named}");
        }
        // All 4 sign.
        let all = certify(suite, &keys, &[3, 1, 0, 2], &block, 0);
        assert_eq!(wallet.ok(&request(&all, set))["signers"], json!(names(&[ids[3], ids[1], ids[0], ids[2]])));

        // Each refusal is the light client's, named in the error.
        let mut flipped = cert.clone();
        flipped.signatures[1].1[0] ^= 1;
        let mut twice = cert.clone();
        twice.signatures.push(twice.signatures[0]);
        let other_block = header(12, 1_750_000_000_001);
        let of_other = certify(suite, &keys, &[0, 1, 2], &other_block, 0);
        let lacking = [ids[0], ids[1], ids[2], ids[4]];
        let short = certify(suite, &keys, &[1, 3], &block, 0);
        let cases: [(&CommitCertificate, &[AccountId], String); 5] = [
            (&flipped, set, format!("bad Commit signature by {}", ids[2])),
            (&twice, set, format!("validator {} signed twice", ids[0])),
            (&cert, &lacking, format!("{} is not a validator", ids[3])),
            (&of_other, set, "the certificate is for another block".into()),
            (&short, set, "2 signatures, 3 needed".into()),
        ];
        for (c, validators, expected) in &cases {
            let native = light_verdict(suite, &block, c, validators).expect_err("the light client refuses it");
            let mut r = request(c, validators);
            r["suite"] = json!(suite.name());
            let error = wallet.error(&r);
            assert!(error.contains(expected.as_str()), "{scheme}: expected {expected:?}, got {error:?}");
            assert!(error.starts_with(&native), "{scheme}: the module says {error:?}, the light client {native:?}");
            // Without `suite`, the same, except that a certificate of another block matches no
            // suite's hash and the error also asks for `suite`.
            let error = wallet.error(&request(c, validators));
            assert!(error.contains(expected.as_str()), "{scheme}, no suite: expected {expected:?}, got {error:?}");
        }
        assert!(wallet.error(&request(&of_other, set)).contains("pass `suite`"));
        // The other suite's hash of the header is not what the certificate signs.
        let other_suite = Suite::ALL.into_iter().find(|s| *s != suite).expect("two suites");
        let mut r = request(&cert, set);
        r["suite"] = json!(other_suite.name());
        let error = wallet.error(&r);
        assert!(error.contains("the certificate is for another block"), "{error}");
        assert!(error.contains(&block.hash(other_suite.hash_algo()).to_string()), "{error}");

        // Malformed requests.
        let header_hex = hex0x(block.encode());
        let cert_hex = hex0x(cert.encode());
        let with = |field: &str, value: Value| {
            let mut r = request(&cert, set);
            r[field] = value;
            r
        };
        let malformed = [
            (with("header", json!("0xzz")), "`header` is not hex"),
            (with("header", json!("0x0102")), "`header` is not a SCALE-encoded block header"),
            (with("header", json!(format!("{header_hex}00"))), "`header` is not a SCALE-encoded block header"),
            (
                with("certificate", json!("0xffffffffffffffff")),
                "`certificate` is not a SCALE-encoded commit certificate",
            ),
            (with("certificate", json!(&cert_hex[..cert_hex.len() - 2])), "not a SCALE-encoded commit certificate"),
            (with("certificate", json!(format!("{cert_hex}00"))), "not a SCALE-encoded commit certificate"),
            (with("certificate", json!(header_hex)), "not a SCALE-encoded commit certificate"),
            (with("validators", json!([])), "`validators`: a validator set needs at least one validator"),
            (with("validators", json!("0x00")), "`validators` must be an array of account ids"),
            (with("validators", json!([ids[0].to_string(), 7])), "`validators[1]` must be an account id"),
            (with("validators", json!([ids[0].to_string(), "0x1234"])), "`validators[1]` must be 32 bytes"),
            (
                with("validators", json!([ids[0].to_string(), ids[1].to_string(), ids[0].to_string()])),
                "is listed twice",
            ),
            (with("suite", json!("rsa+md5")), "`suite`"),
            (with("validator", json!([])), "takes no field `validator`"),
            (json!({"op": "verify_block", "header": header_hex, "certificate": cert_hex}), "`validators` is missing"),
        ];
        for (r, expected) in &malformed {
            let error = wallet.error(r);
            assert!(error.contains(expected), "{r}: expected an error with {expected:?}, got {error:?}");
        }
    }
}
