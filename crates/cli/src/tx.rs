//! Sending transactions: sign with the sender's next nonce, submit, wait for the receipt.
use jjj_crypto::Keypair;
use jjj_primitives::*;
use jjj_rpc_api::{hex0x, NodeApiClient, ReceiptJson, Rpc};
use parity_scale_codec::Encode;

pub fn status_to_result(r: &ReceiptJson) -> Result<(), String> {
    if r.status == "success" {
        Ok(())
    } else {
        Err(format!("transaction {}: {}", r.status, r.reason.clone().unwrap_or_default()))
    }
}

/// How long a sender waits for its transaction to be finalised.
const RECEIPT_WAIT_MS: u64 = 30_000;

/// Signs with the next nonce, submits, and waits for the receipt.
pub async fn submit_and_wait(
    rpc: &Rpc,
    network: &str,
    key: &Keypair,
    call: Call,
    gas_limit: u64,
) -> Result<ReceiptJson, String> {
    submit_as(rpc, network, key, key.account(), call, gas_limit).await
}

/// As [`submit_and_wait`], for account `sender` whose current key is `key` (after a rotation).
pub async fn submit_as(
    rpc: &Rpc,
    network: &str,
    key: &Keypair,
    sender: AccountId,
    call: Call,
    gas_limit: u64,
) -> Result<ReceiptJson, String> {
    let api = rpc.api();
    let acct = api.account(network.into(), sender.to_string()).await.map_err(|e| rpc.explain(e))?;
    let tx = Transaction { network: NetworkId::new(network)?, sender, nonce: acct.nonce, gas_limit, call };
    let stx = key.sign_tx(tx);
    let hash = api.submit_tx(network.into(), hex0x(&stx.encode())).await.map_err(|e| rpc.explain(e))?;
    let r = api.receipt(network.into(), hash.clone(), Some(RECEIPT_WAIT_MS)).await.map_err(|e| rpc.explain(e))?;
    r.ok_or_else(|| format!("no receipt for {hash}"))
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
