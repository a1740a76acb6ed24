//! What a converged operator sends to the API server: nothing but its watches and its Lease
//! renewals, across forced resyncs (it reconciles from its watch caches). And the caches do
//! not make it blind: a child Deployment deleted or edited by someone else is repaired.
//!
//! On the simulator every request is audited, so the test proves no GET or LIST is sent; a
//! real control plane's audit policy here records writes only, so there the test proves no
//! write and the repairs.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{TestCluster, with_crds};
use common::sim::{run, text};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const GRAPH: &str = "vllm-disagg";
const FRONTEND: &str = "vllm-disagg-frontend";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The controller process (killed when dropped), resyncing every 2 s, with probes and
/// metrics on `port`.
fn start_controller(cluster: &TestCluster, port: u16) -> Child {
    let addr = format!("127.0.0.1:{port}");
    Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--kubeconfig"])
        .arg(cluster.kubeconfig_path())
        .args(["--health-probe-bind-address", &addr])
        .args(["--metrics-bind-address", &addr])
        .args(["--resync", "2s"])
        .env(
            "RUST_LOG",
            std::env::var("CONTROLLER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .kill_on_drop(true)
        .spawn()
        .expect("controller starts")
}

/// The value of an unlabelled-or-labelled metric line starting with `series` on the
/// controller's `/metrics`.
async fn metric(port: u16, series: &str) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("metrics answer");
    let request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .expect("metrics in time")
        .unwrap();
    response
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {response}"))
}

async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn graph_ready(cluster: &TestCluster) -> bool {
    cluster
        .object("nvidia.com", "dynamographdeployments", "default", GRAPH)
        .is_some_and(|g| {
            g.pointer("/status/observedGeneration") == g.pointer("/metadata/generation")
                && g.pointer("/status/state") == Some(&json!("successful"))
        })
}

fn frontend(cluster: &TestCluster) -> Option<Value> {
    cluster.object("apps", "deployments", "default", FRONTEND)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converged_operator_only_watches_and_still_repairs_its_children() {
    let Some(cluster) = with_crds(true).await else {
        return;
    };
    let port = free_port();
    let mut controller = start_controller(&cluster, port);
    let out = run(&cluster, &["apply", "examples/vllm-disagg.yaml"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let limit = Duration::from_secs(60);
    eventually(limit, "the graph to become Ready", || graph_ready(&cluster)).await;

    // Converged: over more than two resync periods (2 s, plus the graph controller's 1 s
    // debounce), reconciles run and send nothing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let passes = metric(port, "dynamoctl_reconciles_total{controller=\"graph\"}").await;
    cluster.clear_audit();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let later = metric(port, "dynamoctl_reconciles_total{controller=\"graph\"}").await;
    assert!(
        later >= passes + 2.0,
        "the graph resynced at least twice ({passes} → {later} passes)"
    );
    let by_operator: Vec<_> = cluster
        .audit()
        .into_iter()
        .filter(|r| r.user_agent.contains("controller"))
        .collect();
    // Its leader-Lease renewals are in the window: the audit does see the operator.
    assert!(
        by_operator.iter().any(|r| r.resource == "leases"),
        "no Lease renewal audited: {by_operator:#?}"
    );
    let sent: Vec<_> = by_operator
        .into_iter()
        .filter(|r| r.resource != "leases" && r.verb != "watch")
        .collect();
    assert!(
        sent.is_empty(),
        "a converged operator sends only watches and Lease renewals, got: {sent:#?}"
    );
    // A Deployment deleted by someone else comes back.
    let deployments: Api<Deployment> = Api::namespaced(cluster.client(), "default");
    let before = frontend(&cluster).expect("the frontend's Deployment");
    deployments
        .delete(FRONTEND, &Default::default())
        .await
        .unwrap();
    eventually(limit, "the deleted Deployment to be recreated", || {
        frontend(&cluster).is_some_and(|d| d["metadata"]["uid"] != before["metadata"]["uid"])
    })
    .await;

    // A Deployment edited by someone else is put back as rendered.
    let image = before
        .pointer("/spec/template/spec/containers/0/image")
        .cloned()
        .expect("an image");
    let container = before
        .pointer("/spec/template/spec/containers/0/name")
        .cloned()
        .expect("a container name");
    let edit = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": FRONTEND, "namespace": "default" },
        "spec": { "template": { "spec": { "containers": [{ "name": container, "image": "example.com/edited:1" }] } } },
    });
    deployments
        .patch(
            FRONTEND,
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(&edit),
        )
        .await
        .unwrap();
    eventually(limit, "the edited Deployment to be repaired", || {
        frontend(&cluster)
            .and_then(|d| d.pointer("/spec/template/spec/containers/0/image").cloned())
            == Some(image.clone())
    })
    .await;
    eventually(limit, "the graph to be Ready again", || {
        graph_ready(&cluster)
    })
    .await;
    controller.kill().await.ok();
    cluster.stop().await;
}
