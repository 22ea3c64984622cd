//! Runtime benchmarks: criterion for the statistics, then one table of medians.
//!
//! - bill payment, contract call only: `pay` of the utility-bills contract as a dry run on a
//!   cached module (instantiate + call + storage + transfers; no signature, nothing persisted).
//! - bill payment, signed transaction: the same call as a block would apply it (signature
//!   check, nonce, call, receipt), on an overlay.
//! - instantiate from cache: the counter's `get` (instantiate + the smallest call).
//! - upload + compile: validation and compilation of each contract's wasm.
//! - the consortium layer's checks per transaction: admission (`gov::check_sender`: the
//!   registration, its member) and the function permission of a method, open (one policy
//!   lookup) and under a policy naming a role (the policy and the caller's registration), on a
//!   state holding those records.
//!
//! Needs the contracts built: `scripts/build-contracts.sh`. Run: `scripts/bench.sh` or
//! `cargo bench -p jjj-executive`.
use criterion::{BenchmarkId, Criterion, Throughput};
use jjj_primitives::gov::Action;
use jjj_primitives::*;
use jjj_state::Overlay;
use jjj_testkit::{contract_wasm, TestAccount, TestChain};
use parity_scale_codec::Encode;
use std::hint::black_box;
use std::time::{Duration, Instant};
use utility_bills::{msg, Region, UtilityKind};

const BILL_AMOUNT: u64 = 12_345;
/// Bills (and pre-signed payments) for a measured run; `cargo test --benches` uses a few.
const PRESIGNED: usize = 2_000;
const PRESIGNED_QUICK: usize = 50;

struct Setup {
    chain: TestChain,
    resident: TestAccount,
    bills: AccountId,
    counter: AccountId,
    presigned: Vec<SignedTransaction>,
}

impl Setup {
    fn n(&self) -> usize {
        self.presigned.len()
    }
}

fn setup(n_bills: usize) -> Setup {
    let mut chain = TestChain::new();
    let admin = chain.account("admin", 0);
    let water = chain.account("beijing-water", 0);
    let resident = chain.account("hebei-resident", u64::MAX / 2);
    let code = chain.upload(&admin, &contract_wasm("utility_bills")).expect("upload");
    let bills = chain.instantiate(&admin, code, 0, msg::new()).expect("instantiate");
    chain.set_roles(&water.id, &["utility-provider"]);
    chain.call_ok::<()>(
        &water,
        &bills,
        0,
        msg::register_provider(water.id, "北京自来水".into(), Region::Beijing, vec![UtilityKind::Water], 5),
    );
    let due = chain.time() + 30 * utility_bills::DAY_MS;
    for _ in 0..n_bills {
        chain.call_ok::<u64>(
            &water,
            &bills,
            0,
            msg::issue_bill(resident.id, UtilityKind::Water, BILL_AMOUNT, "2026-01".into(), due),
        );
    }
    let counter_code = chain.upload(&admin, &contract_wasm("counter")).expect("upload");
    let counter = chain.instantiate(&admin, counter_code, 0, counter::msg::new(0)).expect("instantiate");
    let presigned = (0..n_bills)
        .map(|i| {
            resident.key.sign_tx(Transaction {
                network: chain.network().clone(),
                sender: resident.id,
                nonce: i as u64,
                gas_limit: 5_000_000,
                call: Call::Call { contract: bills, input: msg::pay(i as u64 + 1), value: BILL_AMOUNT },
            })
        })
        .collect();
    Setup { chain, resident, bills, counter, presigned }
}

fn ctx(chain: &TestChain) -> BlockContext {
    BlockContext { network: chain.network().clone(), height: chain.height() + 1, timestamp: chain.time() }
}

/// One bill payment as a dry run (cached module).
fn pay_dry(s: &Setup) -> Receipt {
    let call = Call::Call { contract: s.bills, input: msg::pay(1), value: BILL_AMOUNT };
    let r = s
        .chain
        .runtime()
        .dry_run(s.chain.state(), &ctx(&s.chain), s.resident.id, call, 5_000_000, jjj_executive::ReadAccess::Signed)
        .expect("dry run");
    r.receipt
}

fn counter_get(s: &Setup) -> Receipt {
    let call = Call::Call { contract: s.counter, input: counter::msg::get(), value: 0 };
    s.chain
        .runtime()
        .dry_run(s.chain.state(), &ctx(&s.chain), s.resident.id, call, 5_000_000, jjj_executive::ReadAccess::Signed)
        .expect("dry run")
        .receipt
}

/// Applies `n` signed payments in sequence, fresh overlay every PRESIGNED; returns elapsed.
fn pay_signed(s: &Setup, n: u64) -> Duration {
    let c = ctx(&s.chain);
    let mut overlay = Overlay::new(s.chain.state());
    let start = Instant::now();
    for i in 0..n as usize {
        if i > 0 && i % s.n() == 0 {
            overlay = Overlay::new(s.chain.state());
        }
        let r = s.chain.runtime().apply_transaction(&mut overlay, &c, &s.presigned[i % s.n()]).expect("apply");
        debug_assert!(r.is_success());
        black_box(r);
    }
    start.elapsed()
}

/// A state with a policy on `pay` (role resident); the resident holds the role.
fn with_pay_policy(s: &Setup) -> (std::sync::Arc<jjj_state::MemoryState>, Action, Action) {
    let pay = Action::Method { contract: s.bills, selector: msg::pay(0)[..4].try_into().expect("selector") };
    let open = Action::Method { contract: s.bills, selector: msg::amount_due(0)[..4].try_into().expect("selector") };
    let policy = jjj_primitives::gov::Policy { roles: vec!["resident".into()], members: vec![] };
    let overlay = Overlay::new(s.chain.state());
    let mut reg = jjj_state::gov::load_registration(&overlay, &s.resident.id).expect("state").expect("registered");
    reg.roles.push("resident".into());
    let changes: jjj_state::ChangeSet = [
        (jjj_state::gov::keys::policy(&pay), Some(policy.encode())),
        (jjj_state::gov::keys::registration(&s.resident.id), Some(reg.encode())),
    ]
    .into_iter()
    .collect();
    let mut state = (*s.chain.state()).clone();
    state.apply(&changes).expect("apply");
    (std::sync::Arc::new(state), pay, open)
}

/// Median time of `f` over `n` runs of `batch` calls each, per call.
fn per_call(n: usize, batch: u32, mut f: impl FnMut()) -> Duration {
    sample(n, || {
        timed(|| {
            for _ in 0..batch {
                f()
            }
        }) / batch
    })
}

fn contracts() -> Vec<(&'static str, Vec<u8>)> {
    ["utility_bills", "waste_disposal", "ecommerce_agreement", "counter"]
        .iter()
        .map(|n| (*n, contract_wasm(n)))
        .collect()
}

fn benches(c: &mut Criterion, s: &Setup) {
    let first = pay_dry(s);
    assert!(first.is_success(), "bill payment failed: {:?}", first.status);

    let mut g = c.benchmark_group("bill_payment");
    g.throughput(Throughput::Elements(1));
    g.bench_function("contract_call_cached_module", |b| b.iter(|| black_box(pay_dry(s))));
    g.bench_function("signed_tx_apply", |b| b.iter_custom(|n| pay_signed(s, n)));
    g.finish();

    let mut g = c.benchmark_group("instantiate_from_cache");
    g.bench_function("counter_get", |b| b.iter(|| black_box(counter_get(s))));
    g.finish();

    let mut g = c.benchmark_group("upload_compile");
    g.sample_size(10);
    for (name, code) in contracts() {
        g.throughput(Throughput::Bytes(code.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &code, |b, code| {
            b.iter(|| {
                s.chain.runtime().vm().compile(code).map(|_| ()).expect("compile");
                black_box(())
            })
        });
    }
    g.finish();
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn sample(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    median((0..n).map(|_| f()).collect())
}

fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1.0 {
        format!("{:.0} ns", us * 1000.0)
    } else if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn table(s: &Setup, quick: bool) {
    let n = if quick { 5 } else { 2_000 };
    let pay = sample(n, || timed(|| drop(black_box(pay_dry(s)))));
    let signed = sample(if quick { 3 } else { 200 }, || pay_signed(s, 10) / 10);
    let get = sample(n, || timed(|| drop(black_box(counter_get(s)))));
    let gas = pay_dry(s).gas_used;
    println!("\n| benchmark | median | per second |");
    println!("|---|---:|---:|");
    println!(
        "| bill payment: contract call, cached module ({gas} gas) | {} | {:.0} calls/s |",
        fmt(pay),
        1.0 / pay.as_secs_f64()
    );
    println!(
        "| bill payment: signed tx (signature, nonce, call, receipt) | {} | {:.0} tx/s |",
        fmt(signed),
        1.0 / signed.as_secs_f64()
    );
    println!(
        "| instantiate from cache + smallest call (counter get) | {} | {:.0} calls/s |",
        fmt(get),
        1.0 / get.as_secs_f64()
    );
    for (name, code) in contracts() {
        let d = sample(if quick { 1 } else { 10 }, || timed(|| drop(s.chain.runtime().vm().compile(&code))));
        println!("| upload + compile {name} ({} bytes) | {} | {:.0} /s |", code.len(), fmt(d), 1.0 / d.as_secs_f64());
    }
    let (state, pay, open) = with_pay_policy(s);
    let overlay = Overlay::new(state);
    let who = s.resident.id;
    assert_eq!(jjj_executive::gov::check_permission(&overlay, &who, &pay).expect("state"), Ok(()));
    let (runs, batch) = if quick { (3, 10) } else { (200, 1_000) };
    let rows: [(&str, Duration); 3] = [
        (
            "admission: registration and member checked (check_sender)",
            per_call(runs, batch, || drop(black_box(jjj_executive::gov::check_sender(&overlay, &who, Some(&who))))),
        ),
        (
            "function permission: open method (policy lookup)",
            per_call(runs, batch, || drop(black_box(jjj_executive::gov::check_permission(&overlay, &who, &open)))),
        ),
        (
            "function permission: method under a role policy (policy + registration)",
            per_call(runs, batch, || drop(black_box(jjj_executive::gov::check_permission(&overlay, &who, &pay)))),
        ),
    ];
    for (name, d) in rows {
        println!("| {name} | {} | {:.0} /s |", fmt(d), 1.0 / d.as_secs_f64());
    }
}

fn main() {
    // `cargo test --benches` passes no --bench flag: run everything once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let s = setup(if quick { PRESIGNED_QUICK } else { PRESIGNED });
    let mut c = Criterion::default().configure_from_args();
    if !quick {
        c = c.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    }
    benches(&mut c, &s);
    c.final_summary();
    table(&s, quick);
}
