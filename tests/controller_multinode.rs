//! The reconciler drives a multinode graph to Ready in the simulator under Grove and under
//! LeaderWorkerSet + Volcano, and scales a multinode service up and down. The foreign kinds
//! get minimal CRDs; their status is written by the test, as Grove's and LWS's controllers
//! would write it.

mod common;

use std::time::Duration;

use dynamoctl::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use dynamoctl::cluster::{Applier, Resolver};
use dynamoctl::controller::{GraphOutcome, Reconciler};
use dynamoctl::render::{Orchestrators, RenderOptions};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube_sim::Simulator;
use serde_json::{Value, json};

const NS: &str = "default";

fn crd(group: &str, version: &str, kind: &str, plural: &str) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": format!("{plural}.{group}") },
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": { "kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List") },
            "versions": [{
                "name": version, "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } },
                "subresources": { "status": {} },
            }],
        },
    }))
    .unwrap()
}

const FOREIGN: &[(&str, &str, &str, &str)] = &[
    ("grove.io", "v1alpha1", "PodCliqueSet", "podcliquesets"),
    ("grove.io", "v1alpha1", "PodClique", "podcliques"),
    (
        "grove.io",
        "v1alpha1",
        "PodCliqueScalingGroup",
        "podcliquescalinggroups",
    ),
    (
        "leaderworkerset.x-k8s.io",
        "v1",
        "LeaderWorkerSet",
        "leaderworkersets",
    ),
    ("scheduling.volcano.sh", "v1beta1", "PodGroup", "podgroups"),
];

fn api(sim: &Simulator, kind: &str) -> Api<DynamicObject> {
    let (group, version, kind, plural) = *FOREIGN.iter().find(|f| f.2 == kind).unwrap();
    let ar = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    };
    Api::namespaced_with(sim.client(), NS, &ar)
}

async fn setup(orchestrators: Orchestrators) -> (Simulator, Reconciler) {
    let sim = common::sim::with_crds(true).await;
    let crds: Api<CustomResourceDefinition> = Api::all(sim.client());
    for (group, version, kind, plural) in FOREIGN {
        crds.create(&PostParams::default(), &crd(group, version, kind, plural))
            .await
            .unwrap();
    }
    let applier = Applier {
        resolver: Resolver::new(sim.client(), &sim.url()).await.unwrap(),
        default_namespace: NS.into(),
    };
    let opts = RenderOptions {
        orchestrators,
        ..Default::default()
    };
    (sim, Reconciler::new(applier, opts))
}

fn graph(decode_replicas: i32) -> Value {
    json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": { "name": "g", "namespace": NS },
        "spec": {
            "services": {
                "Frontend": { "componentType": "frontend" },
                "decode": {
                    "componentType": "worker",
                    "replicas": decode_replicas,
                    "multinode": { "nodeCount": 2 },
                    "resources": { "limits": { "gpu": "4" } },
                    "extraPodSpec": { "mainContainer": { "image": "x:1", "command": ["python3", "-m", "dynamo.sglang"], "args": ["--tp", "8"] } },
                },
            },
        },
    })
}

async fn apply_graph(sim: &Simulator, decode_replicas: i32) -> DynamoGraphDeployment {
    let dgds: Api<DynamoGraphDeployment> = Api::namespaced(sim.client(), NS);
    let params = PatchParams::apply("test").force();
    dgds.patch("g", &params, &Patch::Apply(graph(decode_replicas)))
        .await
        .unwrap()
}

async fn current_graph(sim: &Simulator) -> DynamoGraphDeployment {
    Api::<DynamoGraphDeployment>::namespaced(sim.client(), NS)
        .get("g")
        .await
        .unwrap()
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// Creates `kind/name` with `spec` (if absent) and writes `status`, as its controller would.
async fn foreign_with_status(sim: &Simulator, kind: &str, name: &str, spec: Value, status: Value) {
    let api = api(sim, kind);
    let (group, version, ..) = *FOREIGN.iter().find(|f| f.2 == kind).unwrap();
    let obj = json!({ "apiVersion": format!("{group}/{version}"), "kind": kind, "metadata": { "name": name, "namespace": NS }, "spec": spec });
    let params = PatchParams::apply("grove-or-lws").force();
    api.patch(name, &params, &Patch::Apply(&obj)).await.unwrap();
    let body =
        json!({ "apiVersion": format!("{group}/{version}"), "kind": kind, "status": status });
    api.patch_status(name, &params, &Patch::Apply(&body))
        .await
        .unwrap();
}

async fn names(sim: &Simulator, kind: &str) -> Vec<String> {
    let mut n: Vec<String> = api(sim, kind)
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    n.sort();
    n
}

/// Reconciles the graph and its components until the graph is Ready or `limit` passes.
async fn reconcile_until_ready(sim: &Simulator, r: &Reconciler, limit: Duration) -> GraphOutcome {
    let start = std::time::Instant::now();
    loop {
        let outcome = r
            .reconcile_graph(&current_graph(sim).await, &now())
            .await
            .unwrap();
        let dcds: Api<DynamoComponentDeployment> = Api::namespaced(sim.client(), NS);
        for dcd in dcds.list(&Default::default()).await.unwrap() {
            r.reconcile_component(&dcd, &now()).await.unwrap();
        }
        if outcome == GraphOutcome::Ready || start.elapsed() > limit {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multinode_graph_becomes_ready_under_grove() {
    let (sim, r) = setup(Orchestrators {
        grove: true,
        ..Default::default()
    })
    .await;
    let dgd = apply_graph(&sim, 1).await;
    let outcome = r.reconcile_graph(&dgd, &now()).await.unwrap();
    assert!(matches!(outcome, GraphOutcome::Pending(_)), "{outcome:?}");
    assert_eq!(names(&sim, "PodCliqueSet").await, vec!["g"]);
    let dcds: Api<DynamoComponentDeployment> = Api::namespaced(sim.client(), NS);
    assert!(
        dcds.list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "no DCDs under Grove"
    );
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(sim.client(), NS);
    let decode = services.get("g-decode").await.unwrap();
    assert_eq!(decode.spec.unwrap().selector.unwrap()["role"], "leader");

    // Grove expands the set and reports its children ready.
    foreign_with_status(
        &sim,
        "PodClique",
        "g-0-frontend",
        json!({ "replicas": 1 }),
        json!({ "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1 }),
    )
    .await;
    foreign_with_status(
        &sim,
        "PodCliqueScalingGroup",
        "g-0-decode",
        json!({ "replicas": 1 }),
        json!({ "replicas": 1, "availableReplicas": 0, "updatedReplicas": 1 }),
    )
    .await;
    let outcome = r
        .reconcile_graph(&current_graph(&sim).await, &now())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        GraphOutcome::Pending(
            "Resources not ready: podcliquescalinggroup/g-0-decode: 0 of 1 replicas available"
                .into()
        )
    );
    foreign_with_status(
        &sim,
        "PodCliqueScalingGroup",
        "g-0-decode",
        json!({ "replicas": 1 }),
        json!({ "replicas": 1, "availableReplicas": 1, "updatedReplicas": 1 }),
    )
    .await;
    let outcome = r
        .reconcile_graph(&current_graph(&sim).await, &now())
        .await
        .unwrap();
    assert_eq!(outcome, GraphOutcome::Ready);
    let status = current_graph(&sim).await.status.unwrap();
    let services = status.services.unwrap();
    assert_eq!(
        services["decode"].component_kind.as_deref(),
        Some("PodCliqueScalingGroup")
    );
    assert_eq!(
        services["Frontend"].component_kind.as_deref(),
        Some("PodClique")
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multinode_graph_becomes_ready_under_lws_and_scales() {
    let (sim, r) = setup(Orchestrators {
        lws: true,
        ..Default::default()
    })
    .await;
    apply_graph(&sim, 1).await;
    let outcome = reconcile_until_ready(&sim, &r, Duration::from_millis(300)).await;
    assert!(
        matches!(outcome, GraphOutcome::Pending(_)),
        "the LWS is not available yet"
    );
    assert_eq!(names(&sim, "LeaderWorkerSet").await, vec!["g-decode-0"]);
    assert_eq!(names(&sim, "PodGroup").await, vec!["g-decode-0"]);

    let available = |ready: i64| json!({ "replicas": 1, "readyReplicas": ready, "updatedReplicas": 1, "conditions": [{ "type": "Available", "status": "True", "reason": "AllGroupsReady", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z" }] });
    let lws_status = |sim: &Simulator, name: &'static str| {
        let api = api(sim, "LeaderWorkerSet");
        async move {
            let body = json!({ "apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "status": available(1) });
            api.patch_status(
                name,
                &PatchParams::apply("lws").force(),
                &Patch::Apply(&body),
            )
            .await
            .unwrap();
        }
    };
    lws_status(&sim, "g-decode-0").await;
    let outcome = reconcile_until_ready(&sim, &r, Duration::from_secs(20)).await;
    assert_eq!(outcome, GraphOutcome::Ready);
    let status = current_graph(&sim).await.status.unwrap();
    assert_eq!(
        status.services.unwrap()["decode"].component_kind.as_deref(),
        Some("LeaderWorkerSet")
    );

    // Scale up: a second group and gang.
    apply_graph(&sim, 2).await;
    let outcome = reconcile_until_ready(&sim, &r, Duration::from_millis(300)).await;
    assert!(matches!(outcome, GraphOutcome::Pending(_)), "{outcome:?}");
    assert_eq!(
        names(&sim, "LeaderWorkerSet").await,
        vec!["g-decode-0", "g-decode-1"]
    );
    assert_eq!(
        names(&sim, "PodGroup").await,
        vec!["g-decode-0", "g-decode-1"]
    );
    lws_status(&sim, "g-decode-1").await;
    assert_eq!(
        reconcile_until_ready(&sim, &r, Duration::from_secs(20)).await,
        GraphOutcome::Ready
    );

    // Scale down: the surplus index goes, the first stays.
    apply_graph(&sim, 1).await;
    assert_eq!(
        reconcile_until_ready(&sim, &r, Duration::from_secs(20)).await,
        GraphOutcome::Ready
    );
    assert_eq!(names(&sim, "LeaderWorkerSet").await, vec!["g-decode-0"]);
    assert_eq!(names(&sim, "PodGroup").await, vec!["g-decode-0"]);
    sim.stop().await;
}
