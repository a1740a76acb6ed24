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

/// Flags that make an installed operator, run here outside its cluster, serve its conversion
/// webhook on 127.0.0.1 and point the CRDs there (`--webhook-url`) instead of at the in-cluster
/// Service no pod backs. Empty for an installation that serves none (namespace-scoped).
pub fn local_webhook_args(config_yaml: &str) -> Vec<String> {
    let config: serde_json::Value = serde_saphyr::from_str(config_yaml).unwrap_or_default();
    let serves = config
        .pointer("/server/webhook/serviceName")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !serves {
        return Vec::new();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    vec![
        format!("--webhook-url=https://127.0.0.1:{port}/convert"),
        format!("--webhook-bind-address=127.0.0.1:{port}"),
    ]
}
