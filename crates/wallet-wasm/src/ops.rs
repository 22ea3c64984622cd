//! The ops: each reads its fields and answers the `ok` value (see the crate docs for shapes).
use crate::request::{hex0x, u64_json, Fields};
use jjj_consensus::{CommitCertificate, ValidatorSet};
use jjj_crypto::{Keypair, Scheme, Suite};
use jjj_light::{LightError, SetHistory};
use jjj_primitives::gov::ProposalBody;
use jjj_primitives::{Block, Call, Header, SignedTransaction, Transaction};
use jjj_transcode::LoadedMetadata;
use parity_scale_codec::{DecodeLimit, Encode};
use serde_json::{json, Value};

/// Every op, for `version`.
pub const OPS: [&str; 14] = [
    "version",
    "key_from_text",
    "key_from_seed",
    "encode_call",
    "sign_call",
    "sign_transfer",
    "sign_read",
    "decode_output",
    "decode_event",
    "decode_call",
    "decode_tx",
    "decode_block",
    "verify_block",
    "hash",
];

/// The depth the node decodes a submitted transaction with (`tx_submit`).
const TX_DECODE_DEPTH: u32 = 16;
/// The depth the node decodes peer messages (which carry blocks) with.
const BLOCK_DECODE_DEPTH: u32 = 32;
/// The depth a header or a commit certificate is decoded with (neither nests deeper than 3).
const CERTIFIED_HEADER_DECODE_DEPTH: u32 = 16;

pub fn dispatch(request: &[u8]) -> Result<Value, String> {
    let mut f = Fields::parse(request)?;
    let answer = match f.op() {
        "version" => version(),
        "key_from_text" => key_from_text(&mut f),
        "key_from_seed" => key_from_seed(&mut f),
        "encode_call" => encode_call(&mut f),
        "sign_call" => sign_call(&mut f),
        "sign_transfer" => sign_transfer(&mut f),
        "sign_read" => sign_read(&mut f),
        "decode_output" => decode_output(&mut f),
        "decode_event" => decode_event(&mut f),
        "decode_call" => decode_call(&mut f),
        "decode_tx" => decode_tx(&mut f),
        "decode_block" => decode_block(&mut f),
        "verify_block" => verify_block(&mut f),
        "hash" => hash(&mut f),
        other => Err(format!("unknown op {other:?}; the ops: {}", OPS.join(", "))),
    }?;
    f.finish()?;
    Ok(answer)
}

fn version() -> Result<Value, String> {
    Ok(json!({
        "crate_version": env!("CARGO_PKG_VERSION"),
        "scheme_list": Scheme::ALL.map(Scheme::name),
        "suite_list": Suite::ALL.map(Suite::name),
        "ops": OPS,
    }))
}

fn key_from_text(f: &mut Fields) -> Result<Value, String> {
    let key = f.key()?;
    Ok(json!({ "scheme": key.scheme().name(), "account": key.account().to_string(), "seed": hex0x(key.seed()) }))
}

fn key_from_seed(f: &mut Fields) -> Result<Value, String> {
    let scheme = f.scheme()?;
    let seed = f.bytes("seed")?;
    let n = seed.len();
    let seed: [u8; 32] = seed.try_into().map_err(|_| format!("`seed` must be 32 bytes of hex, got {n}"))?;
    let key = Keypair::new(scheme, seed);
    Ok(json!({ "scheme": scheme.name(), "account": key.account().to_string(), "text": key.key_text() }))
}

fn encode_call(f: &mut Fields) -> Result<Value, String> {
    let meta = f.metadata()?;
    let message = f.str("message")?;
    let args = f.opt("args").unwrap_or(Value::Null);
    let input = jjj_transcode::encode_call(&meta, &message, &args).map_err(|e| e.to_string())?;
    Ok(json!({ "input": hex0x(input) }))
}

fn sign_call(f: &mut Fields) -> Result<Value, String> {
    let contract = f.account("contract")?;
    let input = f.bytes("input")?;
    let value = f.opt_u64("value")?.unwrap_or(0);
    sign(f, Call::Call { contract, input, value })
}

fn sign_transfer(f: &mut Fields) -> Result<Value, String> {
    let to = f.account("to")?;
    let amount = f.u64("amount")?;
    sign(f, Call::Transfer { to, amount })
}

/// Signs `call` as the CLI does (`jjj_cli::tx::submit_as`): `{tx, hash}`.
fn sign(f: &mut Fields, call: Call) -> Result<Value, String> {
    let key = f.key()?;
    let network = f.network()?;
    let nonce = f.u64("nonce")?;
    let gas_limit = f.u64("gas_limit")?;
    let sender = f.opt_account("sender")?.unwrap_or_else(|| key.account());
    let stx = key.sign_tx(Transaction { network, sender, nonce, gas_limit, call });
    // A key signs only for networks of its scheme, whose suite hashes the transaction.
    let hash = stx.hash(key.scheme().suite().hash_algo());
    Ok(json!({ "tx": hex0x(stx.encode()), "hash": hash.to_string() }))
}

fn sign_read(f: &mut Fields) -> Result<Value, String> {
    let key = f.key()?;
    let network = f.network()?;
    let contract = f.account("contract")?;
    let input = f.bytes("input")?;
    let issued_at_ms = f.u64("issued_at_ms")?;
    let nonce = f.u64("nonce")?;
    let read = key.sign_read(network, contract, &input, issued_at_ms, nonce);
    Ok(json!({ "read": hex0x(read.encode()) }))
}

fn decode_output(f: &mut Fields) -> Result<Value, String> {
    let meta = f.metadata()?;
    let message = f.str("message")?;
    let output = f.bytes("output")?;
    jjj_transcode::decode_output(&meta, &message, &output).map_err(|e| e.to_string())
}

fn decode_event(f: &mut Fields) -> Result<Value, String> {
    let meta = f.metadata()?;
    let data = f.bytes("data")?;
    jjj_transcode::decode_event(&meta, &data).map_err(|e| e.to_string())
}

fn decode_call(f: &mut Fields) -> Result<Value, String> {
    let meta = f.metadata()?;
    let input = f.bytes("input")?;
    let call = jjj_transcode::decode_call(&meta, &input).map_err(|e| e.to_string())?;
    Ok(json!({ "message": call.name, "args": call.args }))
}

/// `hash {data, suite}`: the suite's 32-byte hash of `data` (a code hash, a tx hash).
fn hash(f: &mut Fields) -> Result<Value, String> {
    let data = f.bytes("data")?;
    let suite = f.opt_suite()?.ok_or("`suite` is missing")?;
    Ok(json!({ "hash": suite.hash_algo().hash(&data).to_string() }))
}

fn decode_tx(f: &mut Fields) -> Result<Value, String> {
    let bytes = f.bytes("tx")?;
    let suite = f.opt_suite()?;
    let verify = f.opt_bool("verify")?.unwrap_or(true);
    let meta = f.opt_metadata()?;
    let stx = SignedTransaction::decode_all_with_depth_limit(TX_DECODE_DEPTH, &mut &bytes[..])
        .map_err(|e| format!("`tx` is not a SCALE-encoded signed transaction: {e}"))?;
    let suite = match suite.or_else(|| signing_suite(&stx)) {
        Some(s) => s,
        None => {
            return Err("the transaction's signatures verify under no scheme, so its hash is unknown: \
                        pass `suite` (the network's: ed25519+blake2b or sm2+sm3)"
                .into())
        }
    };
    Ok(tx_json(&stx, bytes.len(), suite, verify, meta.as_ref()))
}

fn decode_block(f: &mut Fields) -> Result<Value, String> {
    let bytes = f.bytes("block")?;
    let suite = f.opt_suite()?;
    let verify = f.opt_bool("verify")?.unwrap_or(false);
    let block = Block::decode_all_with_depth_limit(BLOCK_DECODE_DEPTH, &mut &bytes[..])
        .map_err(|e| format!("`block` is not a SCALE-encoded block: {e}"))?;
    let suite = suite.or_else(|| block.transactions.first().and_then(signing_suite));
    let h = &block.header;
    let transactions: Vec<Value> = match suite {
        Some(suite) => block.transactions.iter().map(|t| tx_json(t, t.encoded_size(), suite, verify, None)).collect(),
        None => Vec::new(),
    };
    if suite.is_none() && !block.transactions.is_empty() {
        return Err("the block's first transaction verifies under no scheme: pass `suite` (the network's)".into());
    }
    Ok(json!({
        "hash": suite.map(|s| h.hash(s.hash_algo()).to_string()),
        "suite": suite.map(Suite::name),
        "network": h.network.as_str(),
        "height": u64_json(h.height),
        "parent_hash": h.parent_hash.to_string(),
        "timestamp": u64_json(h.timestamp),
        "proposer": h.proposer.to_string(),
        "tx_root": h.tx_root.to_string(),
        "receipts_root": h.receipts_root.to_string(),
        "state_root": h.state_root.to_string(),
        "transactions": transactions,
    }))
}

/// `verify_block {header, certificate, validators, suite?}`: whether the commit certificate
/// certifies the header by a quorum of `validators`, by the light client's own check
/// (`SetHistory::verify_header`, what `LightClient::accept` and the audit proofs call), with
/// `validators` as the one set trusted for the header's height.
fn verify_block(f: &mut Fields) -> Result<Value, String> {
    let header_bytes = f.bytes("header")?;
    let cert_bytes = f.bytes("certificate")?;
    let validators = f.accounts("validators")?;
    let suite = f.opt_suite()?;
    let header = Header::decode_all_with_depth_limit(CERTIFIED_HEADER_DECODE_DEPTH, &mut &header_bytes[..])
        .map_err(|e| format!("`header` is not a SCALE-encoded block header: {e}"))?;
    let cert = CommitCertificate::decode_all_with_depth_limit(CERTIFIED_HEADER_DECODE_DEPTH, &mut &cert_bytes[..])
        .map_err(|e| format!("`certificate` is not a SCALE-encoded commit certificate: {e}"))?;
    let set = ValidatorSet::new(validators.clone()).map_err(|e| format!("`validators`: {e}"))?;
    let suite = match suite {
        Some(suite) => suite,
        None => Suite::ALL.into_iter().find(|s| header.hash(s.hash_algo()) == cert.block_hash).ok_or_else(|| {
            format!(
                "the certificate is for another block: it certifies {} at height {}, the header (height {}) \
                 hashes to {}; pass `suite` (the network's: ed25519+blake2b or sm2+sm3) if that is not the reason",
                cert.block_hash,
                cert.height,
                header.height,
                Suite::ALL.map(|s| format!("{} under {}", header.hash(s.hash_algo()), s.name())).join(", ")
            )
        })?,
    };
    let hash = header.hash(suite.hash_algo());
    SetHistory::fixed(header.network.clone(), validators).verify_header(suite, &header, Some(&cert)).map_err(|e| {
        match e {
            LightError::CertificateOfAnotherBlock { .. } => format!(
                "{e}: it certifies {} at height {}, the header hashes to {hash} under {}",
                cert.block_hash,
                cert.height,
                suite.name()
            ),
            other => other.to_string(),
        }
    })?;
    Ok(json!({
        "height": u64_json(header.height),
        "hash": hash.to_string(),
        "view": u64_json(cert.view),
        "suite": suite.name(),
        "signers": cert.signatures.iter().map(|(signer, _)| signer.to_string()).collect::<Vec<_>>(),
        "quorum": set.quorum(),
        "verified": true,
    }))
}

/// The suite the transaction's first signature verifies under (ed25519 tried first).
fn signing_suite(stx: &SignedTransaction) -> Option<Suite> {
    let first = stx.signatures.first()?;
    let payload = stx.tx.signing_payload();
    Scheme::ALL
        .into_iter()
        .find(|s| jjj_crypto::verify(*s, &first.signer, &payload, &first.signature))
        .map(Scheme::suite)
}

fn tx_json(stx: &SignedTransaction, size: usize, suite: Suite, verify: bool, meta: Option<&LoadedMetadata>) -> Value {
    let tx = &stx.tx;
    let mut out = json!({
        "hash": stx.hash(suite.hash_algo()).to_string(),
        "suite": suite.name(),
        "network": tx.network.as_str(),
        "sender": tx.sender.to_string(),
        "nonce": u64_json(tx.nonce),
        "gas_limit": u64_json(tx.gas_limit),
        "size": size,
        "signatures": stx.signatures.iter().map(|s| json!({
            "signer": s.signer.to_string(),
            "signature": hex0x(s.signature),
        })).collect::<Vec<_>>(),
        "call": call_json(&tx.call, suite, meta),
    });
    if verify {
        let payload = tx.signing_payload();
        let verified = !stx.signatures.is_empty()
            && stx.signatures.iter().all(|s| jjj_crypto::verify(suite.scheme(), &s.signer, &payload, &s.signature));
        out["verified"] = Value::Bool(verified);
    }
    out
}

fn call_json(call: &Call, suite: Suite, meta: Option<&LoadedMetadata>) -> Value {
    let mut out = match call {
        Call::Transfer { to, amount } => json!({ "to": to.to_string(), "amount": u64_json(*amount) }),
        Call::UploadCode { code } => {
            json!({ "code_hash": suite.hash_algo().hash(code).to_string(), "code_size": code.len() })
        }
        Call::Instantiate { code_hash, input, value } => {
            json!({ "code_hash": code_hash.to_string(), "input": hex0x(input), "value": u64_json(*value) })
        }
        Call::Call { contract, input, value } => {
            let mut c = json!({ "contract": contract.to_string(), "input": hex0x(input), "value": u64_json(*value) });
            if let Some(meta) = meta {
                match jjj_transcode::decode_call(meta, input) {
                    Ok(d) => c["decoded"] = json!({ "message": d.name, "args": d.args }),
                    Err(e) => c["decode_error"] = Value::String(e.to_string()),
                }
            }
            c
        }
        Call::CreateMultisig { members, threshold } => json!({
            "members": members.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            "threshold": threshold,
        }),
        Call::RegisterAccount { account, member, roles } => {
            json!({ "account": account.to_string(), "member": member, "roles": roles })
        }
        Call::SetAccountSuspended { account, suspended } => {
            json!({ "account": account.to_string(), "suspended": suspended })
        }
        Call::RotateKey { account, new_key } => {
            json!({ "account": account.to_string(), "new_key": new_key.to_string() })
        }
        Call::Propose { spec, approvals } => {
            let mut p = json!({
                "expires_at": u64_json(spec.expires_at),
                "memo": spec.memo,
                "approvals": approvals.len(),
            });
            match &spec.body {
                ProposalBody::Gov(action) => {
                    p["action"] = Value::String(action.kind().into());
                    p["detail"] = Value::String(format!("{action:?}"));
                }
                ProposalBody::MultisigCall { account, call, gas_limit } => {
                    p["action"] = Value::String("multisig_call".into());
                    p["account"] = Value::String(account.to_string());
                    p["gas_limit"] = u64_json(*gas_limit);
                    p["call"] = call_json(call, suite, meta);
                }
            }
            p
        }
        Call::Approve { proposal, approvals } => {
            json!({ "proposal": u64_json(*proposal), "approvals": approvals.len() })
        }
        Call::AnchorAccessLog { seq, head } => json!({ "seq": u64_json(*seq), "head": head.to_string() }),
    };
    if let Value::Object(map) = &mut out {
        map.insert("kind".into(), Value::String(call.kind().into()));
    }
    out
}
