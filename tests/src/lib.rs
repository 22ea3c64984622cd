//! Helpers for the end-to-end tests in `tests/`: where the binaries under test are, a devnet of
//! real `jjj-node` processes ([`devnet`]), a TCP fault proxy between them ([`proxy`]), a
//! utility-bills load ([`bills`], [`load`]), the invariants checked over RPC ([`check`]) and the
//! kill -9 campaign ([`chaos`], run by the `jjj-chaos` binary and `scripts/chaos.sh`).
use std::path::PathBuf;

pub mod bills;
pub mod chaos;
pub mod check;
pub mod devnet;
pub mod load;
pub mod proxy;
pub mod rng;

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
