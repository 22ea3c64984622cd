//! The seeded consensus simulation: agreement, valid certificates, persistence before sending,
//! no double signing across restarts, and progress after the faults heal — over `JJJ_SIM_SEEDS`
//! seeds (default 1000), plus hand-picked scenarios. The byzantine suite runs one validator
//! misbehaving for good under the same random faults, the seed budget divided among the
//! behaviours (1000 seeds: 200 each).
use jjj_consensus::sim::{self, Behaviour, Crash, Partition, Scenario};

fn seed_count() -> u64 {
    std::env::var("JJJ_SIM_SEEDS").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(1000)
}

fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Prints a run's totals and fails with its first failing seeds, if any.
fn report(what: &str, s: &sim::Summary, started: std::time::Instant) {
    println!(
        "{what}: {} seeds, {} commits, {} synced blocks, {} view changes, {} crashes, {} with an equivocating twin, {} messages, recovery after healing ≤ {} ms (virtual), {:.1} s",
        s.seeds,
        s.commits,
        s.synced_blocks,
        s.view_changes,
        s.crashes,
        s.twins,
        s.messages_delivered,
        s.max_recovery_ms,
        started.elapsed().as_secs_f64()
    );
    let shown: Vec<&String> = s.failures.iter().take(5).collect();
    assert!(s.failures.is_empty(), "{} of {} seeds failed; first ones:\n{shown:#?}", s.failures.len(), s.seeds);
}

#[test]
fn consensus_holds_over_many_seeds() {
    let seeds = seed_count();
    let started = std::time::Instant::now();
    let s = sim::run_seeds(0..seeds, threads());
    report("consensus sim", &s, started);
    assert_eq!(s.seeds, seeds);
    if seeds >= 50 {
        // The faults are real: views changed, validators crashed, twins equivocated.
        assert!(s.view_changes > 0 && s.crashes > 0 && s.twins > 0 && s.synced_blocks > 0, "{s:?}");
    }
}

/// Across a validator set change (the last validator removed, or added, at height 2 to 5, under
/// `from_seed`'s faults): agreement, validity, certificates of each height signed by the set of
/// that height, and progress after healing. A fifth of `JJJ_SIM_SEEDS`.
#[test]
fn validator_set_changes_keep_agreement_and_progress_over_many_seeds() {
    let seeds = (seed_count() / 5).max(10);
    let started = std::time::Instant::now();
    let from = 2_000_000;
    let s = sim::run_many(from..from + seeds, threads(), Scenario::with_set_change);
    report("validator-set-change sim", &s, started);
    assert_eq!(s.seeds, seeds);
}

#[test]
fn a_seed_replays_the_same_trace() {
    for seed in [3, 17, 2024] {
        let a = sim::run(&Scenario::from_seed(seed)).expect("run");
        let b = sim::run(&Scenario::from_seed(seed)).expect("run again");
        assert_eq!(a, b, "seed {seed}");
    }
    let a = sim::run(&Scenario::from_seed(3)).expect("run");
    let b = sim::run(&Scenario::from_seed(4)).expect("run");
    assert_ne!(a.trace_hash, b.trace_hash);
}

#[test]
fn a_calm_network_commits_without_view_changes() {
    for n in [1, 4, 5, 7] {
        let o = sim::run(&Scenario::calm(n as u64, n)).expect("calm run");
        assert_eq!(o.view_changes, 0, "n = {n}: {o:?}");
        assert!(o.min_height >= 5, "{o:?}");
        assert!(o.commits >= 5 * n as u64, "everyone commits each block itself: {o:?}");
    }
}

#[test]
fn an_equivocating_leader_never_splits_the_honest_validators() {
    // Validator 0 leads view 0 of heights 1, n + 1, … and shows each half of the others
    // another block there; elsewhere it votes both ways.
    for seed in 0..40 {
        for n in [4, 7] {
            let mut scenario = Scenario::calm(seed, n);
            scenario.twin = Some(0);
            scenario.heal_at_ms = 3_000;
            scenario.max_latency_ms = 80;
            sim::run(&scenario).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn a_crashed_leader_during_a_partition_recovers_after_healing() {
    for seed in 0..20 {
        let mut scenario = Scenario::calm(seed, 4);
        scenario.crashes = vec![
            Crash { validator: 0, at_ms: 300, restart_at_ms: 9_000 },
            Crash { validator: 2, at_ms: 4_000, restart_at_ms: 4_500 },
        ];
        scenario.partitions = vec![Partition { side_a: vec![0, 1], from_ms: 1_000, to_ms: 8_000 }];
        scenario.drop_per_mille = 100;
        scenario.duplicate_per_mille = 100;
        scenario.heal_at_ms = 9_000;
        scenario.target_height = 6;
        let o = sim::run(&scenario).unwrap_or_else(|e| panic!("{e}"));
        assert!(o.view_changes > 0, "{o:?}");
    }
}

#[test]
fn one_byzantine_validator_never_breaks_agreement_validity_or_progress() {
    let per_behaviour = (seed_count() / Behaviour::ALL.len() as u64).max(1);
    let started = std::time::Instant::now();
    let mut failures = vec![];
    for (k, behaviour) in Behaviour::ALL.into_iter().enumerate() {
        // Distinct seeds per behaviour, so together they cover as many network schedules.
        let from = 1_000_000 + k as u64 * per_behaviour;
        let t = std::time::Instant::now();
        let s = sim::run_many(from..from + per_behaviour, threads(), |seed| Scenario::byzantine(seed, behaviour));
        println!(
            "byzantine sim, {behaviour:?}: {:.1} s, {} seeds, {} commits, {} synced blocks, {} view changes, {} crashes, {} byzantine messages, at most {} bytes held for later heights, recovery ≤ {} ms (virtual)",
            t.elapsed().as_secs_f64(), s.seeds, s.commits, s.synced_blocks, s.view_changes, s.crashes, s.byzantine_messages, s.max_future_bytes, s.max_recovery_ms
        );
        assert_eq!(s.seeds, per_behaviour);
        if per_behaviour >= 20 && behaviour != Behaviour::Equivocator {
            assert!(s.byzantine_messages > 0, "{behaviour:?} misbehaved: {s:?}");
        }
        failures.extend(s.failures.into_iter().take(3).map(|f| format!("{behaviour:?}: {f}")));
    }
    println!(
        "byzantine sim: {per_behaviour} seeds x {} behaviours, {:.1} s",
        Behaviour::ALL.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn each_byzantine_behaviour_on_a_calm_network() {
    // No other fault: whatever the byzantine validator does, the others finalise every height.
    for behaviour in Behaviour::ALL {
        for seed in 0..10 {
            for n in [4, 7] {
                let mut scenario = Scenario::calm(seed, n);
                let v = seed as usize % n;
                if behaviour == Behaviour::Equivocator {
                    scenario.twin = Some(v);
                } else {
                    scenario.byzantine = Some((v, behaviour));
                }
                scenario.target_height = 2 * n as u64;
                let o = sim::run(&scenario).unwrap_or_else(|e| panic!("{behaviour:?}: {e}"));
                assert!(o.min_height >= 2 * n as u64, "{behaviour:?}: {o:?}");
            }
        }
    }
}

#[test]
fn byzantine_seeds_found_by_the_long_mode() {
    // Seeds the 10,000-seed mode once failed on, kept as regressions. 1,001,736: with the body
    // swapper's view changes refused and two honest validators gone ahead to the next height,
    // the other four could never gather a quorum at theirs (nodes ahead ignored them; now they
    // answer with the COMMITs that decided it).
    let seeds: Vec<(u64, Behaviour)> = vec![(1_001_736, Behaviour::BodySwapper)];
    for (seed, behaviour) in seeds {
        sim::run(&Scenario::byzantine(seed, behaviour)).unwrap_or_else(|e| panic!("{behaviour:?}: {e}"));
    }
}
