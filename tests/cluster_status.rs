//! `dynamoctl status` against the simulator, with the clock pinned so ages are stable.

mod common;

use common::assert_golden;
use common::sim::{run, text};
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_tables_and_detail() {
    // Sim only: a graph held not ready, and golden tables with the clock pinned.
    let Some(sim) = common::cluster::sim_only_with_crds("holding Deployments back", true).await
    else {
        return;
    };
    for file in ["examples/mocker-agg.yaml", "examples/vllm-disagg.yaml"] {
        let out = run(
            &sim,
            &["apply", file, "--reconcile", "--wait", "--timeout", "60s"],
            &[],
        )
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    // A graph that will never be ready: its Deployments are held back.
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: inference\n";
    let nsfile = common::sim::temp_file("ns", ns);
    let out = run(&sim, &["apply", nsfile.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    sim.sim().kubelet().hold("inference", "chat-frontend");
    sim.sim().kubelet().hold("inference", "chat-worker");
    let out = run(
        &sim,
        &["apply", "examples/frontend-ingress.yaml", "--reconcile"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Ages count from the newest graph's creation, thirty minutes later: graphs created a few
    // seconds earlier are also 30m old, as kubectl prints minutes only past ten minutes.
    let created = sim
        .object("nvidia.com", "dynamographdeployments", "inference", "chat")
        .unwrap()["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap()
        .parse::<k8s_openapi::jiff::Timestamp>()
        .unwrap();
    let now = created
        .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(1800))
        .unwrap()
        .to_string();
    let env = [("DYNAMOCTL_NOW", now.as_str())];

    let cases: [(&str, &[&str]); 4] = [
        ("list", &["status"]),
        ("all-namespaces", &["status", "-A"]),
        ("wide", &["status", "-A", "-o", "wide"]),
        ("detail", &["status", "chat", "-n", "inference"]),
    ];
    for (name, args) in cases {
        let out = run(&sim, args, &env).await;
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        assert_golden(
            Path::new(&format!("tests/golden/status/{name}.txt")),
            &out.stdout,
        );
    }

    let out = run(&sim, &["status", "-A", "-o", "json"], &env).await;
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let out = run(&sim, &["status", "missing"], &env).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        sim.audit_writes()
            .iter()
            .all(|w| w.user_agent.contains("(apply)")),
        "status only reads"
    );
    sim.stop().await;
}
