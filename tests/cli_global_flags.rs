//! kubectl's habits: the connection flags work before or after the subcommand, and a
//! `KUBECONFIG` list is merged as kubectl merges it. Against the API server simulator.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::repo;
use common::sim::{text, with_crds};

/// Runs dynamoctl with exactly `args` and `KUBECONFIG=kubeconfig` (no `--kubeconfig` added),
/// off the async runtime, bounded in time.
async fn run(args: &[&str], kubeconfig: &std::ffi::OsStr) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let kubeconfig = kubeconfig.to_owned();
    let task = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
            .current_dir(repo())
            .args(&args)
            .env("KUBECONFIG", kubeconfig)
            .env("NO_COLOR", "1")
            .output()
            .expect("dynamoctl runs")
    });
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("dynamoctl finished in time")
        .unwrap()
}

/// A kubeconfig with one context `context` for `server`, current when `current`.
fn kubeconfig(dir: &Path, file: &str, context: &str, server: &str, current: bool) -> PathBuf {
    let mut yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: {server}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: default\nusers:\n- name: {context}\n  user: {{}}\n"
    );
    if current {
        yaml.push_str(&format!("current-context: {context}\n"));
    }
    let path = dir.join(file);
    std::fs::write(&path, yaml).unwrap();
    path
}

fn graph_namespace(sim: &kube_sim::Simulator, ns: &str) -> bool {
    sim.object("nvidia.com", "dynamographdeployments", ns, "mocker-agg")
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_flags_work_before_and_after_the_subcommand() {
    let sim = with_crds(false).await;
    let only = sim.kubeconfig_path().as_os_str().to_owned();
    let namespaces = common::sim::temp_file(
        "global-flags-ns",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-b\n",
    );
    let out = run(&["apply", namespaces.to_str().unwrap()], &only).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // -n before the subcommand, then after it: each graph lands where its flag says.
    let out = run(
        &["-n", "team-a", "apply", "examples/mocker-agg.yaml"],
        &only,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(
        &["apply", "examples/mocker-agg.yaml", "--namespace", "team-b"],
        &only,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(graph_namespace(&sim, "team-a") && graph_namespace(&sim, "team-b"));
    assert!(!graph_namespace(&sim, "default"));
    // Both given: the one after the subcommand wins, as the last flag wins in kubectl.
    let out = run(
        &[
            "-n",
            "default",
            "apply",
            "-n",
            "team-a",
            "examples/mocker-agg.yaml",
        ],
        &only,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!graph_namespace(&sim, "default"));

    // status, leases and diff read the same flags in either place, with the same result.
    for (before, after) in [
        (
            vec!["-n", "team-a", "status"],
            vec!["status", "-n", "team-a"],
        ),
        (
            vec![
                "--request-timeout",
                "5s",
                "-n",
                "team-b",
                "status",
                "mocker-agg",
            ],
            vec![
                "status",
                "mocker-agg",
                "-n",
                "team-b",
                "--request-timeout",
                "5s",
            ],
        ),
        (
            vec!["--namespace", "team-a", "leases"],
            vec!["leases", "--namespace", "team-a"],
        ),
        (
            vec![
                "--context",
                "kube-sim",
                "-n",
                "team-a",
                "diff",
                "examples/mocker-agg.yaml",
            ],
            vec![
                "diff",
                "examples/mocker-agg.yaml",
                "--context",
                "kube-sim",
                "-n",
                "team-a",
            ],
        ),
    ] {
        let a = run(&before, &only).await;
        let b = run(&after, &only).await;
        assert!(
            a.status.code() == Some(0) || before.contains(&"diff"),
            "{before:?}: {}",
            text(&a.stderr)
        );
        assert_eq!(a.status.code(), b.status.code(), "{before:?} vs {after:?}");
        assert_eq!(text(&a.stdout), text(&b.stdout), "{before:?} vs {after:?}");
    }
    let listed = run(&["-n", "team-a", "status"], &only).await;
    assert!(text(&listed.stdout).contains("mocker-agg"));

    // Bad values are usage errors in either place, and nothing is contacted.
    for args in [
        vec!["--request-timeout", "soon", "status"],
        vec!["status", "--request-timeout", "soon"],
    ] {
        let out = run(&args, &only).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    // An unknown context fails the same way before and after.
    let a = run(&["--context", "nope", "status"], &only).await;
    let b = run(&["status", "--context", "nope"], &only).await;
    assert_ne!(a.status.code(), Some(0));
    assert_eq!(a.status.code(), b.status.code());
    assert!(text(&a.stderr).contains("nope"), "{}", text(&a.stderr));

    // Offline: -n before `render` is render's namespace of objects that name none.
    let out = run(
        &["-n", "team-a", "render", "examples/mocker-agg.yaml"],
        &only,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("namespace: team-a"));
    assert!(!text(&out.stdout).contains("namespace: default"));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_list_is_merged_as_kubectl_merges_it() {
    let sim = with_crds(false).await;
    let dir = std::env::temp_dir().join(format!("dynamoctl-kubeconfigs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // `dead` points nowhere (a closed port); `live` is the simulator. Each file makes its own
    // context current; a missing file in the list is skipped, as kubectl skips it.
    let dead = kubeconfig(&dir, "dead", "dead", "http://127.0.0.1:1", true);
    let live = kubeconfig(&dir, "live", "live", &sim.url(), true);
    let missing = dir.join("missing");
    let dead_first = std::env::join_paths([&missing, &dead, &live]).unwrap();
    let live_first = std::env::join_paths([&live, &missing, &dead]).unwrap();

    // The first file to set current-context wins: `dead`, so this cannot connect...
    let out = run(
        &[
            "apply",
            "examples/mocker-agg.yaml",
            "--request-timeout",
            "2s",
        ],
        &dead_first,
    )
    .await;
    assert_ne!(out.status.code(), Some(0));
    assert!(!graph_namespace(&sim, "default"));
    // ...but the second file's context is there to pick, before or after the subcommand.
    let out = run(
        &["--context", "live", "apply", "examples/mocker-agg.yaml"],
        &dead_first,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(graph_namespace(&sim, "default"));
    // With `live` first, its current-context is the one used.
    let out = run(&["status", "mocker-agg"], &live_first).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("mocker-agg"));
    // A list of only missing files is no kubeconfig at all.
    let out = run(&["status"], missing.as_os_str()).await;
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("no kubeconfig"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
    sim.stop().await;
}
