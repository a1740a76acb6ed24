//! Graph restarts (`spec.restart`, `dynamoctl restart`) and taking graphs over from upstream's
//! operator, with `dynamoctl run controller` as a real process against the simulator.

mod common;

use std::time::{Duration, Instant};

use common::sim::{run, temp_file, text, with_crds};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube_sim::Simulator;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const NS: &str = "default";
const GRAPH: &str = "vllm-disagg";
/// The example's services and their Deployments.
const PREFILL: (&str, &str) = ("VllmPrefillWorker", "vllm-disagg-vllmprefillworker");
const DECODE: (&str, &str) = ("VllmDecodeWorker", "vllm-disagg-vllmdecodeworker");
const FRONTEND: (&str, &str) = ("Frontend", "vllm-disagg-frontend");

fn start_controller(sim: &Simulator) -> Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .args(["--health-probe-bind-address", &addr])
        .args(["--metrics-bind-address", &addr, "--resync", "2s"])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("controller starts")
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn graph(sim: &Simulator) -> Option<Value> {
    sim.object("nvidia.com", "dynamographdeployments", NS, GRAPH)
}

fn ready(sim: &Simulator) -> bool {
    graph(sim).is_some_and(|g| {
        g.pointer("/status/observedGeneration") == g.pointer("/metadata/generation")
            && g["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    })
}

/// The `nvidia.com/restartAt` of a Deployment's pod template.
fn stamp(sim: &Simulator, deployment: &str) -> Option<String> {
    sim.object("apps", "deployments", NS, deployment)?
        .pointer("/spec/template/metadata/annotations/nvidia.com~1restartAt")?
        .as_str()
        .map(str::to_string)
}

fn restart_status(sim: &Simulator) -> Value {
    graph(sim)
        .and_then(|g| g.pointer("/status/restart").cloned())
        .unwrap_or(Value::Null)
}

/// A Deployment that rolled out its current template (the simulator's kubelet gave it status
/// for its generation, all replicas available).
fn rolled_out(sim: &Simulator, deployment: &str) -> bool {
    sim.object("apps", "deployments", NS, deployment)
        .is_some_and(|d| {
            d.pointer("/status/observedGeneration") == d.pointer("/metadata/generation")
                && d.pointer("/status/availableReplicas") == d.pointer("/spec/replicas")
        })
}

/// The Deployments the controller wrote (spec, not status) since the audit was cleared, in
/// order, each once.
fn deployment_writes(sim: &Simulator) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in sim.audit_writes() {
        if r.resource == "deployments"
            && r.subresource.is_empty()
            && r.field_manager == "dynamoctl-controller"
            && !r.dry_run
            && !out.contains(&r.name)
        {
            out.push(r.name);
        }
    }
    out
}

async fn deployed(sim: &Simulator) {
    let out = run(sim, &["apply", "examples/vllm-disagg.yaml"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    eventually("the graph to become Ready", || ready(sim)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_restart_rolls_one_service_at_a_time_in_order() {
    let sim = with_crds(true).await;
    let _controller = start_controller(&sim);
    deployed(&sim).await;
    for (_, d) in [PREFILL, DECODE, FRONTEND] {
        assert_eq!(stamp(&sim, d), None, "{d} is not stamped before a restart");
    }
    // The first service in order will not become available until released.
    sim.kubelet().hold(NS, PREFILL.1);
    sim.clear_audit();
    let order = format!("{},{},{}", PREFILL.0, DECODE.0, FRONTEND.0);
    let out = run(
        &sim,
        &["restart", GRAPH, "--order", &order, "--id", "r1"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    eventually("the first service to be stamped", || {
        stamp(&sim, PREFILL.1).as_deref() == Some("r1")
    })
    .await;
    // Held not-ready: nothing else may move, however long we look.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stamp(&sim, DECODE.1), None);
    assert_eq!(stamp(&sim, FRONTEND.1), None);
    assert_eq!(
        restart_status(&sim),
        json!({"observedID": "r1", "phase": "Restarting", "inProgress": [PREFILL.0]})
    );
    let out = run(&sim, &["status", GRAPH], &[]).await;
    assert!(
        text(&out.stdout).contains("Restart:     r1 Restarting (in progress: VllmPrefillWorker)"),
        "{}",
        text(&out.stdout)
    );

    sim.kubelet().release(NS, PREFILL.1);
    // The next service changes only once the previous one is available again.
    let mut seen_decode = false;
    eventually("the restart to complete", || {
        if !seen_decode && stamp(&sim, DECODE.1).as_deref() == Some("r1") {
            seen_decode = true;
            assert!(
                rolled_out(&sim, PREFILL.1),
                "decode restarted before prefill rolled out"
            );
            assert_eq!(stamp(&sim, FRONTEND.1), None, "frontend before decode");
        }
        restart_status(&sim)["phase"] == "Completed"
    })
    .await;
    assert_eq!(
        restart_status(&sim),
        json!({"observedID": "r1", "phase": "Completed"})
    );
    for (_, d) in [PREFILL, DECODE, FRONTEND] {
        assert_eq!(stamp(&sim, d).as_deref(), Some("r1"), "{d}");
    }
    assert_eq!(
        deployment_writes(&sim),
        vec![PREFILL.1, DECODE.1, FRONTEND.1],
        "the controller's template writes, in order"
    );
    // The request is dynamoctl-restart's own field, beside apply's.
    let g = graph(&sim).unwrap();
    let managers: Vec<&str> = g["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"dynamoctl-restart"), "{managers:?}");

    // Applying the file again (no spec.restart in it) and diffing keep the stamps.
    eventually("the graph to be Ready again", || ready(&sim)).await;
    let out = run(&sim, &["diff", "examples/vllm-disagg.yaml"], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "diff sees no change: {}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_restart_rolls_everything_at_once_and_wait_follows_it() {
    let sim = with_crds(true).await;
    let _controller = start_controller(&sim);
    deployed(&sim).await;
    sim.kubelet().hold(NS, FRONTEND.1);
    let restart = {
        let kubeconfig = sim.kubeconfig_path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
                .args(["restart", GRAPH, "--strategy", "parallel", "--id", "p1"])
                .args(["--wait", "--timeout", "40s", "--kubeconfig"])
                .arg(kubeconfig)
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        })
    };
    // Every service is stamped while one of them is still held not-ready.
    eventually("every service to be stamped", || {
        [PREFILL, DECODE, FRONTEND]
            .iter()
            .all(|(_, d)| stamp(&sim, d).as_deref() == Some("p1"))
    })
    .await;
    // The others roll out; the held one is all that is left in progress.
    eventually("only the held service to be in progress", || {
        restart_status(&sim)
            == json!({"observedID": "p1", "phase": "Restarting", "inProgress": [FRONTEND.0]})
    })
    .await;
    assert!(
        !restart.is_finished(),
        "--wait returned while a service restarts"
    );
    sim.kubelet().release(NS, FRONTEND.1);
    let out = tokio::time::timeout(Duration::from_secs(50), restart)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("is Ready"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        restart_status(&sim),
        json!({"observedID": "p1", "phase": "Completed"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_present_at_creation_restarts_nothing() {
    let sim = with_crds(true).await;
    let _controller = start_controller(&sim);
    let file = std::fs::read_to_string(common::repo().join("examples/vllm-disagg.yaml"))
        .unwrap()
        .replacen("spec:\n", "spec:\n  restart:\n    id: at-creation\n", 1);
    assert!(file.contains("at-creation"));
    let path = temp_file("restart-at-creation", &file);
    let out = run(&sim, &["apply", path.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    eventually("the graph to become Ready", || ready(&sim)).await;
    assert_eq!(
        restart_status(&sim),
        json!({"observedID": "at-creation", "phase": "Completed"})
    );
    sim.clear_audit();
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (_, d) in [PREFILL, DECODE, FRONTEND] {
        assert_eq!(stamp(&sim, d), None, "{d} was restarted");
    }
    assert!(
        deployment_writes(&sim).is_empty(),
        "{:?}",
        deployment_writes(&sim)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_restart_requests_are_refused_and_write_nothing() {
    let sim = with_crds(false).await;
    let out = run(&sim, &["apply", "examples/vllm-disagg.yaml"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    sim.clear_audit();
    let cases: [(&[&str], &str); 4] = [
        (
            &["restart", GRAPH, "--strategy", "rolling"],
            "invalid value 'rolling'",
        ),
        (
            &[
                "restart",
                GRAPH,
                "--order",
                "Frontend,VllmDecodeWorker,prefill",
            ],
            "--order (entry 3) names no component \"prefill\" of the graph",
        ),
        (
            &[
                "restart",
                GRAPH,
                "--strategy",
                "parallel",
                "--order",
                "Frontend",
            ],
            "--order is only for Sequential restarts",
        ),
        (
            &["restart", "nope"],
            "DynamoGraphDeployment default/nope not found",
        ),
    ];
    for (args, expected) in cases {
        let out = run(&sim, args, &[]).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let writes: Vec<_> = sim
        .audit_writes()
        .into_iter()
        .filter(|r| !r.dry_run)
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

/// Creates an object from JSON through the API, as another client (upstream's operator) would.
async fn create(sim: &Simulator, group: &str, version: &str, plural: &str, body: Value) -> Value {
    let ar = kube::api::ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: body["kind"].as_str().unwrap().into(),
        plural: plural.into(),
    };
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(sim.client(), NS, &ar);
    let obj: kube::api::DynamicObject = serde_json::from_value(body).unwrap();
    serde_json::to_value(api.create(&PostParams::default(), &obj).await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_with_upstreams_finalizer_deletes_once_the_operator_runs() {
    let sim = with_crds(false).await;
    let mut g: Value = upstream_graph();
    g["metadata"]["finalizers"] = json!(["nvidia.com/finalizer", "example.com/keep"]);
    create(&sim, "nvidia.com", "v1alpha1", "dynamographdeployments", g).await;
    let graphs: Api<kube::api::DynamicObject> = Api::namespaced_with(
        sim.client(),
        NS,
        &kube::api::ApiResource {
            group: "nvidia.com".into(),
            version: "v1alpha1".into(),
            api_version: "nvidia.com/v1alpha1".into(),
            kind: "DynamoGraphDeployment".into(),
            plural: "dynamographdeployments".into(),
        },
    );
    // Deleted while upstream's operator is gone: it hangs on the finalizer.
    graphs
        .delete(GRAPH, &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(graph(&sim).is_some_and(|g| g["metadata"]["deletionTimestamp"].is_string()));

    let _controller = start_controller(&sim);
    eventually("upstream's finalizer to be dropped", || {
        graph(&sim).is_some_and(|g| g["metadata"]["finalizers"] == json!(["example.com/keep"]))
    })
    .await;
    // Someone else's finalizer stays; once its owner drops it the graph is gone.
    let body = json!({"metadata": {"finalizers": null}});
    graphs
        .patch(GRAPH, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap();
    eventually("the graph to be deleted", || graph(&sim).is_none()).await;
}

/// A small graph as upstream's operator would have left it (no status from dynamoctl).
fn upstream_graph() -> Value {
    json!({
        "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
        "metadata": { "name": GRAPH, "namespace": NS },
        "spec": { "services": { "Frontend": { "componentType": "frontend" } } },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstreams_extra_services_and_hash_annotations_are_cleaned_up() {
    let sim = with_crds(true).await;
    let _controller = start_controller(&sim);
    deployed(&sim).await;
    let dcd = sim
        .object("nvidia.com", "dynamocomponentdeployments", NS, DECODE.1)
        .unwrap();
    let owner = json!([{
        "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoComponentDeployment",
        "name": DECODE.1, "uid": dcd["metadata"]["uid"], "controller": true,
        "blockOwnerDeletion": true,
    }]);
    let service = |name: &str, owners: Value| {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": { "name": name, "namespace": NS, "ownerReferences": owners },
            "spec": { "ports": [{ "port": 9090 }] },
        })
    };
    let services: Api<Service> = Api::namespaced(sim.client(), NS);
    for (name, owners) in [
        (format!("{}-p", DECODE.1), owner.clone()),
        (format!("{}-d", DECODE.1), owner.clone()),
        // Same name pattern, not the component's: someone else's, left alone.
        (format!("{}-p", PREFILL.1), json!([])),
    ] {
        let s: Service = serde_json::from_value(service(&name, owners)).unwrap();
        services.create(&PostParams::default(), &s).await.unwrap();
    }
    // Upstream's change-detection annotations on a child that is now ours.
    let body = json!({"metadata": {"annotations": {
        "nvidia.com/last-applied-hash": "abc", "nvidia.com/last-applied-generation": "3",
    }}});
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(sim.client(), NS);
    deployments
        .patch(DECODE.1, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap();

    // The component as upstream's operator left it: with its finalizer (upstream puts it on
    // every component it manages), which is what marks it for the takeover.
    let dcds: Api<dynamoctl::api::DynamoComponentDeployment> = Api::namespaced(sim.client(), NS);
    let body = json!({"metadata": {"finalizers": ["nvidia.com/finalizer"]}});
    dcds.patch(DECODE.1, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap();

    let exists = |name: String| sim.object("", "services", NS, &name).is_some();
    eventually("upstream's Services to be deleted", || {
        !exists(format!("{}-p", DECODE.1)) && !exists(format!("{}-d", DECODE.1))
    })
    .await;
    eventually("upstream's hash annotations to be removed", || {
        sim.object("apps", "deployments", NS, DECODE.1)
            .is_some_and(|d| {
                d.pointer("/metadata/annotations/nvidia.com~1last-applied-hash")
                    .is_none()
                    && d.pointer("/metadata/annotations/nvidia.com~1last-applied-generation")
                        .is_none()
            })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        exists(format!("{}-p", PREFILL.1)),
        "a Service the component does not control"
    );
    assert!(
        exists(DECODE.1.to_string()),
        "the component's own Service stays"
    );
    assert!(
        sim.object("nvidia.com", "dynamocomponentdeployments", NS, DECODE.1)
            .is_some_and(|d| d["metadata"]["finalizers"]
                .as_array()
                .is_none_or(|f| f.is_empty())),
        "upstream's finalizer is dropped after its Services"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_reconcile_wait_runs_the_restart_without_an_operator() {
    let sim = with_crds(true).await;
    let out = run(
        &sim,
        &[
            "apply",
            "examples/vllm-disagg.yaml",
            "--reconcile",
            "--wait",
            "--timeout",
            "40s",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(
        &sim,
        &[
            "restart",
            GRAPH,
            "--id",
            "cli-1",
            "--reconcile",
            "--wait",
            "--timeout",
            "40s",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        restart_status(&sim),
        json!({"observedID": "cli-1", "phase": "Completed"})
    );
    for (_, d) in [PREFILL, DECODE, FRONTEND] {
        assert_eq!(stamp(&sim, d).as_deref(), Some("cli-1"), "{d}");
    }
    // Sequential in the default order: the service names sorted.
    sim.clear_audit();
    let out = run(
        &sim,
        &[
            "restart",
            GRAPH,
            "--id",
            "cli-2",
            "--reconcile",
            "--wait",
            "--timeout",
            "40s",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let writes: Vec<String> = sim
        .audit_writes()
        .into_iter()
        .filter(|r| r.resource == "deployments" && r.subresource.is_empty() && !r.dry_run)
        .fold(Vec::new(), |mut acc, r| {
            if !acc.contains(&r.name) {
                acc.push(r.name);
            }
            acc
        });
    assert_eq!(writes, vec![FRONTEND.1, DECODE.1, PREFILL.1]);
}
