//! Test vectors taken from upstream's conversion tests at 2a6da14
//! (`api/v1alpha1/dynamographdeployment_conversion_test.go`): the same inputs and the same
//! expected v1beta1 shapes. Round trips of generated objects are in `tests/convert_roundtrip.rs`.

use serde_json::{Value, json};

use super::*;

fn alpha_graph(spec: Value) -> alpha::DynamoGraphDeployment {
    serde_json::from_value(
        json!({"apiVersion": V1ALPHA1, "kind": "DynamoGraphDeployment",
        "metadata": {"name": "g", "namespace": "ns"}, "spec": spec}),
    )
    .unwrap()
}

fn beta_graph(spec: Value) -> beta::DynamoGraphDeployment {
    serde_json::from_value(
        json!({"apiVersion": V1BETA1, "kind": "DynamoGraphDeployment",
        "metadata": {"name": "g", "namespace": "ns"}, "spec": spec}),
    )
    .unwrap()
}

fn to_beta(spec: Value) -> Value {
    serde_json::to_value(graph_to_beta(&alpha_graph(spec)).unwrap()).unwrap()
}

fn alpha_round_trip(spec: Value) {
    let g = alpha_graph(spec);
    let back = graph_to_alpha(&graph_to_beta(&g).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(back).unwrap(),
        serde_json::to_value(g).unwrap()
    );
}

fn beta_round_trip(spec: Value) {
    let g = beta_graph(spec);
    let back = graph_to_beta(&graph_to_alpha(&g).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(back).unwrap(),
        serde_json::to_value(g).unwrap()
    );
}

#[test]
fn resources_go_into_the_main_container_gpu_under_its_type() {
    // TestDGD_FromV1alpha1_Resources_ForwardOnly
    let b = to_beta(
        json!({"services": {"worker": {"componentType": "worker", "resources": {
        "requests": {"cpu": "2", "memory": "4Gi", "gpu": "2", "gpuType": "gpu.intel.com/xe",
                     "custom": {"example.com/fpga": "1"}},
        "limits": {"cpu": "4", "memory": "8Gi"}}}}}),
    );
    let main = &b["spec"]["components"][0]["podTemplate"]["spec"]["containers"][0];
    assert_eq!(main["name"], "main");
    assert_eq!(main["resources"]["requests"]["gpu.intel.com/xe"], "2");
    assert_eq!(main["resources"]["requests"]["example.com/fpga"], "1");
    assert_eq!(
        main["resources"]["limits"],
        json!({"cpu": "4", "memory": "8Gi"})
    );
}

#[test]
fn duplicate_component_names_are_an_error() {
    // TestDGD_ConvertFrom_DuplicateComponentNames
    let g = beta_graph(json!({"components": [{"name": "frontend"}, {"name": "frontend"}]}));
    let e = graph_to_alpha(&g).unwrap_err();
    assert!(e.message.contains("duplicate component name"), "{e}");
    assert_eq!(e.path, ["spec", "components", "1", "name"]);
}

#[test]
fn pvcs_are_preserved_in_the_graph_spec_payload() {
    // TestDGD_FromV1alpha1_PVCsPreserved
    let spec = json!({"pvcs": [{"name": "model", "create": true}],
        "services": {"worker": {"componentType": "worker"}}});
    let b = to_beta(spec.clone());
    let payload: Value = serde_json::from_str(
        b["metadata"]["annotations"]["nvidia.com/dgd-spec"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        payload,
        json!({"version": 1, "spec": {"pvcs": [{"name": "model", "create": true}]}})
    );
    assert!(b["spec"].get("pvcs").is_none());
    alpha_round_trip(spec);
}

#[test]
fn worker_subcomponents_become_component_types() {
    // sharedComponentTypeToHub / TestDGD_FromV1alpha1_SubComponentType
    let b = to_beta(json!({"services": {
        "p": {"componentType": "worker", "subComponentType": "prefill"},
        "w": {"componentType": "worker", "subComponentType": "custom-prefill"}}}));
    assert_eq!(b["spec"]["components"][0]["type"], "prefill");
    assert_eq!(b["spec"]["components"][1]["type"], "worker");
    alpha_round_trip(
        json!({"services": {"w": {"componentType": "worker", "subComponentType": "custom-prefill"}}}),
    );
    let a = graph_to_alpha(&beta_graph(
        json!({"components": [{"name": "d", "type": "decode"}]}),
    ))
    .unwrap();
    let d = &a.spec.services.unwrap()["d"];
    assert_eq!(
        (d.component_type.as_deref(), d.sub_component_type.as_deref()),
        (Some("worker"), Some("decode"))
    );
}

#[test]
fn shared_memory_disabled_is_size_zero() {
    // ConvertFromSharedMemorySpec / TestDGD_RoundTrip_SharedMemoryDisabledZero
    let b = to_beta(json!({"services": {"w": {"sharedMemory": {"disabled": true}}}}));
    assert_eq!(b["spec"]["components"][0]["sharedMemorySize"], "0");
    let a = graph_to_alpha(&beta_graph(
        json!({"components": [{"name": "w", "sharedMemorySize": "0"}]}),
    ))
    .unwrap();
    let shm = a.spec.services.unwrap()["w"].shared_memory.clone().unwrap();
    assert_eq!(shm.disabled, Some(true));
    beta_round_trip(json!({"components": [{"name": "w", "sharedMemorySize": "0"}]}));
}

#[test]
fn scaling_adapter_presence_is_enabled() {
    // TestDGD_RoundTrip_ScalingAdapter / TestDGD_FromV1alpha1_ScalingAdapterDisabled
    let b = to_beta(
        json!({"services": {"w": {"scalingAdapter": {"enabled": true}}, "x": {"scalingAdapter": {"enabled": false}}}}),
    );
    assert_eq!(b["spec"]["components"][0]["scalingAdapter"], json!({}));
    assert!(b["spec"]["components"][1].get("scalingAdapter").is_none());
    beta_round_trip(
        json!({"components": [{"name": "worker", "type": "worker", "scalingAdapter": {}}]}),
    );
    alpha_round_trip(json!({"services": {"x": {"scalingAdapter": {"enabled": false}}}}));
}

#[test]
fn pod_template_and_compilation_cache_round_trip() {
    // TestDGD_RoundTrip_PodTemplate, TestDGD_RoundTrip_CompilationCache
    beta_round_trip(
        json!({"components": [{"name": "worker", "type": "worker", "sharedMemorySize": "4Gi",
        "podTemplate": {"metadata": {"annotations": {"prom.io/scrape": "true"}, "labels": {"tier": "gpu"}},
            "spec": {"containers": [{"name": "main", "image": "dynamo:latest",
                "env": [{"name": "DYN_COMPONENT", "value": "worker"}],
                "resources": {"requests": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}}}]}}}]}),
    );
    let cache = json!({"components": [{"name": "worker", "type": "worker",
        "compilationCache": {"pvcName": "cache-pvc", "mountPath": "/opt/cache"},
        "podTemplate": {"spec": {"containers": [{"name": "main",
            "volumeMounts": [{"name": "cache-pvc", "mountPath": "/opt/cache"}]}]}}}]});
    beta_round_trip(cache.clone());
    // The cache's own mount is the cache, not a second mount of the main container.
    let a = graph_to_alpha(&beta_graph(cache)).unwrap();
    let w = &a.spec.services.unwrap()["worker"];
    assert_eq!(
        w.volume_mounts.as_ref().unwrap()[0].use_as_compilation_cache,
        Some(true)
    );
    assert!(w.extra_pod_spec.is_none());
}

#[test]
fn services_become_components_sorted_by_name_and_unsorted_order_is_kept() {
    // TestDGD_RoundTrip_MultipleServicesOrderStable
    let b = to_beta(json!({"services": {"b": {}, "a": {}, "C": {}}}));
    let names: Vec<&str> = b["spec"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["C", "a", "b"]);
    beta_round_trip(json!({"components": [{"name": "z"}, {"name": "a"}, {"name": "m"}]}));
}

#[test]
fn other_kinds_and_same_version_pass_through() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    assert_eq!(convert_value(&cm, V1BETA1).unwrap(), cm);
    let g = serde_json::to_value(alpha_graph(json!({"services": {"a": {}}}))).unwrap();
    assert_eq!(convert_value(&g, V1ALPHA1).unwrap(), g);
    let b = convert_value(&g, V1BETA1).unwrap();
    assert_eq!(b["apiVersion"], V1BETA1);
    assert_eq!(convert_value(&b, V1ALPHA1).unwrap(), g);
}
