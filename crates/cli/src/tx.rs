//! Sending transactions: sign with the sender's next nonce, submit, wait for the receipt.
use jjj_crypto::Keypair;
use jjj_primitives::*;
use jjj_rpc_api::{hex0x, ReceiptJson, Rpc};
use parity_scale_codec::Encode;
use serde_json::json;

pub fn status_to_result(r: &ReceiptJson) -> Result<(), String> {
    if r.status == "success" {
        Ok(())
    } else {
        Err(format!("transaction {}: {}", r.status, r.reason.clone().unwrap_or_default()))
    }
}

/// Signs with the next nonce, submits, and waits for the receipt.
pub async fn submit_and_wait(rpc: &Rpc, network: &str, key: &Keypair, call: Call, gas_limit: u64) -> Result<ReceiptJson, String> {
    let acct: serde_json::Value = rpc.call("state_getAccount", json!({"network": network, "account": key.account().to_string()})).await?;
    let nonce = acct["nonce"].as_u64().unwrap_or(0);
    let tx = Transaction { network: NetworkId::new(network)?, sender: key.account(), nonce, gas_limit, call };
    let stx = key.sign_tx(tx);
    let hash: String = rpc.call("tx_submit", json!({"network": network, "tx": hex0x(&stx.encode())})).await?;
    let r: Option<ReceiptJson> = rpc.call("tx_receipt", json!({"network": network, "hash": hash, "wait_ms": 30_000})).await?;
    r.ok_or_else(|| format!("no receipt for {hash}"))
}


/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
