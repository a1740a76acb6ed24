//! Scaling adapters on the simulator, through the real binary and the real `kubectl scale`:
//! the operator creates one adapter per opted-in service, the adapter's replicas flow into the
//! graph and its Deployment, `dynamoctl apply`/`diff` leave them alone, and adapters of
//! services that opted out or were removed are deleted. Upstream's adapters are adopted.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::sim::{run, temp_file, text, with_crds};
use kube_sim::Simulator;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const LIMIT: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The controller process (killed when dropped).
fn start_controller(sim: &Simulator) -> Child {
    let addr = format!("127.0.0.1:{}", free_port());
    Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .args(["--health-probe-bind-address", &addr])
        .args(["--metrics-bind-address", &addr, "--resync", "2s"])
        .env(
            "RUST_LOG",
            std::env::var("CONTROLLER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .kill_on_drop(true)
        .spawn()
        .expect("controller starts")
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kubectl_bin() -> PathBuf {
    std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join(".tools/bin/kubectl"))
}

/// Runs the real kubectl against the simulator, off the async runtime.
async fn kubectl(sim: &Simulator, args: &[&str]) -> std::process::Output {
    let kubeconfig = sim.kubeconfig_path().to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let task = tokio::task::spawn_blocking(move || {
        std::process::Command::new(kubectl_bin())
            .args(&args)
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", std::env::temp_dir())
            .output()
            .expect("kubectl runs")
    });
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("kubectl finished in time")
        .unwrap()
}

/// A graph with a frontend and the given worker services (`(name, replicas, adapter)`).
fn graph(name: &str, workers: &[(&str, u32, bool)]) -> String {
    let mut out = format!(
        "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: {name}\nspec:\n  services:\n    Frontend:\n      componentType: frontend\n      replicas: 1\n      extraPodSpec:\n        mainContainer:\n          image: example.com/dynamo:1\n"
    );
    for (svc, replicas, adapter) in workers {
        out.push_str(&format!(
            "    {svc}:\n      componentType: worker\n      replicas: {replicas}\n      extraPodSpec:\n        mainContainer:\n          image: example.com/dynamo:1\n"
        ));
        if *adapter {
            out.push_str("      scalingAdapter:\n        enabled: true\n");
        }
    }
    out
}

fn adapter(sim: &Simulator, name: &str) -> Option<Value> {
    sim.object(
        "nvidia.com",
        "dynamographdeploymentscalingadapters",
        "default",
        name,
    )
}

fn service_replicas(sim: &Simulator, graph: &str, service: &str) -> Option<Value> {
    sim.object("nvidia.com", "dynamographdeployments", "default", graph)
        .and_then(|g| {
            g.pointer(&format!("/spec/services/{service}/replicas"))
                .cloned()
        })
}

fn deployment_replicas(sim: &Simulator, name: &str) -> Option<Value> {
    sim.object("apps", "deployments", "default", name)
        .and_then(|d| d.pointer("/spec/replicas").cloned())
}

/// Whether an equality-based selector (`k=v,k=v`) matches `labels`.
fn selects(selector: &str, labels: &Value) -> bool {
    selector.split(',').all(|term| {
        let (k, v) = term.split_once('=').expect("equality selector");
        labels.get(k).and_then(Value::as_str) == Some(v)
    })
}

async fn apply_crds(sim: &Simulator) {
    let out = run(
        sim,
        &[
            "apply",
            "crds/nvidia.com_dynamographdeploymentscalingadapters.yaml",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Whether the real kubectl is there; without it the test is skipped (never under CI).
fn have_kubectl() -> bool {
    if kubectl_bin().is_file() {
        return true;
    }
    assert!(
        !std::env::var("CI").is_ok_and(|v| !v.is_empty()),
        "CI is set and kubectl is missing at {}",
        kubectl_bin().display()
    );
    eprintln!("SKIPPED: kubectl not found (set KUBECTL or run scripts/install-k8s-tools.sh)");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_drives_a_service_through_its_adapter() {
    if !have_kubectl() {
        return;
    }
    let sim = with_crds(true).await;
    apply_crds(&sim).await;
    let _controller = start_controller(&sim);
    let file = temp_file(
        "scaling-graph",
        &graph("g", &[("Worker", 2, true), ("Prefill", 1, true)]),
    );
    let file = file.to_str().unwrap();
    let out = run(&sim, &["apply", file], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // One adapter per opted-in service, controlled by the graph, seeded from it.
    eventually("the adapters", || {
        adapter(&sim, "g-worker").is_some_and(|a| a.pointer("/status/selector").is_some())
            && adapter(&sim, "g-prefill").is_some()
    })
    .await;
    assert!(adapter(&sim, "g-frontend").is_none());
    let a = adapter(&sim, "g-worker").unwrap();
    assert_eq!(
        a["spec"],
        json!({"replicas": 2, "dgdRef": {"name": "g", "serviceName": "Worker"}})
    );
    let graph_uid = sim
        .object("nvidia.com", "dynamographdeployments", "default", "g")
        .unwrap()["metadata"]["uid"]
        .clone();
    assert_eq!(a["metadata"]["ownerReferences"][0]["uid"], graph_uid);
    assert_eq!(
        a["metadata"]["ownerReferences"][0]["controller"],
        json!(true)
    );

    // The real kubectl scales the adapter through its /scale subresource.
    let out = kubectl(&sim, &["scale", "dgdsa/g-worker", "--replicas=4"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    eventually("graph and Deployment to follow the adapter", || {
        service_replicas(&sim, "g", "Worker") == Some(json!(4))
            && deployment_replicas(&sim, "g-worker") == Some(json!(4))
    })
    .await;
    eventually("the adapter's status", || {
        adapter(&sim, "g-worker").is_some_and(|a| a.pointer("/status/replicas") == Some(&json!(4)))
    })
    .await;
    let a = adapter(&sim, "g-worker").unwrap();
    assert!(a.pointer("/status/lastScaleTime").is_some(), "{a}");
    // The graph's replicas are the adapter controller's now.
    let owners = replica_managers(&sim, "g", "Worker");
    assert!(
        owners.contains(&"dynamoctl-scaling-adapter".to_string()),
        "{owners:?}"
    );

    // The scale subresource reports what an HPA reads, and the selector picks exactly the
    // worker's pods: of every Deployment's pod template, only the worker's matches.
    let out = kubectl(&sim, &["get", "--raw", "/apis/nvidia.com/v1alpha1/namespaces/default/dynamographdeploymentscalingadapters/g-worker/scale"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let scale: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], json!(4));
    assert_eq!(scale["status"]["replicas"], json!(4));
    let selector = scale["status"]["selector"].as_str().unwrap().to_string();
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(sim.client(), "default");
    let mut matching = Vec::new();
    for d in deployments.list(&Default::default()).await.unwrap().items {
        let labels =
            serde_json::to_value(&d.spec.unwrap().template.metadata.unwrap().labels).unwrap();
        if selects(&selector, &labels) {
            matching.push(d.metadata.name.unwrap());
        }
    }
    assert_eq!(matching, ["g-worker"], "{selector}");

    // Re-applying the file (Worker: 2) changes no adapter-owned replicas, and diff sees no
    // drift there.
    let out = run(&sim, &["diff", file], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = run(&sim, &["apply", file], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(service_replicas(&sim, "g", "Worker"), Some(json!(4)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(deployment_replicas(&sim, "g-worker"), Some(json!(4)));

    // A deleted adapter comes back (seeded from the graph's current replicas).
    let out = kubectl(&sim, &["delete", "dgdsa/g-worker"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    eventually("the adapter to be recreated", || {
        adapter(&sim, "g-worker").is_some_and(|a| a["spec"]["replicas"] == json!(4))
    })
    .await;

    // Worker opts out, Prefill is removed: both adapters go and the adapter controller lets
    // go of the replicas. Opting out keeps the current replicas (the adapter owned them in
    // that update); the next apply sets the file's.
    let file = temp_file("scaling-graph-2", &graph("g", &[("Worker", 3, false)]));
    let file = file.to_str().unwrap();
    let out = run(&sim, &["apply", file], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    eventually(
        "the adapters to be deleted and the replicas released",
        || {
            adapter(&sim, "g-worker").is_none()
                && adapter(&sim, "g-prefill").is_none()
                && !replica_managers(&sim, "g", "Worker")
                    .contains(&"dynamoctl-scaling-adapter".to_string())
        },
    )
    .await;
    assert_eq!(service_replicas(&sim, "g", "Worker"), Some(json!(4)));
    let out = run(&sim, &["apply", file], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    eventually("the file's replicas", || {
        deployment_replicas(&sim, "g-worker") == Some(json!(3))
    })
    .await;
}

/// The field managers owning a service's replicas in the graph.
fn replica_managers(sim: &Simulator, graph: &str, service: &str) -> Vec<String> {
    let g = sim
        .object("nvidia.com", "dynamographdeployments", "default", graph)
        .unwrap();
    g["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m.pointer(&format!(
                "/fieldsV1/f:spec/f:services/f:{service}/f:replicas"
            ))
            .is_some()
        })
        .filter_map(|m| m["manager"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_adapter_is_adopted_and_stays_the_source_of_truth() {
    let sim = with_crds(true).await;
    apply_crds(&sim).await;
    // What upstream's operator left behind: same name, upstream's labels, replicas 3.
    let upstream = temp_file(
        "upstream-adapter",
        "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeploymentScalingAdapter\nmetadata:\n  name: up-worker\n  labels:\n    nvidia.com/dynamo-graph-deployment-name: up\n    nvidia.com/dynamo-component: Worker\nspec:\n  replicas: 3\n  dgdRef:\n    name: up\n    serviceName: Worker\n",
    );
    let out = run(&sim, &["apply", upstream.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = temp_file("upstream-graph", &graph("up", &[("Worker", 1, true)]));
    let out = run(&sim, &["apply", file.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let _controller = start_controller(&sim);
    eventually("the adopted adapter to drive the graph", || {
        service_replicas(&sim, "up", "Worker") == Some(json!(3))
            && deployment_replicas(&sim, "up-worker") == Some(json!(3))
            && adapter(&sim, "up-worker").is_some_and(|a| {
                a.pointer("/metadata/ownerReferences/0/controller") == Some(&json!(true))
                    && a.pointer("/metadata/labels/app.kubernetes.io~1managed-by")
                        == Some(&json!("dynamoctl"))
            })
    })
    .await;
    assert_eq!(
        adapter(&sim, "up-worker").unwrap()["spec"]["replicas"],
        json!(3)
    );
}
