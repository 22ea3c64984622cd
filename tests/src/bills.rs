//! The utility-bills contract as the load: deploy it, register a provider, and sign
//! `issue_bill` / `pay` calls encoded through the contract's metadata.
use jjj_crypto::Keypair;
use jjj_primitives::HashAlgo;
use jjj_primitives::{AccountId, Call, NetworkId, SignedTransaction, Transaction};
use jjj_rpc_api::{hex0x, unhex, NodeApiClient, ReceiptJson, Rpc};
use jjj_transcode::LoadedMetadata;
use parity_scale_codec::{Decode, Encode};
use serde_json::json;
use std::path::PathBuf;

pub const ADMIN: &str = "bills-admin";
pub const PROVIDER: &str = "bills-provider";
/// Far enough ahead that no bill is ever late during a test (no late fee: the amount is exact).
const DUE_IN_MS: u64 = 365 * 86_400_000;

pub fn resident_name(i: usize) -> String {
    format!("bills-resident-{i}")
}

/// The genesis accounts the load needs: the admin (deployer, and member-admin of Beijing, so
/// it registers the provider with the contract), the provider (a utility provider of Beijing)
/// and `residents`.
pub fn genesis_accounts(residents: usize) -> Vec<(String, u64)> {
    let mut v = vec![
        (format!("{ADMIN}@beijing+deployer,member-admin"), 1_000_000),
        (format!("{PROVIDER}@beijing+utility-provider"), 1),
    ];
    v.extend((0..residents).map(|i| (resident_name(i), 1_000_000_000_000)));
    v
}

/// Where `scripts/build-contracts.sh` puts the wasm: `$JJJ_CONTRACTS_DIR`, or `target/contracts`
/// at the workspace root.
pub fn contracts_dir() -> PathBuf {
    match std::env::var_os("JJJ_CONTRACTS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/contracts"),
    }
}

pub struct Bills {
    pub network: NetworkId,
    pub contract: AccountId,
    meta: LoadedMetadata,
    pub provider: Keypair,
    pub residents: Vec<Keypair>,
    /// The network's hash: transactions are known by their hash under it.
    pub algo: HashAlgo,
}

/// Submits one transaction and waits for its receipt; fails unless it succeeded.
pub async fn submit_and_wait(rpc: &Rpc, network: &str, stx: &SignedTransaction) -> Result<ReceiptJson, String> {
    let hash = rpc.api().submit_tx(network.into(), hex0x(&stx.encode())).await.map_err(|e| rpc.explain(e))?;
    let r = rpc
        .api()
        .receipt(network.into(), hash.clone(), Some(60_000))
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("no receipt for {hash}"))?;
    if r.status != "success" {
        return Err(format!("setup transaction {hash} {}: {:?}", r.status, r.reason));
    }
    Ok(r)
}

impl Bills {
    /// Uploads and instantiates utility-bills as [`ADMIN`], which then registers [`PROVIDER`]
    /// (as an admin of its member) as a water provider, through `rpc`.
    pub async fn deploy(rpc: &Rpc, network: &str, residents: usize) -> Result<Bills, String> {
        let dir = contracts_dir();
        let wasm = std::fs::read(dir.join("utility_bills.wasm"))
            .map_err(|e| format!("{}/utility_bills.wasm: {e} (run scripts/build-contracts.sh first)", dir.display()))?;
        let meta_json = std::fs::read_to_string(dir.join("utility_bills.json"))
            .map_err(|e| format!("{}/utility_bills.json: {e}", dir.display()))?;
        let meta = LoadedMetadata::from_json(&meta_json).map_err(|e| format!("metadata: {e}"))?;
        let netid = NetworkId::new(network)?;
        let admin = crate::dev_key(ADMIN);
        let sign = |nonce: u64, gas_limit: u64, call: Call| {
            admin.sign_tx(Transaction { network: netid.clone(), sender: admin.account(), nonce, gas_limit, call })
        };
        let algo = crate::suite().hash_algo();
        let code_hash = algo.hash(&wasm);
        submit_and_wait(rpc, network, &sign(0, 100_000_000, Call::UploadCode { code: wasm })).await?;
        let input = jjj_transcode::encode_constructor(&meta, "new", &json!([])).map_err(|e| format!("new: {e}"))?;
        let r = submit_and_wait(rpc, network, &sign(1, 50_000_000, Call::Instantiate { code_hash, input, value: 0 }))
            .await?;
        let out = unhex(&r.output).map_err(|e| format!("instantiate output: {e}"))?;
        let contract = AccountId::decode(&mut &out[..]).map_err(|e| format!("instantiate output: {e}"))?;
        let provider = crate::dev_key(PROVIDER);
        let register = jjj_transcode::encode_call(
            &meta,
            "register_provider",
            &json!([provider.account().to_string(), "chaos water", "Beijing", ["Water"], 0]),
        )
        .map_err(|e| format!("register_provider: {e}"))?;
        submit_and_wait(rpc, network, &sign(2, 5_000_000, Call::Call { contract, input: register, value: 0 })).await?;
        Ok(Bills {
            network: netid,
            contract,
            meta,
            provider,
            residents: (0..residents).map(|i| crate::dev_key(&resident_name(i))).collect(),
            algo,
        })
    }

    /// A message of the contract, encoded through its metadata (`args` as JSON).
    pub fn encode(&self, message: &str, args: serde_json::Value) -> Result<Vec<u8>, String> {
        jjj_transcode::encode_call(&self.meta, message, &args).map_err(|e| format!("{message}: {e}"))
    }

    /// The provider bills `resident` `amount` fen for water.
    pub fn issue(&self, nonce: u64, resident: usize, amount: u64, now_ms: u64) -> Result<SignedTransaction, String> {
        let args =
            json!([self.residents[resident].account().to_string(), "Water", amount, "2026-11", now_ms + DUE_IN_MS]);
        let input =
            jjj_transcode::encode_call(&self.meta, "issue_bill", &args).map_err(|e| format!("issue_bill: {e}"))?;
        Ok(self.provider.sign_tx(Transaction {
            network: self.network.clone(),
            sender: self.provider.account(),
            nonce,
            gas_limit: 5_000_000,
            call: Call::Call { contract: self.contract, input, value: 0 },
        }))
    }

    /// `resident` pays bill `bill` with exactly `amount` fen attached.
    pub fn pay(&self, resident: usize, nonce: u64, bill: u64, amount: u64) -> Result<SignedTransaction, String> {
        let input = jjj_transcode::encode_call(&self.meta, "pay", &json!([bill])).map_err(|e| format!("pay: {e}"))?;
        let key = &self.residents[resident];
        Ok(key.sign_tx(Transaction {
            network: self.network.clone(),
            sender: key.account(),
            nonce,
            gas_limit: 2_000_000,
            call: Call::Call { contract: self.contract, input, value: amount },
        }))
    }
}

/// The bill id an `issue_bill` receipt returns (its output is the SCALE-encoded `u64`).
pub fn issued_bill_id(receipt: &ReceiptJson) -> Option<u64> {
    let out = unhex(&receipt.output).ok()?;
    u64::decode(&mut &out[..]).ok()
}
