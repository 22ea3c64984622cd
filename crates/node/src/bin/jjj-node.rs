//! jjj-node: runs a validator (or follower) of one or more jjj networks.
use clap::Parser;
use std::path::PathBuf;

/// Runs a jjj node: PBFT finality over one or more networks, a RocksDB ledger per network,
/// authenticated p2p, JSON-RPC (HTTP + WebSocket) and Prometheus metrics.
///
/// The config file (TOML) is written by `jjj network init`; see crates/config/src/node_config.rs for every
/// field. Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=info,jjj_node=debug) to choose levels.
#[derive(Parser)]
#[command(name = "jjj-node", version)]
struct Args {
    /// The node's TOML config file.
    #[arg(long, short)]
    config: PathBuf,
    /// Start even if a network's consensus record (what this validator signed, kept so a
    /// restart never votes twice) is unreadable, e.g. after disk damage. The validator then
    /// signs nothing at the height the record was for: it follows the chain until that height is
    /// final and votes from the next one on. Without this flag such a node refuses to start.
    #[arg(long)]
    reset_safety_record: bool,
    /// Serve the web pages in this directory (`scripts/build-web.sh` writes them) on the RPC
    /// port: the wallet, explorer, governance, operator and auditor pages at `/`. Overrides the
    /// config's `web_dir`.
    #[arg(long)]
    web_dir: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jjj-node: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result: Result<(), String> = runtime.block_on(async {
        let mut config = jjj_config::NodeConfig::load(&args.config)?;
        if let Some(dir) = args.web_dir {
            config.web_dir = Some(dir);
        }
        let flags = jjj_node::service::StartFlags { reset_safety_record: args.reset_safety_record };
        let running = jjj_node::service::start_with(config, flags).await?;
        wait_for_signal().await;
        tracing::info!("shutting down");
        running.shutdown().await;
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("jjj-node: {e}");
        std::process::exit(1);
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
