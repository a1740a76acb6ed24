//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares `actual` with the golden file at `path` (relative to the repository root).
/// With `UPDATE_GOLDEN=1` the file is rewritten instead.
pub fn assert_golden(path: &Path, actual: &[u8]) {
    let full = repo().join(path);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&full).unwrap_or_default();
    if expected != actual {
        let expected = String::from_utf8_lossy(&expected);
        let actual = String::from_utf8_lossy(actual);
        let diff = similar::TextDiff::from_lines(expected.as_ref(), actual.as_ref())
            .unified_diff()
            .context_radius(2)
            .header("golden", "actual")
            .to_string();
        panic!(
            "{} is out of date (review, then run with UPDATE_GOLDEN=1):\n{}",
            path.display(),
            diff
        );
    }
}

/// Runs the dynamoctl binary in `dir` with `args`.
pub fn dynamoctl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("dynamoctl runs")
}
pub mod cluster;
pub mod real;
pub mod sim;
