//! Helpers for the end-to-end tests in `tests/`: where the binaries under test are, a devnet of
//! real `jjj-node` processes ([`devnet`]), a TCP fault proxy between them ([`proxy`]), a
//! utility-bills load ([`bills`], [`load`]), a node that forges its RPC answers ([`forging_rpc`]), the invariants checked over RPC ([`check`]) and the
//! kill -9 campaign ([`chaos`], run by the `jjj-chaos` binary and `scripts/chaos.sh`).
use std::path::PathBuf;

pub mod bills;
pub mod chaos;
pub mod check;
pub mod devnet;
pub mod forging_rpc;
pub mod load;
pub mod proxy;
pub mod rng;
pub mod webdriver;

/// The crypto suite these tests run their networks with (`JJJ_TEST_SUITE`; `scripts/test.sh`
/// runs them under both suites): `jjj network init --crypto` gets it, and [`dev_key`] makes keys
/// of its scheme.
pub fn suite() -> jjj_crypto::Suite {
    jjj_crypto::test_suite()
}

/// The key `jjj network init --dev-keys` makes for `name`, in the test suite's scheme.
pub fn dev_key(name: &str) -> jjj_crypto::Keypair {
    jjj_crypto::Keypair::named(suite().scheme(), name)
}

/// A binary of this workspace (`jjj-node`, `jjj`), from the target directory this test was built
/// in. `cargo test --workspace` builds every binary before it runs the tests; a lone
/// `cargo test -p jjj-tests` does not, hence the hint.
pub fn bin(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().unwrap_or_default();
    dir.pop(); // the test executable
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --release -p jjj-node -p jjj-cli` (or test the whole workspace)",
        path.display()
    );
    path
}
