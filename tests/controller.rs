//! `dynamoctl run controller` as a real process against the simulator: a graph's life from
//! creation to pruning, self-healing and zero writes at steady state.

mod common;

use std::time::{Duration, Instant};

use common::sim::{read, run, temp_file, text, with_crds};
use kube_sim::Simulator;
use serde_json::Value;
use tokio::process::{Child, Command};

/// A free port on 127.0.0.1 (bound and released; good enough for a test's own process).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `path` on 127.0.0.1:`port`: the raw response, or None when nothing answers.
async fn http_get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .ok()?
        .ok()?;
    Some(response)
}

/// Starts the controller process (killed when dropped), serving probes and metrics on `port`.
fn start_controller_on(sim: &Simulator, port: u16, extra: &[&str]) -> Child {
    let addr = format!("127.0.0.1:{port}");
    Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .args([
            "--health-probe-bind-address",
            &addr,
            "--metrics-bind-address",
            &addr,
            "--resync",
            "2s",
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("controller starts")
}

/// Starts the controller process (killed when dropped).
fn start_controller(sim: &Simulator, extra: &[&str]) -> Child {
    start_controller_on(sim, free_port(), extra)
}

/// Polls `check` until it holds or `limit` passes.
async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn graph_ready(sim: &Simulator, ns: &str, name: &str) -> bool {
    sim.object("nvidia.com", "dynamographdeployments", ns, name)
        .is_some_and(|g| {
            g.pointer("/status/observedGeneration") == g.pointer("/metadata/generation")
                && g.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_lifecycle_under_the_controller() {
    let sim = with_crds(true).await;
    let port = free_port();
    let mut controller = start_controller_on(&sim, port, &[]);
    let out = run(&sim, &["apply", "examples/vllm-disagg.yaml"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let limit = Duration::from_secs(30);
    eventually(limit, "the graph to become Ready", || {
        graph_ready(&sim, "default", "vllm-disagg")
    })
    .await;
    for name in [
        "vllm-disagg-frontend",
        "vllm-disagg-vllmdecodeworker",
        "vllm-disagg-vllmprefillworker",
    ] {
        assert!(
            sim.object("apps", "deployments", "default", name).is_some(),
            "{name}"
        );
    }
    let ready = http_get(port, "/readyz").await.expect("readyz answers");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let metrics = http_get(port, "/metrics").await.expect("metrics answer");
    assert!(
        metrics.contains("dynamoctl_managed_graphs 1\n"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("dynamoctl_reconciles_total{controller=\"graph\"} 0\n"),
        "{metrics}"
    );
    assert!(!metrics.contains("dynamoctl_writes_total 0\n"), "{metrics}");

    // A Deployment deleted by hand comes back.
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(sim.client(), "default");
    api.delete("vllm-disagg-frontend", &Default::default())
        .await
        .unwrap();
    eventually(limit, "the deleted Deployment to be restored", || {
        sim.object("apps", "deployments", "default", "vllm-disagg-frontend")
            .is_some()
    })
    .await;

    // A spec edit rolls through to the Deployment and the graph becomes Ready for it.
    let edited = read("examples/vllm-disagg.yaml").replacen("replicas: 1", "replicas: 2", 1);
    let out = run(
        &sim,
        &["apply", temp_file("scaled", &edited).to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    eventually(limit, "the frontend to scale", || {
        sim.object("apps", "deployments", "default", "vllm-disagg-frontend")
            .is_some_and(|d| d["spec"]["replicas"] == 2)
    })
    .await;
    eventually(limit, "Ready for generation 2", || {
        graph_ready(&sim, "default", "vllm-disagg")
    })
    .await;

    // Converged: several resync periods pass without a single write.
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.clear_audit();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let writes: Vec<_> = sim
        .audit_writes()
        .into_iter()
        .filter(|w| w.user_agent.contains("controller") && w.resource != "leases")
        .collect();
    assert!(writes.is_empty(), "steady state must not write: {writes:?}");
    assert!(
        sim.audit()
            .iter()
            .any(|r| r.user_agent.contains("controller")),
        "the controller kept resyncing"
    );

    // A service removed: its component and workload are pruned.
    let text_all = read("examples/vllm-disagg.yaml");
    let cut = text_all.find("    VllmPrefillWorker:").unwrap();
    let out = run(
        &sim,
        &[
            "apply",
            temp_file("removed", &text_all[..cut]).to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    eventually(
        limit,
        "the removed service's component to be deleted",
        || {
            sim.object(
                "nvidia.com",
                "dynamocomponentdeployments",
                "default",
                "vllm-disagg-vllmprefillworker",
            )
            .is_none()
        },
    )
    .await;
    eventually(limit, "its Deployment to be garbage collected", || {
        sim.object(
            "apps",
            "deployments",
            "default",
            "vllm-disagg-vllmprefillworker",
        )
        .is_none()
    })
    .await;
    controller.kill().await.ok();
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_graph_fails_validation_without_retry_loop() {
    let sim = with_crds(true).await;
    let mut controller = start_controller(&sim, &[]);
    // Valid for the CRD schema, but multinode is not supported: the controller marks it.
    let graph = "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: big\nspec:\n  services:\n    Worker:\n      componentType: worker\n      multinode:\n        nodeCount: 2\n";
    let api: kube::Api<dynamoctl::api::DynamoGraphDeployment> =
        kube::Api::namespaced(sim.client(), "default");
    let dgd: dynamoctl::api::DynamoGraphDeployment = serde_json::from_value(
        dynamoctl::yaml::parse_documents(graph).unwrap()[0]
            .value
            .clone(),
    )
    .unwrap();
    api.create(&Default::default(), &dgd).await.unwrap();
    eventually(Duration::from_secs(30), "ValidationFailed", || {
        sim.object("nvidia.com", "dynamographdeployments", "default", "big")
            .is_some_and(|g| {
                g.pointer("/status/conditions/0/reason") == Some(&Value::from("ValidationFailed"))
            })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.clear_audit();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let writes: Vec<_> = sim
        .audit_writes()
        .into_iter()
        .filter(|w| w.user_agent.contains("controller") && w.resource != "leases")
        .collect();
    assert!(
        writes.is_empty(),
        "an invalid graph is not retried in a loop: {writes:?}"
    );
    controller.kill().await.ok();
    sim.stop().await;
}
