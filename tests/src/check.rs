//! Black-box invariants over RPC, after a run: every validator holds the same block and the same
//! state root at every height; every transaction the load saw final is still in the block it
//! was seen in, on every validator; every accepted transaction ended final (with a receipt: a
//! success, or a revert/failure with a reason) or was refused with a reason.
use crate::devnet::{Devnet, NET, VALIDATORS};
use crate::load::LoadReport;
use jjj_rpc_api::{BlockJson, NodeApiClient};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct CheckReport {
    /// Heights compared on every validator.
    pub heights: u64,
    /// Final transactions found in their block on every validator.
    pub checked_tx: usize,
    /// Transactions lost: seen final but missing from their block somewhere, or accepted and
    /// never final.
    pub lost: Vec<String>,
    /// Every validator has the same block hash at every compared height.
    pub same_blocks: bool,
    /// Every validator has the same state root at every compared height.
    pub roots_equal: bool,
    /// Final transactions that reverted or failed (each with its reason).
    pub reverted: Vec<String>,
    /// Everything else that is wrong, readable.
    pub problems: Vec<String>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.lost.is_empty() && self.same_blocks && self.roots_equal && self.problems.is_empty()
    }
}

/// Fetches blocks `from..=to` from validator `i`, a bounded number of retries each.
async fn blocks_of(net: &Devnet, i: usize, from: u64, to: u64) -> Result<Vec<BlockJson>, String> {
    let rpc = net.rpc(i)?;
    let mut out = Vec::with_capacity((to + 1 - from) as usize);
    for h in from..=to {
        let mut tries = 0;
        loop {
            match rpc.api().block(NET.into(), Some(h), None, None).await {
                Ok(Some(b)) => {
                    out.push(b);
                    break;
                }
                Ok(None) => return Err(format!("validator {} has no block at height {h}", i + 1)),
                Err(e) if tries >= 5 => return Err(format!("validator {}: block {h}: {}", i + 1, rpc.explain(e))),
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    Ok(out)
}

/// Checks the invariants on a devnet whose validators are all running. `converge_within`
/// bounds the wait for every validator to reach the same head.
pub async fn verify(net: &Devnet, load: &LoadReport, converge_within: Duration) -> CheckReport {
    let mut report = CheckReport { same_blocks: true, roots_equal: true, ..Default::default() };
    let top = match net.wait_same_head(converge_within).await {
        Ok(h) => h.height,
        Err(e) => {
            report.problems.push(e);
            // Compare what every validator has.
            net.heads().await.iter().map(|h| h.as_ref().map(|h| h.height).unwrap_or(0)).min().unwrap_or(0)
        }
    };
    report.heights = top;
    let mut chains: Vec<Vec<BlockJson>> = Vec::new();
    for i in 0..VALIDATORS {
        match blocks_of(net, i, 1, top).await {
            Ok(b) => chains.push(b),
            Err(e) => {
                report.problems.push(e);
                return report;
            }
        }
    }
    for h in 1..=top {
        let at: Vec<&BlockJson> = chains.iter().map(|c| &c[(h - 1) as usize]).collect();
        let first = &at[0].header;
        for (i, b) in at.iter().enumerate().skip(1) {
            if b.header.hash != first.hash {
                report.same_blocks = false;
                report.problems.push(format!(
                    "two blocks at height {h}: validator 1 has {}, validator {} has {}",
                    first.hash,
                    i + 1,
                    b.header.hash
                ));
            }
            if b.header.state_root != first.state_root {
                report.roots_equal = false;
                report.problems.push(format!(
                    "state roots differ at height {h}: validator 1 has {}, validator {} has {}",
                    first.state_root,
                    i + 1,
                    b.header.state_root
                ));
            }
        }
        if let Some(seen) = load.seen_blocks.get(&h) {
            if *seen != first.hash {
                report.same_blocks = false;
                report.problems.push(format!(
                    "height {h}: block {} was seen final during the run, the validators now have {}",
                    seen, first.hash
                ));
            }
        }
    }
    if !load.divergences.is_empty() {
        report.same_blocks = false;
        report.problems.extend(load.divergences.iter().cloned());
    }
    // Every final transaction, in its block, on every validator.
    let per_node: Vec<HashMap<u64, HashSet<&str>>> = chains
        .iter()
        .map(|c| {
            c.iter().map(|b| (b.header.height, b.transactions.iter().map(|t| t.hash.as_str()).collect())).collect()
        })
        .collect();
    let rpc0 = net.rpc(0).ok();
    for t in &load.txs {
        match t.final_height {
            Some(h) => {
                let missing: Vec<usize> = (0..VALIDATORS)
                    .filter(|i| !per_node[*i].get(&h).is_some_and(|txs| txs.contains(t.hash.as_str())))
                    .map(|i| i + 1)
                    .collect();
                if missing.is_empty() {
                    report.checked_tx += 1;
                } else {
                    report.lost.push(format!(
                        "{} was final at height {h}; validators {missing:?} do not have it there",
                        t.hash
                    ));
                }
                let mut status = t.status.clone();
                let mut reason = t.reason.clone();
                if status.as_deref().is_none_or(|s| s == "no receipt") {
                    // The validator that served the block was killed before its receipt was read.
                    if let Some(rpc) = &rpc0 {
                        if let Ok(Some(r)) = rpc.api().receipt(NET.into(), t.hash.clone(), None).await {
                            status = Some(r.status);
                            reason = r.reason;
                        }
                    }
                }
                match status.as_deref() {
                    Some("success") => {}
                    Some(s @ ("reverted" | "failed")) => match reason {
                        Some(r) if !r.is_empty() => report.reverted.push(format!("{} {s}: {r}", t.hash)),
                        _ => report.problems.push(format!("{} {s} without a reason", t.hash)),
                    },
                    other => report.problems.push(format!("{} is final but has no receipt ({other:?})", t.hash)),
                }
            }
            None if t.accepted => report.lost.push(format!(
                "{} (sender {}, nonce {}) was accepted and never finalised (submitted {} times; last refusal {:?})",
                t.hash, t.sender, t.nonce, t.submits, t.last_refusal
            )),
            None => {}
        }
    }
    report
}
