//! `dynamoctl diff` against the API server simulator, and offline with `--from`.

mod common;

use common::cluster::with_crds;
use common::sim::{read, run, temp_file, text};
use common::{dynamoctl, repo};
use serde_json::Value;

/// (kind, name, op) rows of a JSON plan.
fn ops(stdout: &[u8]) -> Vec<(String, String, String)> {
    let plan: Value =
        serde_json::from_slice(stdout).unwrap_or_else(|e| panic!("{e}: {}", text(stdout)));
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().into(),
                c["name"].as_str().unwrap().into(),
                c["op"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn changed(rows: &[(String, String, String)]) -> Vec<(String, String, String)> {
    rows.iter()
        .filter(|r| r.2 != "unchanged")
        .cloned()
        .collect()
}

fn row(kind: &str, name: &str, op: &str) -> (String, String, String) {
    (kind.into(), name.into(), op.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_follows_a_graph_through_its_life() {
    let Some(sim) = with_crds(true).await else {
        return;
    };
    sim.clear_audit();

    // Nothing deployed: everything is a creation, exit 1.
    let out = run(
        &sim,
        &["diff", "examples/mocker-agg.yaml", "-o", "json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows = ops(&out.stdout);
    assert!(rows.iter().all(|r| r.2 == "create"), "{rows:?}");
    assert!(rows.contains(&row("Deployment", "mocker-agg-worker", "create")));
    assert!(sim.audit_writes().is_empty(), "diff must not write");

    // Deployed: no changes, exit 0, and diff issues no write at all.
    let out = run(
        &sim,
        &[
            "apply",
            "examples/mocker-agg.yaml",
            "--reconcile",
            "--wait",
            "--timeout",
            "60s",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    sim.clear_audit();
    let out = run(&sim, &["diff", "examples/mocker-agg.yaml"], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("NAMESPACE"), "{stdout}");
    assert!(
        !stdout.contains("diff -u -N"),
        "an unchanged graph prints no diffs: {stdout}"
    );
    assert!(
        sim.audit_writes().is_empty(),
        "diff must not write: {:?}",
        sim.audit_writes()
    );

    // One service edited: only that service's objects (and the graph) change.
    let edited = temp_file(
        "edited",
        &read("examples/mocker-agg.yaml").replace("replicas: 2", "replicas: 3"),
    );
    let out = run(&sim, &["diff", edited.to_str().unwrap(), "-o", "json"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        changed(&ops(&out.stdout)),
        vec![
            row("DynamoGraphDeployment", "mocker-agg", "update"),
            row("DynamoComponentDeployment", "mocker-agg-worker", "update"),
            row("Deployment", "mocker-agg-worker", "update"),
        ]
    );
    let out = run(&sim, &["diff", edited.to_str().unwrap()], &[]).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("diff -u -N live/apps.v1.Deployment.default.mocker-agg-worker merged/apps.v1.Deployment.default.mocker-agg-worker"), "{stdout}");
    assert!(
        stdout.contains("-  replicas: 2\n+  replicas: 3\n"),
        "{stdout}"
    );

    // A service removed: its children show as deletions.
    let text_without_worker = read("examples/mocker-agg.yaml");
    let cut = text_without_worker.find("    Worker:").unwrap();
    let removed = temp_file("removed", &text_without_worker[..cut]);
    let out = run(
        &sim,
        &["diff", removed.to_str().unwrap(), "-o", "json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows = changed(&ops(&out.stdout));
    for r in [
        row("DynamoComponentDeployment", "mocker-agg-worker", "delete"),
        row("Deployment", "mocker-agg-worker", "delete"),
        row("Service", "mocker-agg-worker", "delete"),
    ] {
        assert!(rows.contains(&r), "{r:?} missing from {rows:?}");
    }
    assert!(
        !rows.iter().any(|r| r.1 == "mocker-agg-frontend"),
        "{rows:?}"
    );

    // Bad input: exit 2, nothing sent.
    sim.clear_audit();
    let out = run(
        &sim,
        &["diff", "tests/bad-input/09-unknown-service-field.yaml"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(sim.audit().is_empty());
    sim.stop().await;
}

#[test]
fn offline_diff_between_revisions() {
    let edited = temp_file(
        "offline",
        &read("examples/mocker-agg.yaml").replace("replicas: 2", "replicas: 3"),
    );
    let out = dynamoctl(
        &repo(),
        &[
            "diff",
            "--from",
            "examples/mocker-agg.yaml",
            edited.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        changed(&ops(&out.stdout)),
        vec![
            row("DynamoGraphDeployment", "mocker-agg", "update"),
            row("DynamoComponentDeployment", "mocker-agg-worker", "update"),
            row("Deployment", "mocker-agg-worker", "update"),
        ]
    );
    let same = dynamoctl(
        &repo(),
        &[
            "diff",
            "--from",
            "examples/mocker-agg.yaml",
            "examples/mocker-agg.yaml",
        ],
    );
    assert_eq!(same.status.code(), Some(0));
    let bad = dynamoctl(
        &repo(),
        &[
            "diff",
            "--from",
            "examples/mocker-agg.yaml",
            "tests/bad-input/12-negative-replicas.yaml",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    // A graph that validates but cannot render is reported where it is, as render does.
    let unrenderable = dynamoctl(
        &repo(),
        &[
            "diff",
            "--from",
            "examples/mocker-agg.yaml",
            "tests/bad-input/22-multinode.yaml",
        ],
    );
    assert_eq!(unrenderable.status.code(), Some(2));
    assert!(
        text(&unrenderable.stderr).starts_with("error: tests/bad-input/22-multinode.yaml:10:9: "),
        "{}",
        text(&unrenderable.stderr)
    );
}

#[test]
fn external_diff_program_gets_live_and_merged_directories() {
    let edited = temp_file(
        "external",
        &read("examples/mocker-agg.yaml").replace("replicas: 2", "replicas: 3"),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .current_dir(repo())
        .args([
            "diff",
            "--from",
            "examples/mocker-agg.yaml",
            edited.to_str().unwrap(),
        ])
        .env("KUBECTL_EXTERNAL_DIFF", "ls -1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // `ls -1 LIVE MERGED` lists kubectl-style file names in both directories.
    assert!(
        stdout.contains("apps.v1.Deployment.default.mocker-agg-worker"),
        "{stdout}"
    );
    assert!(
        stdout.contains("LIVE:") && stdout.contains("MERGED:"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("diff -u -N"),
        "the external program replaces the built-in diff"
    );
}
