//! Fuzz target `transcode` (see `jjj-fuzz-harness`; `scripts/fuzz.sh` runs them all): the
//! JSON ↔ SCALE codec through a contract's metadata, with everything it reads untrusted.
//!
//! An input is `mode ++ contract ++ payload`, over the four contracts' real metadata:
//! - mode 0, JSON arguments → `encode_call`/`encode_constructor` for a message (what the CLI
//!   and web clients send); an encoding that succeeds must decode back to the same message;
//! - mode 1, bytes → `decode_call`, `decode_deploy`, `decode_output` and `decode_event` (what a
//!   node, possibly a lying one, returns); a decoded call must encode again;
//! - mode 2, a damaged metadata document → `LoadedMetadata::from_json`, and what loads is used
//!   to encode and decode (metadata files come from outside the process too).
use jjj_fuzz_harness::json::{self, odd_value};
use jjj_fuzz_harness::rand::rngs::StdRng;
use jjj_fuzz_harness::rand::{Rng, SeedableRng};
use jjj_fuzz_harness::serde_json::{self, json, Map, Value};
use jjj_fuzz_harness::{mutate, mutate_from, verbose, Target};
use jjj_transcode::*;

const ENCODE: u8 = 0;
const DECODE: u8 = 1;
const METADATA: u8 = 2;

struct Contract {
    json: String,
    meta: LoadedMetadata,
    /// Valid call inputs found by encoding random arguments: seeds for the decoders.
    calls: Vec<Vec<u8>>,
    /// Their arguments as JSON: seeds for the encoder.
    args: Vec<(String, Value)>,
}

fn contracts() -> Vec<Contract> {
    let jsons = [
        utility_bills::UtilityBills::metadata().to_json(),
        waste_disposal::WasteDisposal::metadata().to_json(),
        ecommerce_agreement::EcommerceAgreement::metadata().to_json(),
        counter::Counter::metadata().to_json(),
    ];
    let mut rng = StdRng::seed_from_u64(0);
    jsons
        .into_iter()
        .map(|json| {
            let meta = LoadedMetadata::from_json(&json).expect("real metadata loads");
            let mut calls = Vec::new();
            let mut args = Vec::new();
            for m in meta.messages.iter().chain(&meta.constructors) {
                for _ in 0..200 {
                    let a = arguments(&mut rng, m);
                    if let Ok(bytes) = encode_with_spec(&meta, m, &a) {
                        calls.push(bytes);
                        args.push((m.name.clone(), a));
                        break;
                    }
                }
            }
            Contract { json, meta, calls, args }
        })
        .collect()
}

/// Arguments for a message, each a plausible value of some type: what a client might send.
fn arguments(rng: &mut StdRng, m: &LoadedMessage) -> Value {
    let pool = [
        json!(0),
        json!(1),
        json!(12345),
        json!("12345"),
        json!(true),
        json!("text"),
        json!(format!("0x{}", "ab".repeat(32))),
        json!("0x"),
        json!([]),
        json!([1, 2, 3]),
        json!(null),
    ];
    let mut args = Map::new();
    for a in &m.args {
        args.insert(a.name.clone(), odd_value(rng, &pool));
    }
    Value::Object(args)
}

fn generate(rng: &mut StdRng, contracts: &[Contract]) -> Vec<u8> {
    let which = rng.gen_range(0..contracts.len());
    let c = &contracts[which];
    let mode = [ENCODE, DECODE, METADATA][rng.gen_range(0..3)];
    let payload = match mode {
        ENCODE => {
            let (name, mut args) = if !c.args.is_empty() && rng.gen_bool(0.7) {
                c.args[rng.gen_range(0..c.args.len())].clone()
            } else {
                let all: Vec<&LoadedMessage> = c.meta.messages.iter().chain(&c.meta.constructors).collect();
                let m = all[rng.gen_range(0..all.len())];
                (m.name.clone(), arguments(rng, m))
            };
            json::mutate(rng, &mut args, &[]);
            json!({"name": name, "args": args}).to_string().into_bytes()
        }
        DECODE => mutate_from(rng, &c.calls, &[]),
        _ => {
            // METADATA: a damaged copy of the contract's metadata document.
            let mut doc: Value = serde_json::from_str(&c.json).expect("metadata JSON");
            json::mutate(rng, &mut doc, &[json!(0), json!(u32::MAX), json!({"def": {"sequence": {"type": 0}}})]);
            let mut text = doc.to_string().into_bytes();
            if rng.gen_bool(0.2) {
                mutate(rng, &mut text, &[], &[]);
            }
            text
        }
    };
    let mut input = vec![mode, which as u8];
    input.extend(payload);
    input
}

/// Every decoder over `bytes`; a decoded call must encode again.
fn decode_everything(meta: &LoadedMetadata, bytes: &[u8]) {
    if let Ok(call) = decode_call(meta, bytes) {
        let again = encode_call(meta, &call.name, &call.args);
        assert!(again.is_ok(), "decoded `{}` {} does not encode again: {again:?}", call.name, call.args);
    }
    if let Ok(deploy) = decode_deploy(meta, bytes) {
        let again = encode_constructor(meta, &deploy.name, &deploy.args);
        assert!(again.is_ok(), "decoded constructor `{}` does not encode again: {again:?}", deploy.name);
    }
    for m in &meta.messages {
        let _ = decode_output(meta, &m.name, bytes);
    }
    let _ = decode_event(meta, bytes);
}

fn check(contracts: &[Contract], input: &[u8]) {
    let [mode, which, payload @ ..] = input else { return };
    let Some(c) = contracts.get(*which as usize) else { return };
    match *mode {
        ENCODE => {
            let Ok(request) = serde_json::from_slice::<Value>(payload) else { return };
            let name = request["name"].as_str().unwrap_or_default();
            let args = &request["args"];
            for encoded in [encode_call(&c.meta, name, args), encode_constructor(&c.meta, name, args)] {
                let Ok(bytes) = encoded else { continue };
                let back = decode_call(&c.meta, &bytes).or_else(|_| decode_deploy(&c.meta, &bytes));
                match back {
                    Ok(call) => assert_eq!(call.name, name, "encoded `{name}`, decoded `{}`", call.name),
                    Err(e) => panic!("`{name}` {args} encoded to {} bytes that do not decode: {e}", bytes.len()),
                }
            }
        }
        DECODE => decode_everything(&c.meta, payload),
        METADATA => {
            let Ok(text) = std::str::from_utf8(payload) else { return };
            let Ok(meta) = LoadedMetadata::from_json(text) else { return };
            let _ = meta.validate();
            for m in meta.messages.iter().chain(&meta.constructors) {
                let _ = meta.signature(m);
                let _ = encode_with_spec(&meta, m, &json!({}));
            }
            for seed in &c.calls {
                decode_everything(&meta, seed);
            }
        }
        _ => {}
    }
}

#[test]
fn fuzz_transcode() {
    let contracts = contracts();
    if verbose() {
        let seeds: Vec<usize> = contracts.iter().map(|c| c.calls.len()).collect();
        let messages: Vec<usize> =
            contracts.iter().map(|c| c.meta.messages.len() + c.meta.constructors.len()).collect();
        println!("transcode: valid calls found per contract {seeds:?} of messages {messages:?}");
    }
    Target::new("transcode").run(|rng| generate(rng, &contracts), |input| check(&contracts, input));
}
