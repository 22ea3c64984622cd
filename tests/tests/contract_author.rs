//! What a contract author outside this repository does, with the real binaries: scaffold a
//! contract with `jjj contract new`, build it with `jjj contract build`, start a one-validator
//! network of real `jjj-node` processes, deploy it, call its message and query it.
use jjj_tests::bin;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const RPC_PORT: u16 = 32410;

/// Runs `jjj` with arguments; panics with its output unless it succeeded; returns stdout.
fn jjj(args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new(bin("jjj"));
    cmd.args(args).env("JJJ_RPC", format!("http://127.0.0.1:{RPC_PORT}")).env("JJJ_NETWORK", "jjj");
    // An author outside this repository: the crate's own target/contracts, not this
    // workspace's (scripts/test.sh names that one for the other tests).
    cmd.env_remove("JJJ_CONTRACTS_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run jjj");
    assert!(out.status.success(), "jjj {} failed:\n{}", args.join(" "), show(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn show(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Kills the validator however the test ends.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_author_scaffolds_builds_deploys_calls_and_queries_a_contract() {
    let work = tempfile::tempdir().expect("tempdir");
    let jjj_bin = bin("jjj");
    // The child build gets a target directory of its own under this one, kept between runs so
    // they are incremental.
    let target_dir: PathBuf = jjj_bin.parent().and_then(Path::parent).expect("target dir").join("author-test");

    // Scaffold and build, as documented for authors.
    let out = jjj(&["contract", "new", "demo-counter", "--dir", path(work.path())], &[]);
    let crate_dir = work.path().join("demo-counter");
    assert!(out.contains("created"), "{out}");
    for file in ["Cargo.toml", "src/lib.rs", "tests/native.rs", "tests/wasm.rs"] {
        assert!(crate_dir.join(file).exists(), "{file} was not written");
    }
    let manifest = crate_dir.join("Cargo.toml");
    let out = jjj(&["contract", "build", "--manifest-path", path(&manifest)], &[("CARGO_TARGET_DIR", &target_dir)]);
    let wasm = crate_dir.join("target/contracts/demo_counter.wasm");
    let metadata = crate_dir.join("target/contracts/demo_counter.json");
    assert!(out.contains("demo-counter") && out.contains("0x"), "{out}");
    assert!(wasm.exists() && metadata.exists(), "{out}");
    let meta = std::fs::read_to_string(&metadata).expect("metadata");
    assert!(meta.contains("\"bump\"") && meta.contains("\"get\""), "{meta}");
    let out = jjj(&["contract", "check", path(&wasm)], &[]);
    assert!(out.starts_with("ok:"), "{out}");

    // A one-validator network of a real node process.
    let net = work.path().join("net");
    jjj(
        &[
            "network",
            "init",
            "--dev-keys",
            "--validators",
            "1",
            "--network",
            "jjj",
            "--view-timeout-ms",
            "500",
            "--crypto",
            jjj_tests::suite().name(),
            "--dir",
            path(&net),
            "--p2p-port",
            "32400",
            "--rpc-port",
            &RPC_PORT.to_string(),
            "--metrics-port",
            "32420",
            "--account",
            "author=100000000000+deployer",
        ],
        &[],
    );
    let log = std::fs::File::create(net.join("validator-1.log")).expect("log");
    let _node = Node(
        Command::new(bin("jjj-node"))
            .arg("--config")
            .arg(net.join("validator-1.toml"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn jjj-node"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Command::new(&jjj_bin)
        .args(["--rpc", &format!("http://127.0.0.1:{RPC_PORT}"), "status"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let log = std::fs::read_to_string(net.join("validator-1.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "the validator did not answer RPC; log:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Deploy (the metadata next to the wasm encodes the constructor), call, query.
    let key = net.join("keys/author.key");
    let out = jjj(&["contract", "deploy", "--key", path(&key), "--wasm", path(&wasm), "--args", "[10]"], &[]);
    let address = out.lines().last().expect("an address").trim().to_string();
    let out = jjj(
        &[
            "contract",
            "call",
            "--key",
            path(&key),
            "--contract",
            &address,
            "--metadata",
            path(&metadata),
            "--message",
            "bump",
            "--args",
            "[5]",
        ],
        &[],
    );
    assert!(out.contains("success in block"), "{out}");
    assert!(out.lines().any(|l| l == "output: 15"), "{out}");
    assert!(out.contains("event: ") && out.contains("Bumped") && out.contains("15"), "{out}");
    let out =
        jjj(&["contract", "query", "--contract", &address, "--metadata", path(&metadata), "--message", "get"], &[]);
    assert!(out.lines().any(|l| l == "output: 15"), "{out}");
}
