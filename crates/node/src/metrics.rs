//! Prometheus metrics of one node, per network, in the text exposition format. Counters and
//! gauges are atomics so the hot path never takes a lock.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Finality latency buckets (ms): block timestamp → commit on this node.
const LATENCY_BUCKETS_MS: [u64; 12] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000];

#[derive(Default)]
pub struct Metrics {
    pub height: AtomicU64,
    pub view: AtomicU64,
    pub view_changes: AtomicU64,
    pub blocks: AtomicU64,
    pub transactions: AtomicU64,
    pub mempool: AtomicU64,
    /// Encoded bytes waiting in the mempool (read when the page is rendered).
    pub mempool_bytes: AtomicU64,
    pub peers: AtomicU64,
    pub tx_refused: AtomicU64,
    /// Time spent storing finalised blocks (`ChainStore::commit_block`), summed.
    pub commit_ns: AtomicU64,
    /// Compact proposals rebuilt from the mempool, and those that lacked a transaction (the
    /// whole proposal was then asked of the leader).
    pub compact_rebuilt: AtomicU64,
    pub compact_missed: AtomicU64,
    /// Peer messages about this network refused because their sender is no node of it.
    pub refused_outsiders: AtomicU64,
    latency_buckets: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
}

impl Metrics {
    pub fn observe_finality(&self, ms: u64) {
        for (i, b) in LATENCY_BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                self.latency_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_ms.fetch_add(ms, Relaxed);
    }

    /// Finality latency so far: (blocks, summed ms, cumulative count per bucket's upper bound).
    pub fn finality(&self) -> (u64, u64, Vec<(u64, u64)>) {
        let buckets =
            LATENCY_BUCKETS_MS.iter().zip(&self.latency_buckets).map(|(le, n)| (*le, n.load(Relaxed))).collect();
        (self.latency_count.load(Relaxed), self.latency_sum_ms.load(Relaxed), buckets)
    }

    /// Appends this network's series to a Prometheus text page.
    pub fn render(&self, network: &str, out: &mut String) {
        use std::fmt::Write;
        let l = format!("network=\"{network}\"");
        let g = |out: &mut String, name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{{l}}} {v}");
        };
        g(out, "jjj_finalized_height", "Height of the last finalised block.", "gauge", self.height.load(Relaxed));
        g(out, "jjj_consensus_view", "Current consensus view at the next height.", "gauge", self.view.load(Relaxed));
        g(out, "jjj_view_changes_total", "View changes seen.", "counter", self.view_changes.load(Relaxed));
        g(out, "jjj_blocks_total", "Blocks finalised.", "counter", self.blocks.load(Relaxed));
        g(out, "jjj_transactions_total", "Transactions finalised.", "counter", self.transactions.load(Relaxed));
        g(
            out,
            "jjj_transactions_refused_total",
            "Transactions refused at admission.",
            "counter",
            self.tx_refused.load(Relaxed),
        );
        g(out, "jjj_mempool_transactions", "Transactions waiting in the mempool.", "gauge", self.mempool.load(Relaxed));
        g(
            out,
            "jjj_mempool_bytes",
            "Encoded bytes of transactions waiting in the mempool.",
            "gauge",
            self.mempool_bytes.load(Relaxed),
        );
        g(out, "jjj_peers", "Connected peers.", "gauge", self.peers.load(Relaxed));
        g(
            out,
            "jjj_compact_proposals_rebuilt_total",
            "Leaders' compact proposals rebuilt from this node's mempool.",
            "counter",
            self.compact_rebuilt.load(Relaxed),
        );
        g(
            out,
            "jjj_compact_proposals_missed_total",
            "Compact proposals this node lacked transactions of (asked whole of the leader).",
            "counter",
            self.compact_missed.load(Relaxed),
        );
        g(
            out,
            "jjj_refused_outsider_messages_total",
            "Peer messages about this network refused because their sender is none of its nodes.",
            "counter",
            self.refused_outsiders.load(Relaxed),
        );
        let name = "jjj_finality_latency_ms";
        let _ =
            writeln!(out, "# HELP {name} Block timestamp to local finality, milliseconds.\n# TYPE {name} histogram");
        for (i, b) in LATENCY_BUCKETS_MS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{{l},le=\"{b}\"}} {}", self.latency_buckets[i].load(Relaxed));
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{l},le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum{{{l}}} {}", self.latency_sum_ms.load(Relaxed));
        let _ = writeln!(out, "{name}_count{{{l}}} {count}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_shows_the_mempool_in_bytes() {
        let m = Metrics::default();
        m.mempool_bytes.store(123_456, Relaxed);
        let mut page = String::new();
        m.render("jj", &mut page);
        assert!(page.contains("jjj_mempool_bytes{network=\"jj\"} 123456"), "{page}");
    }
}
