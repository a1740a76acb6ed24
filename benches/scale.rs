//! Scale benchmark of the operator: 1,000 graphs of 3 services over 100 namespaces, against
//! the API server simulator in this process and `dynamoctl run controller` (release build) as
//! a separate process. Reports time from controller start to every graph Ready, the
//! controller's peak RSS, API requests per graph, and writes during steady-state resyncs.
//! Run with `cargo bench --bench scale` (takes a few minutes); figures go to
//! docs/benchmarks.md. Smaller runs: `SCALE_GRAPHS=100 SCALE_NAMESPACES=10 cargo bench --bench scale`.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use kube_sim::{Options, Simulator};
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let graphs = env_usize("SCALE_GRAPHS", 1000);
    let namespaces = env_usize("SCALE_NAMESPACES", 100);
    let resync = Duration::from_secs(env_usize("SCALE_RESYNC_SECS", 15) as u64);
    let sim = Simulator::start(Options {
        kubelet: true,
        kubelet_ready_delay: Duration::from_millis(100),
        history_limit: 2_000_000,
        ..Options::default()
    })
    .await;
    let client = sim.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dynamoctl::api::crd::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let nss: Api<Namespace> = Api::all(client.clone());
    for n in 0..namespaces {
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": format!("team-{n}")}})).unwrap();
        nss.create(&PostParams::default(), &ns).await.unwrap();
    }
    let service = |ty: &str, sub: Option<&str>| {
        let mut s = json!({"componentType": ty, "replicas": 1, "extraPodSpec": {"mainContainer": {"image": "example.com/dynamo:1"}}});
        if let Some(sub) = sub {
            s["subComponentType"] = json!(sub);
        }
        s
    };
    for g in 0..graphs {
        let ns = format!("team-{}", g % namespaces);
        let dgd: dynamoctl::api::DynamoGraphDeployment = serde_json::from_value(json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeployment",
            "metadata": {"name": format!("graph-{g}"), "namespace": ns},
            "spec": {"services": {
                "Frontend": service("frontend", None),
                "Prefill": service("worker", Some("prefill")),
                "Decode": service("worker", Some("decode")),
            }},
        }))
        .unwrap();
        Api::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &dgd)
            .await
            .unwrap();
    }
    sim.clear_audit();

    let started = Instant::now();
    let mut controller = tokio::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .args([
            "--health-probe-bind-address",
            "127.0.0.1:0",
            "--metrics-bind-address",
            "127.0.0.1:0",
        ])
        .arg("--resync")
        .arg(format!("{}s", resync.as_secs()))
        .env("RUST_LOG", "error")
        .kill_on_drop(true)
        .spawn()
        .expect("controller starts");
    let pid = controller.id().unwrap();
    let all: Api<dynamoctl::api::DynamoGraphDeployment> = Api::all(client.clone());
    let converged = loop {
        let list = all.list(&ListParams::default()).await.unwrap();
        let ready = list
            .items
            .iter()
            .filter(|g| {
                g.status.as_ref().is_some_and(|s| {
                    s.observed_generation == g.metadata.generation
                        && s.state.as_deref() == Some("successful")
                })
            })
            .count();
        if ready == graphs {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "not converged after 10 minutes: {ready}/{graphs} Ready"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let requests = sim
        .audit()
        .iter()
        .filter(|r| r.user_agent.contains("controller"))
        .count();
    let writes = sim
        .audit_writes()
        .iter()
        .filter(|r| r.user_agent.contains("controller"))
        .count();

    // Steady state: let every graph resync at least twice, count writes.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.clear_audit();
    tokio::time::sleep(resync * 2 + Duration::from_secs(2)).await;
    let steady_requests = sim
        .audit()
        .iter()
        .filter(|r| r.user_agent.contains("controller"))
        .count();
    // Lease renewals are the operator's heartbeat, not reconcile writes: counted apart.
    let controller_writes: Vec<_> = sim
        .audit_writes()
        .into_iter()
        .filter(|r| r.user_agent.contains("controller"))
        .collect();
    let lease_writes = controller_writes
        .iter()
        .filter(|r| r.resource == "leases")
        .count();
    let steady_writes = controller_writes.len() - lease_writes;
    let rss = peak_rss_kib(pid).unwrap_or(0);
    controller.kill().await.ok();

    println!("graphs: {graphs} x 3 services over {namespaces} namespaces");
    println!(
        "converged: all Ready {:.1} s after controller start",
        converged.as_secs_f64()
    );
    println!("controller peak RSS: {:.1} MiB", rss as f64 / 1024.0);
    println!(
        "API requests until converged: {requests} ({:.1} per graph), of which writes {writes} ({:.1} per graph)",
        requests as f64 / graphs as f64,
        writes as f64 / graphs as f64
    );
    println!(
        "steady state over {} s (resync {} s): {steady_requests} requests, {steady_writes} writes (+ {lease_writes} Lease renewals)",
        (resync * 2 + Duration::from_secs(2)).as_secs(),
        resync.as_secs()
    );
    sim.stop().await;
}
