//! Upstream behaviours of the reconciler, on the simulator and a real API server: claims a graph uses but does not
//! create must exist (else the graph fails, naming them); created claims are never rewritten;
//! an Istio VirtualService is applied and pruned like an Ingress; a component reports
//! `DynamoComponentReady` and `Valid`.

mod common;

use common::cluster::TestCluster;
use dynamoctl::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use dynamoctl::cluster::{Applier, Resolver};
use dynamoctl::controller::{GraphOutcome, Reconciler};
use dynamoctl::render::RenderOptions;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const NS: &str = "default";

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

async fn reconciler(sim: &TestCluster, opts: RenderOptions) -> Reconciler {
    let applier = Applier {
        resolver: Resolver::new(sim.client(), &sim.url()).await.unwrap(),
        default_namespace: NS.into(),
    };
    Reconciler::new(applier, opts)
}

/// Creates or replaces the graph `g` from `spec` (server-side apply, as a user would).
async fn put_graph(sim: &TestCluster, spec: Value) -> DynamoGraphDeployment {
    let api: Api<DynamoGraphDeployment> = Api::namespaced(sim.client(), NS);
    let body = json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": { "name": "g", "namespace": NS },
        "spec": spec,
    });
    api.patch(
        "g",
        &PatchParams::apply("test").force(),
        &Patch::Apply(&body),
    )
    .await
    .unwrap()
}

fn pvcs_spec(cache_size: &str) -> Value {
    json!({
        "pvcs": [
            { "name": "models", "create": false },
            { "name": "cache", "create": true, "size": cache_size, "storageClass": "standard", "volumeAccessMode": "ReadWriteOnce" },
        ],
        "services": { "Worker": {
            "componentType": "worker",
            "volumeMounts": [{ "name": "models", "mountPoint": "/models" }, { "name": "cache", "mountPoint": "/cache" }],
            "extraPodSpec": { "mainContainer": { "image": "example.com/w:1", "command": ["python3", "-m", "dynamo.vllm"] } },
        } },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_claim_fails_the_graph_and_created_claims_are_never_rewritten() {
    let Some(sim) = common::cluster::with_crds(false).await else {
        return;
    };
    let r = reconciler(&sim, RenderOptions::default()).await;
    let dgd = put_graph(&sim, pvcs_spec("1Gi")).await;

    let outcome = r.reconcile_graph(&dgd, &now()).await.unwrap();
    assert!(matches!(outcome, GraphOutcome::Blocked(_)), "{outcome:?}");
    let live = sim
        .object("nvidia.com", "dynamographdeployments", NS, "g")
        .unwrap();
    assert_eq!(live["status"]["state"], "failed");
    let ready = &live["status"]["conditions"][0];
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "failed_to_reconcile_the_resources");
    let message = ready["message"].as_str().unwrap();
    assert!(
        message.starts_with("PersistentVolumeClaim default/models (spec.pvcs[0]) does not exist"),
        "{message}"
    );
    // Nothing else was created while the claim is missing.
    assert!(
        sim.object("nvidia.com", "dynamocomponentdeployments", NS, "g-worker")
            .is_none()
    );
    assert!(
        sim.object("", "persistentvolumeclaims", NS, "cache")
            .is_none()
    );

    // The user creates the claim: the graph goes ahead and creates its own claim.
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(sim.client(), NS);
    let models = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": { "name": "models" },
        "spec": { "accessModes": ["ReadOnlyMany"], "resources": { "requests": { "storage": "10Gi" } } },
    });
    claims
        .create(
            &PostParams::default(),
            &serde_json::from_value(models).unwrap(),
        )
        .await
        .unwrap();
    let dgd = Api::<DynamoGraphDeployment>::namespaced(sim.client(), NS)
        .get("g")
        .await
        .unwrap();
    r.reconcile_graph(&dgd, &now()).await.unwrap();
    assert!(
        sim.object("nvidia.com", "dynamocomponentdeployments", NS, "g-worker")
            .is_some()
    );
    let cache = sim
        .object("", "persistentvolumeclaims", NS, "cache")
        .expect("created");
    assert_eq!(cache["spec"]["resources"]["requests"]["storage"], "1Gi");
    let state = sim
        .object("nvidia.com", "dynamographdeployments", NS, "g")
        .unwrap()["status"]["state"]
        .clone();
    assert_eq!(state, "pending");

    // A changed size is not written to the existing claim: created once, never rewritten.
    let dgd = put_graph(&sim, pvcs_spec("5Gi")).await;
    sim.clear_audit();
    r.reconcile_graph(&dgd, &now()).await.unwrap();
    let pvc_writes: Vec<_> = sim
        .audit_writes()
        .into_iter()
        .filter(|a| a.resource == "persistentvolumeclaims")
        .collect();
    assert!(pvc_writes.is_empty(), "{pvc_writes:?}");
    let cache = sim
        .object("", "persistentvolumeclaims", NS, "cache")
        .unwrap();
    assert_eq!(cache["spec"]["resources"]["requests"]["storage"], "1Gi");
    sim.stop().await;
}

fn virtual_service_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "virtualservices.networking.istio.io" },
        "spec": {
            "group": "networking.istio.io",
            "scope": "Namespaced",
            "names": { "kind": "VirtualService", "plural": "virtualservices", "singular": "virtualservice", "listKind": "VirtualServiceList" },
            "versions": [{
                "name": "v1beta1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } },
            }],
        },
    }))
    .unwrap()
}

fn frontend(use_virtual_service: bool) -> Value {
    json!({ "services": { "Frontend": {
        "componentType": "frontend",
        "ingress": { "enabled": true, "host": "chat", "useVirtualService": use_virtual_service, "virtualServiceGateway": "istio-system/gw" },
        "extraPodSpec": { "mainContainer": { "image": "example.com/f:1" } },
    } } })
}

async fn reconcile_all(sim: &TestCluster, r: &Reconciler) {
    let dgd = Api::<DynamoGraphDeployment>::namespaced(sim.client(), NS)
        .get("g")
        .await
        .unwrap();
    r.reconcile_graph(&dgd, &now()).await.unwrap();
    let dcds: Api<DynamoComponentDeployment> = Api::namespaced(sim.client(), NS);
    for dcd in dcds.list(&Default::default()).await.unwrap() {
        r.reconcile_component(&dcd, &now()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_service_is_applied_and_pruned_and_components_report_upstreams_conditions() {
    let Some(sim) = common::cluster::with_crds(true).await else {
        return;
    };
    Api::<CustomResourceDefinition>::all(sim.client())
        .create(&PostParams::default(), &virtual_service_crd())
        .await
        .unwrap();
    // A real API server serves a new kind once the CRD is Established (moments later).
    let start = std::time::Instant::now();
    while !sim
        .object(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            "virtualservices.networking.istio.io",
        )
        .and_then(|c| c["status"]["conditions"].as_array().cloned())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "CRD not Established"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let r = reconciler(&sim, RenderOptions::default()).await;
    put_graph(&sim, frontend(true)).await;
    reconcile_all(&sim, &r).await;
    let vs = sim
        .object("networking.istio.io", "virtualservices", NS, "g-frontend")
        .expect("VirtualService applied");
    assert_eq!(vs["spec"]["gateways"], json!(["istio-system/gw"]));
    assert_eq!(vs["spec"]["hosts"], json!(["chat.local"]));
    assert_eq!(
        vs["metadata"]["ownerReferences"][0]["kind"],
        "DynamoComponentDeployment"
    );
    let dcd = sim
        .object("nvidia.com", "dynamocomponentdeployments", NS, "g-frontend")
        .unwrap();
    let types: Vec<(&str, &str)> = dcd["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(types[0].0, "Available");
    assert_eq!(types[1], ("DynamoComponentReady", types[0].1));
    assert_eq!(types[2], ("Valid", "True"));

    // useVirtualService turned off: the component deletes the VirtualService it controls.
    put_graph(&sim, frontend(false)).await;
    reconcile_all(&sim, &r).await;
    assert!(
        sim.object("networking.istio.io", "virtualservices", NS, "g-frontend")
            .is_none()
    );

    // A component whose spec cannot be rendered says so in Valid=False.
    let dcds: Api<DynamoComponentDeployment> = Api::namespaced(sim.client(), NS);
    let broken = json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoComponentDeployment",
        "metadata": { "name": "solo", "namespace": NS },
        "spec": { "componentType": "worker", "annotations": { "nvidia.com/enable-debug-mode": "true" } },
    });
    let dcd = dcds
        .create(
            &PostParams::default(),
            &serde_json::from_value(broken).unwrap(),
        )
        .await
        .unwrap();
    assert!(r.reconcile_component(&dcd, &now()).await.is_err());
    let live = sim
        .object("nvidia.com", "dynamocomponentdeployments", NS, "solo")
        .unwrap();
    let valid = &live["status"]["conditions"][0];
    assert_eq!(
        (&valid["type"], &valid["status"], &valid["reason"]),
        (&json!("Valid"), &json!("False"), &json!("ValidationFailed"))
    );
    assert!(
        valid["message"]
            .as_str()
            .unwrap()
            .contains("nvidia.com/enable-debug-mode")
    );
    sim.stop().await;
}
