//! jjj-fuzz-harness: fuzzing on stable Rust, as plain `#[test]`s (a dev-dependency).
//!
//! A target is a generator (a per-case seeded RNG → input bytes) and a check (input bytes → must
//! not panic). Splitting the two means a failing case is fully described by its bytes: they are
//! printed as hex and written to a file, and the case can be re-run alone from its seed.
//!
//! ```ignore
//! Target::new("wire").run(
//!     |rng| mutate_from(rng, &corpus, INTERESTING),
//!     |bytes| { let _ = WireMessage::decode_bounded(bytes); },
//! );
//! ```
//!
//! Environment: `JJJ_FUZZ_CASES` (cases per target, default [`DEFAULT_CASES`] or what the target
//! says), `JJJ_FUZZ_SEED` (default [`DEFAULT_SEED`], so CI is deterministic), `JJJ_FUZZ_CASE`
//! (run only that case index: replays one failure), `JJJ_FUZZ_VERBOSE` (timings and
//! what the cases reached). Each target prints exactly one line,
//! `fuzz <target>: <cases> cases, <panics> panics (seed S)`, and fails if any case panicked.
//!
//! Without libFuzzer there is no coverage feedback, so generators are structure-aware instead:
//! they start from valid encodings and damage them ([`mutate`]), which reaches far deeper into a
//! decoder than random bytes do.
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::Instant;

pub use rand;
pub use serde_json;

/// Cases per target when `JJJ_FUZZ_CASES` is not set: enough for CI to catch a regression in a
/// few seconds per target.
pub const DEFAULT_CASES: u64 = 2_000;
/// The seed when `JJJ_FUZZ_SEED` is not set: fixed, so a CI failure reproduces.
pub const DEFAULT_SEED: u64 = 0x6a6a_6a2f_6675_7a7a;
/// Failing cases reported in full (the rest are only counted).
const REPORTED_FAILURES: usize = 5;
/// Hex printed per failing input; the whole input goes to a file.
const PRINTED_HEX_BYTES: usize = 512;

/// One fuzz target: its name, how many cases, from which seed.
pub struct Target {
    name: String,
    cases: u64,
    seed: u64,
    only_case: Option<u64>,
    regressions: Vec<Vec<u8>>,
}

/// What a run found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub cases: u64,
    pub panics: u64,
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().replace('_', "");
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    match parsed {
        Ok(n) => Some(n),
        Err(e) => panic!("{name}={v:?} is not a number: {e}"),
    }
}

impl Target {
    /// A target with [`DEFAULT_CASES`] cases unless `JJJ_FUZZ_CASES` says otherwise.
    pub fn new(name: &str) -> Target {
        Target::with_default_cases(name, DEFAULT_CASES)
    }

    /// A target whose cases are expensive (a compile, a node round trip): fewer cases by default;
    /// `JJJ_FUZZ_CASES` still sets the number exactly.
    pub fn with_default_cases(name: &str, default_cases: u64) -> Target {
        Target {
            name: name.to_string(),
            cases: env_u64("JJJ_FUZZ_CASES").unwrap_or(default_cases),
            seed: env_u64("JJJ_FUZZ_SEED").unwrap_or(DEFAULT_SEED),
            only_case: env_u64("JJJ_FUZZ_CASE"),
            regressions: Vec::new(),
        }
    }

    /// Inputs that once failed: checked first, every run, and counted as cases.
    pub fn regressions<I: AsRef<[u8]>>(mut self, inputs: impl IntoIterator<Item = I>) -> Target {
        self.regressions.extend(inputs.into_iter().map(|i| i.as_ref().to_vec()));
        self
    }

    /// The RNG of case `index`: a function of the seed and the index only, so any case can be
    /// replayed alone (`JJJ_FUZZ_CASE`).
    pub fn case_rng(&self, index: u64) -> StdRng {
        StdRng::seed_from_u64(splitmix64(self.seed ^ splitmix64(index)))
    }

    /// Runs every case, prints the summary line and panics (failing the test) if any case did.
    pub fn run(self, generate: impl FnMut(&mut StdRng) -> Vec<u8>, check: impl FnMut(&[u8])) -> Report {
        let report = self.run_quietly(generate, check);
        println!("fuzz {}: {} cases, {} panics (seed {})", self.name, report.cases, report.panics, self.seed);
        assert_eq!(
            report.panics, 0,
            "fuzz {}: {} of {} cases panicked (seed {}); see the failing inputs above",
            self.name, report.panics, report.cases, self.seed
        );
        report
    }

    /// Runs every case and returns the counts; prints only failing cases.
    pub fn run_quietly(
        &self,
        mut generate: impl FnMut(&mut StdRng) -> Vec<u8>,
        mut check: impl FnMut(&[u8]),
    ) -> Report {
        install_hook();
        let _active = Active::enter();
        let started = Instant::now();
        let mut report = Report { cases: 0, panics: 0 };
        let mut failures = 0usize;
        let mut record = |what: &str, input: &[u8], message: String, report: &mut Report| {
            report.panics += 1;
            failures += 1;
            if failures <= REPORTED_FAILURES {
                let file = save_input(&format!("{}-seed{}-{what}", self.name, self.seed), input);
                let shown = &input[..input.len().min(PRINTED_HEX_BYTES)];
                let more = if input.len() > shown.len() { "…" } else { "" };
                eprintln!(
                    "fuzz {}: {what} panicked: {message}\n  input ({} bytes, saved to {}): {}{more}",
                    self.name,
                    input.len(),
                    file,
                    to_hex(shown)
                );
            }
        };
        if self.only_case.is_none() {
            for (i, input) in self.regressions.iter().enumerate() {
                report.cases += 1;
                if let Some(message) = check_one(&mut check, input) {
                    record(&format!("regression {i}"), input, message, &mut report);
                }
            }
        }
        let range = match self.only_case {
            Some(i) => i..i.saturating_add(1),
            None => 0..self.cases,
        };
        for index in range {
            let mut rng = self.case_rng(index);
            let input = match catch(|| generate(&mut rng)) {
                Ok(input) => input,
                Err(message) => {
                    // A generator bug, not a finding; it still fails the run.
                    report.cases += 1;
                    record(&format!("generator of case {index}"), &[], message, &mut report);
                    continue;
                }
            };
            report.cases += 1;
            if let Some(message) = check_one(&mut check, &input) {
                record(
                    &format!("case {index} (JJJ_FUZZ_SEED={} JJJ_FUZZ_CASE={index})", self.seed),
                    &input,
                    message,
                    &mut report,
                );
            }
        }
        if verbose() {
            eprintln!("fuzz {}: {:.1} s", self.name, started.elapsed().as_secs_f64());
        }
        report
    }
}

/// `JJJ_FUZZ_VERBOSE` is set: targets may print timings and what their cases reached.
pub fn verbose() -> bool {
    std::env::var_os("JJJ_FUZZ_VERBOSE").is_some()
}

fn check_one(check: &mut impl FnMut(&[u8]), input: &[u8]) -> Option<String> {
    let stray_before = STRAY_PANICS.load(Ordering::SeqCst);
    let own_before = CASE_PANICS.with(Cell::get);
    let result = catch(|| check(input));
    match result {
        Err(message) => Some(message),
        Ok(()) if CASE_PANICS.with(Cell::get) != own_before => {
            let message = CASE_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
            Some(format!("caught inside the case: {message}"))
        }
        Ok(()) if STRAY_PANICS.load(Ordering::SeqCst) != stray_before => {
            let message = LAST_STRAY_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
            Some(format!("on another thread: {message}"))
        }
        Ok(()) => None,
    }
}

/// Runs `f` as a case: a panic is caught and its message returned.
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    IN_CASE.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    IN_CASE.with(|c| c.set(false));
    result.map_err(|_| CASE_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "(no message)".into()))
}

/// SplitMix64: spreads (seed, case index) over the whole RNG seed space.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses hex (for regression inputs written as hex in the tests).
pub fn from_hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}")))
        .collect()
}

/// Writes a failing input to `$TMPDIR/jjj-fuzz/<name>.bin` (non-alphanumerics in the name
/// become `-`); returns the path, or why it could not.
fn save_input(name: &str, input: &[u8]) -> String {
    let dir = std::env::temp_dir().join("jjj-fuzz");
    let name: String = name
        .split(" (")
        .next()
        .unwrap_or(name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .collect();
    let path = dir.join(format!("{name}.bin"));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(not saved: {e})"),
    }
}

// The panic hook. A panic inside a case, on the thread running it, is caught by
// `catch_unwind`; the hook only keeps its message instead of printing it (a target that finds a
// bug on every case would otherwise print thousands of backtraces). A panic on any other thread
// while a target runs (a task runtime's worker, a blocking pool) is "stray": counted, so the
// case running then fails even if something caught the panic, and printed a few times. Panics
// outside cases go to the previous hook (the test harness's) unchanged.
//
// Tests of one binary run in parallel, so a stray panic fails whichever cases of any target run
// at that moment: run a failing target alone (`cargo test … <name>`) to attribute it.

static STRAY_PANICS: AtomicU64 = AtomicU64::new(0);
static ACTIVE_RUNS: AtomicUsize = AtomicUsize::new(0);
static LAST_STRAY_PANIC: Mutex<String> = Mutex::new(String::new());
static HOOK: Once = Once::new();
/// Stray panics printed in full; later ones are only counted.
const PRINTED_STRAY_PANICS: u64 = 3;

thread_local! {
    /// This thread is inside a case's `catch_unwind`.
    static IN_CASE: Cell<bool> = const { Cell::new(false) };
    static CASE_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Panics on this thread inside cases, caught or not (a task runtime on this thread catches
    /// a task's panic before `catch_unwind` could).
    static CASE_PANICS: Cell<u64> = const { Cell::new(0) };
}

struct Active;

impl Active {
    fn enter() -> Active {
        ACTIVE_RUNS.fetch_add(1, Ordering::SeqCst);
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE_RUNS.fetch_sub(1, Ordering::SeqCst);
    }
}

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string panic payload)".into());
            let location = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
            let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
            let full = format!("{message}{location} (thread {thread})");
            if IN_CASE.with(Cell::get) {
                CASE_PANICS.with(|n| n.set(n.get() + 1));
                CASE_PANIC.with(|p| *p.borrow_mut() = Some(full));
            } else if ACTIVE_RUNS.load(Ordering::SeqCst) > 0 {
                if let Ok(mut last) = LAST_STRAY_PANIC.lock() {
                    *last = full;
                }
                if STRAY_PANICS.fetch_add(1, Ordering::SeqCst) < PRINTED_STRAY_PANICS {
                    previous(info);
                }
            } else {
                previous(info);
            }
        }));
    });
}

/// The contracts built to wasm (`scripts/build-contracts.sh`), as seeds for targets that take
/// wasm: from `$JJJ_CONTRACTS_DIR`, `$CARGO_TARGET_DIR/contracts`, the workspace's
/// `target/contracts`, or cargo's own wasm output; empty when none is built (the hand-written
/// seeds then carry the target).
pub fn built_contracts() -> Vec<Vec<u8>> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let mut dirs: Vec<PathBuf> = std::env::var_os("JJJ_CONTRACTS_DIR").map(PathBuf::from).into_iter().collect();
    dirs.push(target.join("contracts"));
    dirs.push(target.join("wasm32-unknown-unknown/contract"));
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "wasm")).collect();
        paths.sort(); // a fixed corpus order keeps runs reproducible
        let found: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

// Byte mutation.

/// Numbers that sit on boundaries decoders get wrong: zero, one, powers of two and their
/// neighbours, the ends of each integer width, and SCALE's compact-mode boundaries.
pub const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    15,
    16,
    31,
    32,
    33,
    63,
    64,
    65,
    127,
    128,
    255,
    256,
    1023,
    1024,
    4095,
    4096,
    16383,
    16384,
    65535,
    65536,
    (1 << 20) - 1,
    1 << 20,
    (1 << 24) - 1,
    1 << 24,
    (1 << 30) - 1,
    1 << 30,
    i32::MAX as u64,
    1 << 31,
    u32::MAX as u64 - 1,
    u32::MAX as u64,
    1 << 32,
    i64::MAX as u64,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
];

/// A number for a mutation: usually from the interesting list or the target's own limits
/// (`extra`), each possibly nudged by one; sometimes anything.
pub fn interesting_number(rng: &mut StdRng, extra: &[u64]) -> u64 {
    let base = match rng.gen_range(0..8) {
        0 => return rng.gen(),
        1..=3 if !extra.is_empty() => extra[rng.gen_range(0..extra.len())],
        _ => INTERESTING[rng.gen_range(0..INTERESTING.len())],
    };
    match rng.gen_range(0..4) {
        0 => base.wrapping_sub(1),
        1 => base.wrapping_add(1),
        _ => base,
    }
}

/// SCALE's compact encoding of `n` (the length prefix of every `Vec` and `String`).
pub fn scale_compact(n: u64) -> Vec<u8> {
    match n {
        0..=0x3f => vec![(n as u8) << 2],
        0x40..=0x3fff => ((n as u16) << 2 | 0b01).to_le_bytes().to_vec(),
        0x4000..=0x3fff_ffff => ((n as u32) << 2 | 0b10).to_le_bytes().to_vec(),
        _ => {
            let bytes = n.to_le_bytes();
            let used = 8 - (n.leading_zeros() / 8) as usize;
            let mut out = vec![(((used - 4) as u8) << 2) | 0b11];
            out.extend_from_slice(&bytes[..used]);
            out
        }
    }
}

/// Unsigned LEB128 (wasm's integer encoding: section sizes, counts, limits).
pub fn leb128(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn overwrite(bytes: &mut Vec<u8>, at: usize, with: &[u8]) {
    let end = (at + with.len()).min(bytes.len());
    bytes.splice(at..end, with.iter().copied());
}

/// Damages `bytes` once: a bit flip, a boundary byte, an inserted/deleted/duplicated range, a
/// truncation or extension, a boundary number written as SCALE compact, LEB128 or a fixed-width
/// integer, or a splice with another input from `corpus`. `extra` holds the target's own limits.
pub fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>, corpus: &[Vec<u8>], extra: &[u64]) {
    if bytes.is_empty() {
        let n = rng.gen_range(1..=16);
        bytes.extend((0..n).map(|_| rng.gen::<u8>()));
        return;
    }
    let len = bytes.len();
    let at = rng.gen_range(0..len);
    match rng.gen_range(0..15) {
        0 | 1 => bytes[at] ^= 1 << rng.gen_range(0..8),
        2 => bytes[at] = rng.gen(),
        3 => bytes[at] = [0x00, 0x01, 0x03, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xfc, 0xfd, 0xfe, 0xff][rng.gen_range(0..12)],
        4 => {
            let n = rng.gen_range(1..=16);
            let fresh: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            bytes.splice(at..at, fresh);
        }
        5 => {
            let end = (at + rng.gen_range(1..=32)).min(len);
            bytes.drain(at..end);
        }
        6 => bytes.truncate(at),
        7 => {
            let n = rng.gen_range(1..=64);
            bytes.extend((0..n).map(|_| rng.gen::<u8>()));
        }
        8 => {
            // Duplicate a range elsewhere: repeated fields, repeated list elements.
            let end = (at + rng.gen_range(1..=64)).min(len);
            let chunk = bytes[at..end].to_vec();
            let to = rng.gen_range(0..=len);
            bytes.splice(to..to, chunk);
        }
        9 => overwrite(bytes, at, &scale_compact(interesting_number(rng, extra))),
        10 => overwrite(bytes, at, &leb128(interesting_number(rng, extra))),
        11 => overwrite(bytes, at, &(interesting_number(rng, extra) as u32).to_le_bytes()),
        12 => overwrite(bytes, at, &(interesting_number(rng, extra) as u32).to_be_bytes()),
        13 => overwrite(bytes, at, &interesting_number(rng, extra).to_le_bytes()),
        _ => {
            // Crossover: our head, another input's tail.
            if corpus.is_empty() {
                return;
            }
            let other = &corpus[rng.gen_range(0..corpus.len())];
            let from = rng.gen_range(0..=other.len());
            bytes.truncate(at);
            bytes.extend_from_slice(&other[from..]);
        }
    }
}

/// A case's input: usually a corpus entry damaged by a few mutations (1 often, up to 16 rarely),
/// sometimes an undamaged entry or random bytes.
pub fn mutate_from(rng: &mut StdRng, corpus: &[Vec<u8>], extra: &[u64]) -> Vec<u8> {
    if corpus.is_empty() || rng.gen_ratio(1, 32) {
        let n = rng.gen_range(0..256);
        return (0..n).map(|_| rng.gen()).collect();
    }
    let mut bytes = corpus[rng.gen_range(0..corpus.len())].clone();
    if rng.gen_ratio(1, 16) {
        return bytes;
    }
    for _ in 0..mutation_count(rng) {
        mutate(rng, &mut bytes, corpus, extra);
    }
    bytes
}

/// 1 mutation half the time, then geometrically fewer, at most 16.
pub fn mutation_count(rng: &mut StdRng) -> usize {
    let mut n = 1;
    while n < 16 && rng.gen_bool(0.5) {
        n += 1;
    }
    n
}

// JSON mutation.

pub mod json {
    //! Structure-aware JSON damage: replace, drop or add values inside a valid document, so a
    //! parser's type and range checks are reached rather than only its syntax errors.
    use super::{interesting_number, mutation_count};
    use rand::rngs::StdRng;
    use rand::Rng;
    use serde_json::{json, Map, Value};

    /// A value that often breaks parameter parsing: wrong types, boundary numbers, odd strings
    /// (empty, bad hex, odd-length hex, huge), deep nesting; or one of the target's `pool`.
    pub fn odd_value(rng: &mut StdRng, pool: &[Value]) -> Value {
        if !pool.is_empty() && rng.gen_bool(0.4) {
            return pool[rng.gen_range(0..pool.len())].clone();
        }
        match rng.gen_range(0..18) {
            0 => Value::Null,
            1 => Value::Bool(rng.gen()),
            2 => json!(interesting_number(rng, &[])),
            3 => json!((interesting_number(rng, &[]) as i64).wrapping_neg()),
            4 => json!(rng.gen::<f64>() * 1e20),
            5 => json!(""),
            6 => json!("0x"),
            7 => json!("0xzz"),
            8 => json!(format!("0x{}", "0".repeat(2 * rng.gen_range(0..80) + 1))),
            9 => json!(format!("0x{}", "ab".repeat(rng.gen_range(0..80)))),
            10 => json!("x".repeat(rng.gen_range(0..5000))),
            11 => json!("京津冀"),
            12 => json!(interesting_number(rng, &[]).to_string()),
            13 => json!([]),
            14 => json!({}),
            15 => {
                let mut v = Value::Null;
                for _ in 0..rng.gen_range(1..200) {
                    v = json!([v]);
                }
                v
            }
            16 => json!(format!("-{}", interesting_number(rng, &[]))),
            _ => json!(f64::MAX),
        }
    }

    /// One step from a node to a child.
    #[derive(Clone)]
    enum Step {
        Index(usize),
        Field(String),
    }

    /// The path of every node, in pre-order.
    fn paths(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(prefix.clone());
        match v {
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    prefix.push(Step::Index(i));
                    paths(c, prefix, out);
                    prefix.pop();
                }
            }
            Value::Object(o) => {
                for (k, c) in o {
                    prefix.push(Step::Field(k.clone()));
                    paths(c, prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
    }

    fn at_path<'a>(mut v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
        for step in path {
            v = match step {
                Step::Index(i) => v.get_mut(*i)?,
                Step::Field(f) => v.get_mut(f.as_str())?,
            };
        }
        Some(v)
    }

    /// Damages a JSON document once or a few times: a node replaced by an odd value, an object
    /// key or array element dropped or added, parameters by name turned into by position and
    /// back, a value wrapped in an array.
    pub fn mutate(rng: &mut StdRng, doc: &mut Value, pool: &[Value]) {
        for _ in 0..mutation_count(rng) {
            let mut all = Vec::new();
            paths(doc, &mut Vec::new(), &mut all);
            let path = &all[rng.gen_range(0..all.len())];
            let Some(node) = at_path(doc, path) else { continue };
            let taken = std::mem::take(node);
            *node = match (rng.gen_range(0..6), taken) {
                (0 | 1, _) => odd_value(rng, pool),
                (2, Value::Object(mut o)) if !o.is_empty() => {
                    let key = o.keys().nth(rng.gen_range(0..o.len())).cloned().unwrap_or_default();
                    o.remove(&key);
                    Value::Object(o)
                }
                (2, Value::Array(mut a)) if !a.is_empty() => {
                    a.remove(rng.gen_range(0..a.len()));
                    Value::Array(a)
                }
                (3, Value::Object(mut o)) => {
                    let keys = ["network", "tx", "hash", "account", "contract", "input", "sender", "x", ""];
                    o.insert(keys[rng.gen_range(0..keys.len())].to_string(), odd_value(rng, pool));
                    Value::Object(o)
                }
                (3, Value::Array(mut a)) => {
                    let at = rng.gen_range(0..=a.len());
                    a.insert(at, odd_value(rng, pool));
                    Value::Array(a)
                }
                (4, Value::Object(o)) => Value::Array(o.into_iter().map(|(_, v)| v).collect()),
                (4, Value::Array(a)) => {
                    let names = ["network", "tx", "hash", "account", "height", "raw"];
                    let o: Map<String, Value> = a
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (names.get(i).copied().unwrap_or("extra").to_string(), v))
                        .collect();
                    Value::Object(o)
                }
                (_, other) => json!([other]),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_compact_matches_the_codec_boundaries() {
        assert_eq!(scale_compact(0), [0]);
        assert_eq!(scale_compact(63), [0xfc]);
        assert_eq!(scale_compact(64), [0x01, 0x01]);
        assert_eq!(scale_compact(16383), [0xfd, 0xff]);
        assert_eq!(scale_compact(16384), [0x02, 0x00, 0x01, 0x00]);
        assert_eq!(scale_compact(1 << 30), [0x03, 0x00, 0x00, 0x00, 0x40]);
        assert_eq!(scale_compact(u64::MAX), [0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn leb128_encodes() {
        assert_eq!(leb128(0), [0]);
        assert_eq!(leb128(127), [0x7f]);
        assert_eq!(leb128(128), [0x80, 0x01]);
        assert_eq!(leb128(624485), [0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn cases_are_reproducible_and_panics_counted() {
        let target = Target { name: "self-test".into(), cases: 50, seed: 7, only_case: None, regressions: vec![] };
        let corpus = vec![vec![1, 2, 3, 4, 5, 6, 7, 8]];
        let a: Vec<Vec<u8>> = (0..20).map(|i| mutate_from(&mut target.case_rng(i), &corpus, &[])).collect();
        let b: Vec<Vec<u8>> = (0..20).map(|i| mutate_from(&mut target.case_rng(i), &corpus, &[])).collect();
        assert_eq!(a, b);
        let report = target.run_quietly(
            |rng| vec![rng.gen_range(0..4u8)],
            |input| {
                if input[0] == 0 {
                    panic!("zero");
                }
            },
        );
        assert_eq!(report.cases, 50);
        assert!(report.panics > 0 && report.panics < 50, "{report:?}");
        // A panic caught within the case counts, as does one on another thread.
        let report = target.run_quietly(
            |_| vec![0],
            |_| {
                let _ = std::panic::catch_unwind(|| panic!("swallowed"));
            },
        );
        assert_eq!(report.panics, 50);
        let report = target.run_quietly(
            |_| vec![0],
            |_| {
                let _ = std::thread::spawn(|| panic!("elsewhere")).join();
            },
        );
        assert_eq!(report.panics, 50);
    }

    #[test]
    fn json_mutation_changes_documents() {
        let mut rng = StdRng::seed_from_u64(1);
        let original = serde_json::json!({"network": "jjj", "tx": "0x00", "list": [1, 2, {"a": null}]});
        let changed = (0..200)
            .filter(|_| {
                let mut doc = original.clone();
                json::mutate(&mut rng, &mut doc, &[]);
                doc != original
            })
            .count();
        assert!(changed > 150, "{changed} of 200 mutations changed the document");
    }
}
