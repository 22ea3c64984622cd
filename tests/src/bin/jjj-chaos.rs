//! `jjj-chaos`: the kill -9 campaign (see `jjj_tests::chaos`). `scripts/chaos.sh` builds and
//! runs it.
use jjj_tests::chaos::{run_campaign, CampaignConfig};
use std::io::Write;

const USAGE: &str = "\
usage: jjj-chaos [--kills N] [--seed S] [--perturb] [--base-port P] [--rate TX_PER_S]

Starts a fresh 4-validator devnet (real jjj-node processes, RocksDB in a temporary directory),
deploys utility-bills and runs a load of bill issues and payments while validators (the leader
included) are killed with SIGKILL at random moments and restarted after a random pause, one at
a time. Prints one line per kill, then checks every validator over RPC and ends with:

  N kills, N finalised tx checked, N lost, roots equal: yes|no

Exit status: 0 when nothing was lost, every validator holds the same blocks and state roots and
the chain kept finalising after every restart; 1 otherwise; 2 on bad arguments.

  --kills N        kills to perform (default 50)
  --seed S         seed of every random choice (default: random, printed)
  --perturb        validator links go through a fault proxy, and before each kill, half of the
                   time, a random perturbation runs for 1-5 s and is healed: latency on every
                   link, a validator cut off, the leader partitioned one way, the leader isolated
  --base-port P    p2p ports P..P+3, RPC P+10.., metrics P+20.. (default 31000; keep below the
                   ephemeral range, 32768+ on Linux, where the proxies and outgoing
                   connections take their ports)
  --rate R         new transactions per second (default 20)";

fn main() {
    let mut cfg = CampaignConfig::new(50, jjj_tests::rng::fresh_seed());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--perturb" {
            cfg.perturb = true;
            i += 1;
            continue;
        }
        let value = args.get(i + 1);
        let parsed = match args[i].as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            "--kills" => value.and_then(|v| v.parse().ok()).map(|v| cfg.kills = v),
            "--seed" => value.and_then(|v| v.parse().ok()).map(|v| cfg.seed = v),
            "--base-port" => value.and_then(|v| v.parse().ok()).map(|v| cfg.base_port = v),
            "--rate" => value.and_then(|v| v.parse::<f64>().ok()).filter(|v| *v > 0.0).map(|v| cfg.rate_per_s = v),
            _ => None,
        };
        if parsed.is_none() {
            eprintln!("jjj-chaos: bad argument {:?} {:?}\n\n{USAGE}", args[i], value);
            std::process::exit(2);
        }
        i += 2;
    }
    println!("seed {}", cfg.seed);
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jjj-chaos: tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    let say = |line: &str| {
        println!("{line}");
        let _ = std::io::stdout().flush();
    };
    // On Ctrl-C the campaign future is dropped, and with it the devnet, which kills its
    // validators: no jjj-node is left behind holding the ports.
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run_campaign(cfg, &say) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let Some(outcome) = outcome else {
        eprintln!("jjj-chaos: interrupted");
        std::process::exit(130);
    };
    match outcome {
        Ok(report) => {
            println!("{}", report.summary());
            if !report.ok() {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("jjj-chaos: {e}");
            std::process::exit(1);
        }
    }
}
