//! A graph that reaches the cluster without dynamoctl's client-side checks (`kubectl apply`)
//! and asks for a field dynamoctl refuses: the operator marks it failed (`Ready=False`,
//! reason `ValidationFailed`) naming the field, emits a Warning Event, and renders nothing —
//! instead of running it without what the field asked for.

mod common;

use std::time::{Duration, Instant};

use common::cluster::with_crds;
use common::sim::read;
use kube::Api;
use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_field_applied_around_dynamoctl_fails_validation_by_name() {
    let Some(sim) = with_crds(false).await else {
        return;
    };
    let mut graph: Value = serde_saphyr::from_str(&read("examples/mocker-agg.yaml")).unwrap();
    graph["metadata"]["namespace"] = json!("default");
    graph["spec"]["priorityClassName"] = json!("high");
    graph["spec"]["services"]["Worker"]["frontendSidecar"] = json!({ "image": "x" });
    // Straight to the API server, as `kubectl apply` would send it.
    let resource = kube::api::ApiResource {
        group: "nvidia.com".into(),
        version: "v1alpha1".into(),
        api_version: "nvidia.com/v1alpha1".into(),
        kind: "DynamoGraphDeployment".into(),
        plural: "dynamographdeployments".into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(sim.client(), "default", &resource);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(graph).unwrap(),
    )
    .await
    .unwrap();

    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _controller = tokio::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .args([
            "--health-probe-bind-address",
            &addr,
            "--metrics-bind-address",
            &addr,
        ])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let start = Instant::now();
    let message = loop {
        let live = sim.object(
            "nvidia.com",
            "dynamographdeployments",
            "default",
            "mocker-agg",
        );
        let ready = live.as_ref().and_then(|g| {
            g.pointer("/status/conditions")?
                .as_array()?
                .iter()
                .find(|c| c["type"] == "Ready")
                .cloned()
        });
        if let Some(ready) = ready {
            assert_eq!(ready["status"], "False");
            assert_eq!(live.unwrap()["status"]["state"], "failed");
            break ready["message"].as_str().unwrap().to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no status written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(message.starts_with("Validation failed: "), "{message}");
    assert!(
        message.contains("spec.priorityClassName asks for Grove PodCliqueSets"),
        "{message}"
    );
    assert!(
        message.contains("spec.services.Worker.frontendSidecar asks for frontend sidecars"),
        "{message}"
    );
    // Nothing was rendered from it: no component, no Deployment at all.
    let components: Api<DynamicObject> = Api::namespaced_with(
        sim.client(),
        "default",
        &kube::api::ApiResource {
            kind: "DynamoComponentDeployment".into(),
            plural: "dynamocomponentdeployments".into(),
            ..resource.clone()
        },
    );
    assert!(
        components
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(sim.client(), "default");
    assert!(
        deployments
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // And a Warning Event says why.
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(sim.client(), "default");
    let start = Instant::now();
    loop {
        let list = events.list(&Default::default()).await.unwrap();
        let found = list
            .items
            .iter()
            .find(|e| e.reason.as_deref() == Some("ValidationFailed"));
        if let Some(e) = found {
            assert_eq!(e.type_.as_deref(), Some("Warning"));
            assert!(
                e.note
                    .as_deref()
                    .unwrap_or_default()
                    .contains("spec.priorityClassName"),
                "{e:?}"
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no Event");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A field only v1beta1 can say reaches the operator (which reads v1alpha1) inside the private
/// payload: it is still found, and named by its v1beta1 path.
#[test]
fn v1beta1_only_fields_are_found_in_the_preserved_payload() {
    let beta = json!({
        "apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
        "metadata": { "name": "g", "namespace": "default" },
        "spec": { "components": [
            { "name": "Frontend", "type": "frontend" },
            { "name": "Worker", "type": "worker", "experimental": { "grove": { "x": 1 } } }
        ] }
    });
    let alpha = dynamoctl::api::convert::convert_value(&beta, "nvidia.com/v1alpha1").unwrap();
    assert!(
        alpha["metadata"]["annotations"]["nvidia.com/dgd-spec"].is_string(),
        "{alpha}"
    );
    let message = dynamoctl::manifest::refused_in_cluster_object(&alpha).unwrap();
    assert!(
        message.contains(
            "(as nvidia.com/v1beta1) spec.components[1].experimental asks for preview features"
        ),
        "{message}"
    );
    // A clean graph passes.
    let mut clean = beta.clone();
    clean["spec"]["components"][1]
        .as_object_mut()
        .unwrap()
        .remove("experimental");
    let alpha = dynamoctl::api::convert::convert_value(&clean, "nvidia.com/v1alpha1").unwrap();
    assert_eq!(dynamoctl::manifest::refused_in_cluster_object(&alpha), None);
}
