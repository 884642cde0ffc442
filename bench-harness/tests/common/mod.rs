//! What the end-to-end tests share: the binary without the user's SNNBENCH_* settings, a success check that shows
//! the output, and CSV reading.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use bench_harness::results::table::Table;

/// `snnbench --quiet` (only errors).
pub fn snnbench() -> Command {
    let mut c = snnbench_loud();
    c.arg("--quiet");
    c
}

/// Without --quiet.
pub fn snnbench_loud() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_snnbench"));
    // A user's SNNBENCH_* settings must not steer the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("SNNBENCH_") {
            c.env_remove(k);
        }
    }
    c
}

/// Fails with the command's output unless it succeeded.
pub fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A CSV the run wrote.
pub fn csv(path: &Path) -> Table {
    Table::read_csv(path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
}
