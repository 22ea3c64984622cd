//! Helpers for the end-to-end tests in `tests/`: where the binaries under test are.
use std::path::PathBuf;

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
