//! Conversion between v1alpha1 and v1beta1 is lossless: generated objects (as upstream's
//! round-trip fuzz tests do) and every upstream example go to the other version and back
//! unchanged, and a change made in the other version survives the next round trip (upstream's
//! mutation fuzz).

mod common;

use dynamoctl::api::convert::{
    component_to_alpha, component_to_beta, graph_to_alpha, graph_to_beta, preserve,
};
use dynamoctl::api::{v1alpha1 as alpha, v1beta1 as beta};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A field drawn from a pool of values chosen to hit every conversion rule.
fn pick(values: Vec<Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![Just(None), proptest::sample::select(values).prop_map(Some)]
}

fn object(fields: Vec<(&'static str, BoxedStrategy<Option<Value>>)>) -> BoxedStrategy<Value> {
    let (names, strategies): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
    strategies
        .prop_map(move |values| {
            let mut m = Map::new();
            for (n, v) in names.iter().zip(values) {
                if let Some(v) = v {
                    m.insert(n.to_string(), v);
                }
            }
            Value::Object(m)
        })
        .boxed()
}

fn container_pool() -> Vec<Value> {
    vec![
        json!({"image": "img:1"}),
        json!({"image": "img:1", "args": ["--x"], "command": ["python3"], "workingDir": "/w"}),
        json!({"env": [{"name": "B", "value": "1"}, {"name": "A", "value": "2"}]}),
        json!({"resources": {"limits": {"cpu": "2", "nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1", "memory": "1Gi"}}}),
        json!({"resources": {"limits": {"amd.com/gpu": "2"}, "claims": [{"name": "gpu"}]}}),
        json!({"livenessProbe": {"exec": {"command": ["true"]}}, "startupProbe": {"httpGet": {"path": "/h", "port": 9090}}}),
        json!({"volumeMounts": [{"name": "cache", "mountPath": "/cache"}, {"name": "cfg", "mountPath": "/etc/cfg"}]}),
        json!({"envFrom": [{"secretRef": {"name": "hf"}}], "readinessProbe": {"tcpSocket": {"port": 8000}}}),
    ]
}

fn alpha_component() -> BoxedStrategy<Value> {
    object(vec![
        ("componentType", pick(vec![json!("frontend"), json!("worker"), json!("planner"), json!("main"), json!("prefill")]).boxed()),
        ("subComponentType", pick(vec![json!("prefill"), json!("decode"), json!("other")]).boxed()),
        ("replicas", pick(vec![json!(0), json!(1), json!(3)]).boxed()),
        ("resources", pick(vec![
            json!({"limits": {"gpu": "1"}}),
            json!({"limits": {"gpu": "2", "gpuType": "amd.com/gpu", "cpu": "4"}, "requests": {"gpu": "2", "memory": "8Gi", "custom": {"rdma/ib": "1"}}}),
            json!({"claims": [{"name": "c"}], "requests": {"cpu": "1"}}),
            json!({}),
        ]).boxed()),
        ("envs", pick(vec![json!([{"name": "A", "value": "x"}]), json!([{"name": "Z", "value": "1"}, {"name": "B", "value": "2"}]), json!([])]).boxed()),
        ("envFromSecret", pick(vec![json!("hf-token"), json!("")]).boxed()),
        ("volumeMounts", pick(vec![
            json!([{"name": "model", "mountPoint": "/models"}]),
            json!([{"name": "cache", "useAsCompilationCache": true}]),
            json!([{"name": "cache", "mountPoint": "/cache", "useAsCompilationCache": true}, {"name": "m", "mountPoint": "/m"}]),
        ]).boxed()),
        ("sharedMemory", pick(vec![json!({"size": "16Gi"}), json!({"disabled": true}), json!({"disabled": false, "size": "1Gi"}), json!({}), json!({"disabled": true, "size": "4Gi"})]).boxed()),
        ("extraPodSpec", pick(vec![
            json!({"mainContainer": container_pool()[1]}),
            json!({"mainContainer": container_pool()[3], "tolerations": [{"key": "k", "operator": "Exists"}]}),
            json!({"containers": [{"name": "sidecar", "image": "s"}], "mainContainer": container_pool()[2]}),
            json!({"containers": [{"name": "main", "image": "m"}]}),
            json!({"mainContainer": container_pool()[5], "volumes": [{"name": "cfg", "configMap": {"name": "c"}}]}),
            json!({"mainContainer": container_pool()[6]}),
            json!({"mainContainer": {"name": "named", "image": "x"}}),
        ]).boxed()),
        ("extraPodMetadata", pick(vec![json!({"labels": {"a": "b"}}), json!({"annotations": {"x": "y"}, "labels": {}}), json!({})]).boxed()),
        ("annotations", pick(vec![json!({"nvidia.com/deployment-strategy": "Recreate"})]).boxed()),
        ("labels", pick(vec![json!({"team": "a"})]).boxed()),
        ("livenessProbe", pick(vec![json!({"httpGet": {"path": "/live", "port": 9090}})]).boxed()),
        ("readinessProbe", pick(vec![json!({"exec": {"command": ["ok"]}})]).boxed()),
        ("multinode", pick(vec![json!({"nodeCount": 2}), json!({"nodeCount": 4, "leader": {"providerOverride": {"apiVersion": "x", "value": {}}}})]).boxed()),
        ("ingress", pick(vec![json!({"enabled": true, "host": "h"})]).boxed()),
        ("scalingAdapter", pick(vec![json!({"enabled": true}), json!({"enabled": false}), json!({"disable": true}), json!({})]).boxed()),
        ("modelRef", pick(vec![json!({"name": "Qwen/Qwen3-0.6B"})]).boxed()),
        ("dynamoNamespace", pick(vec![json!("ns")]).boxed()),
        ("globalDynamoNamespace", pick(vec![json!(true), json!(false)]).boxed()),
        ("autoscaling", pick(vec![json!({"enabled": true, "minReplicas": 1})]).boxed()),
        ("serviceName", pick(vec![json!("other"), json!("Worker")]).boxed()),
        ("runtimeVersionOverride", pick(vec![json!("1.4.0")]).boxed()),
        ("minAvailable", pick(vec![json!(1)]).boxed()),
        ("eppConfig", pick(vec![json!({"configMapRef": {"name": "c", "key": "k"}})]).boxed()),
        ("frontendSidecar", pick(vec![json!({"image": "fe", "args": ["a"]})]).boxed()),
        ("checkpoint", pick(vec![json!({"enabled": true, "mode": "Auto"})]).boxed()),
        ("topologyConstraint", pick(vec![json!({"packDomain": "rack"})]).boxed()),
        ("gpuMemoryService", pick(vec![json!({"enabled": true, "mode": "IntraPod"}), json!({"enabled": false})]).boxed()),
        ("failover", pick(vec![json!({"enabled": true, "numShadows": 1}), json!({"mode": "IntraPod"})]).boxed()),
        ("providerOverride", pick(vec![json!({"apiVersion": "grove.io/v1alpha1", "value": {"a": 1}})]).boxed()),
    ])
}

fn beta_component() -> BoxedStrategy<Value> {
    let template = vec![
        json!({"spec": {"containers": [{"name": "main", "image": "i", "env": [{"name": "Z", "value": "1"}, {"name": "A", "value": "2"}]}]}}),
        json!({"spec": {"containers": [{"name": "side", "image": "s"}, {"name": "main", "image": "i", "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}}]}}),
        json!({"metadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}}, "spec": {"containers": [{"name": "main", "image": "i", "livenessProbe": {"exec": {"command": ["x"]}}}], "tolerations": [{"key": "k", "operator": "Exists"}]}}),
        json!({"spec": {"containers": [{"name": "main", "image": "i", "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}], "volumes": [{"name": "v", "emptyDir": {}}]}}),
        json!({"spec": {"containers": [{"name": "main", "image": "i", "resources": {"limits": {"cpu": "1"}, "claims": [{"name": "g"}]}}], "resourceClaims": [{"name": "g", "resourceClaimTemplateName": "t"}]}}),
        json!({"spec": {"containers": [{"name": "main"}]}}),
        json!({"spec": {"containers": [{"name": "sidecar", "image": "s"}]}}),
        json!({"metadata": {"name": "tpl", "labels": {}}, "spec": {"containers": [{"name": "main", "image": "i", "envFrom": [{"secretRef": {"name": "s"}}]}]}}),
    ];
    object(vec![
        ("type", pick(["frontend", "worker", "prefill", "decode", "planner", "epp"].iter().map(|t| json!(t)).collect()).boxed()),
        ("replicas", pick(vec![json!(0), json!(2)]).boxed()),
        ("podTemplate", pick(template).boxed()),
        ("sharedMemorySize", pick(vec![json!("0"), json!("0Gi"), json!("16Gi")]).boxed()),
        ("compilationCache", pick(vec![json!({"pvcName": "cache", "mountPath": "/cache"}), json!({"pvcName": "cache"})]).boxed()),
        ("scalingAdapter", pick(vec![json!({})]).boxed()),
        ("multinode", pick(vec![json!({"nodeCount": 2, "worker": {"providerOverride": {"apiVersion": "v", "value": 1}}})]).boxed()),
        ("modelRef", pick(vec![json!({"name": "m", "revision": "r"})]).boxed()),
        ("globalDynamoNamespace", pick(vec![json!(true), json!(false)]).boxed()),
        ("frontendSidecar", pick(vec![json!("side")]).boxed()),
        ("experimental", pick(vec![json!({"gpuMemoryService": {"mode": "IntraPod"}}), json!({"grove": {"forceScalingGroup": true}}), json!({"failover": {"numShadows": 1}, "checkpoint": {"enabled": false}})]).boxed()),
        ("eppConfig", pick(vec![json!({"config": {"plugins": [{"type": "x", "parameters": {"a": 1}}]}})]).boxed()),
        ("topologyConstraint", pick(vec![json!({"packDomain": "zone"})]).boxed()),
        ("minAvailable", pick(vec![json!(1)]).boxed()),
        ("runtimeVersionOverride", pick(vec![json!("1.5.0")]).boxed()),
        ("providerOverride", pick(vec![json!({"apiVersion": "grove.io/v1alpha1", "target": "PodCliqueTemplateSpec", "value": {}})]).boxed()),
    ])
}

fn graph_level(beta: bool) -> BoxedStrategy<Value> {
    let env_key = if beta { "env" } else { "envs" };
    let mut fields = vec![
        (
            env_key,
            pick(vec![json!([{"name": "G", "value": "1"}])]).boxed(),
        ),
        (
            "backendFramework",
            pick(vec![json!("vllm"), json!("sglang")]).boxed(),
        ),
        ("annotations", pick(vec![json!({"a": "1"})]).boxed()),
        ("labels", pick(vec![json!({"l": "1"})]).boxed()),
        ("priorityClassName", pick(vec![json!("high")]).boxed()),
        (
            "restart",
            pick(vec![
                json!({"id": "r1", "strategy": {"type": "Sequential", "order": ["b", "a"]}}),
            ])
            .boxed(),
        ),
        (
            "topologyConstraint",
            pick(vec![
                json!({"clusterTopologyName": "t", "packDomain": "rack"}),
            ])
            .boxed(),
        ),
        (
            "experimental",
            pick(vec![
                json!({"kvTransferPolicy": {"domain": "rack", "labelKey": "k"}}),
            ])
            .boxed(),
        ),
    ];
    if !beta {
        fields.push(("pvcs", pick(vec![json!([{"name": "p", "create": true, "size": "1Gi", "storageClass": "s", "volumeAccessMode": "ReadWriteMany"}])]).boxed()));
    }
    object(fields)
}

const NAMES: &[&str] = &["Frontend", "worker", "decode", "Prefill-1", "planner", "a"];

fn alpha_graph() -> impl Strategy<Value = alpha::DynamoGraphDeployment> {
    (
        graph_level(false),
        proptest::collection::btree_map(proptest::sample::select(NAMES), alpha_component(), 0..4),
        any::<bool>(),
        pick(vec![json!({"state": "successful", "services": {"a": {"componentKind": "Deployment", "componentName": "g-a", "replicas": 1, "updatedReplicas": 1}}})]),
    )
        .prop_map(|(mut spec, services, with_services, status)| {
            if with_services {
                spec["services"] = json!(services);
            }
            let mut g = json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
                "metadata": {"name": "g", "namespace": "ns", "annotations": {"user": "kept"}}, "spec": spec});
            if let Some(s) = status {
                g["status"] = s;
            }
            serde_json::from_value(g).expect("generated v1alpha1 graph parses")
        })
}

fn beta_graph() -> impl Strategy<Value = beta::DynamoGraphDeployment> {
    (
        graph_level(true),
        proptest::sample::subsequence(NAMES.to_vec(), 0..4).prop_shuffle(),
        proptest::collection::vec(beta_component(), 4),
        any::<bool>(),
    )
        .prop_map(|(mut spec, names, components, with_components)| {
            if with_components {
                let list: Vec<Value> = names
                    .iter()
                    .zip(components)
                    .map(|(n, mut c)| {
                        c["name"] = json!(n);
                        c
                    })
                    .collect();
                spec["components"] = json!(list);
            }
            let g = json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
                "metadata": {"name": "g", "namespace": "ns"}, "spec": spec});
            serde_json::from_value(g).expect("generated v1beta1 graph parses")
        })
}

fn alpha_dcd() -> impl Strategy<Value = alpha::DynamoComponentDeployment> {
    (alpha_component(), any::<bool>()).prop_map(|(mut spec, status)| {
        spec["backendFramework"] = json!("trtllm");
        let mut d = json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoComponentDeployment",
            "metadata": {"name": "g-worker"}, "spec": spec});
        if status {
            d["status"] = json!({"podSelector": {"a": "b"}, "observedGeneration": 2});
        }
        serde_json::from_value(d).expect("generated v1alpha1 component parses")
    })
}

fn beta_dcd() -> impl Strategy<Value = beta::DynamoComponentDeployment> {
    (beta_component(), any::<bool>()).prop_map(|(mut spec, named)| {
        if named {
            spec["name"] = json!("worker");
        }
        let d = json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoComponentDeployment",
            "metadata": {"name": "g-worker"}, "spec": spec});
        serde_json::from_value(d).expect("generated v1beta1 component parses")
    })
}

fn v<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap()
}

fn without_private(mut v: Value) -> Value {
    if let Some(a) = v
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.retain(|k, _| !preserve::is_private(k));
        if a.is_empty() {
            v["metadata"].as_object_mut().unwrap().remove("annotations");
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn alpha_to_beta_to_alpha_is_identity(g in alpha_graph()) {
        let back = graph_to_alpha(&graph_to_beta(&g).unwrap()).unwrap();
        prop_assert_eq!(v(&back), v(&g));
    }

    #[test]
    fn beta_to_alpha_to_beta_is_identity(g in beta_graph()) {
        let back = graph_to_beta(&graph_to_alpha(&g).unwrap()).unwrap();
        prop_assert_eq!(v(&back), v(&g));
    }

    #[test]
    fn component_round_trips_are_identity(a in alpha_dcd(), b in beta_dcd()) {
        prop_assert_eq!(v(&component_to_alpha(&component_to_beta(&a).unwrap()).unwrap()), v(&a));
        prop_assert_eq!(v(&component_to_beta(&component_to_alpha(&b).unwrap()).unwrap()), v(&b));
    }

    /// Upstream's mutation fuzz: convert, change the other version (keeping the private
    /// annotations), convert back and forth again: the change is what comes out.
    #[test]
    fn changes_in_the_other_version_win_over_preserved_fields(
        g in alpha_graph(),
        replicas in 0i32..5,
        image in "[a-z]{1,8}",
    ) {
        let mut b = graph_to_beta(&g).unwrap();
        for c in b.spec.components.iter_mut().flatten() {
            c.replicas = Some(replicas);
            if let Some(main) = c.pod_template.as_mut().and_then(|t| t.spec.as_mut()).and_then(|s| s.containers.first_mut()) {
                main.image = Some(image.clone());
            }
        }
        let again = graph_to_beta(&graph_to_alpha(&b).unwrap()).unwrap();
        prop_assert_eq!(
            without_private(serde_json::to_value(&again).unwrap()),
            without_private(serde_json::to_value(&b).unwrap())
        );
    }

    #[test]
    fn changes_in_v1alpha1_win_over_preserved_fields(g in beta_graph(), replicas in 0i32..5) {
        let mut a = graph_to_alpha(&g).unwrap();
        for s in a.spec.services.iter_mut().flat_map(|s| s.values_mut()) {
            s.replicas = Some(replicas);
            s.envs = Some(vec![k8s_openapi::api::core::v1::EnvVar { name: "NEW".into(), value: Some("1".into()), ..Default::default() }]);
        }
        let again = graph_to_alpha(&graph_to_beta(&a).unwrap()).unwrap();
        prop_assert_eq!(
            without_private(serde_json::to_value(&again).unwrap()),
            without_private(serde_json::to_value(&a).unwrap())
        );
    }
}

/// Every upstream graph (both API versions) converts to the other version and back unchanged.
#[test]
fn upstream_examples_round_trip() {
    let mut seen = 0;
    for dir in ["tests/fixtures/upstream", "tests/fixtures/upstream-v1beta1"] {
        for entry in std::fs::read_dir(common::repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml")
                || path.to_string_lossy().contains("crd__bases")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for doc in dynamoctl::yaml::parse_documents(&text).unwrap() {
                let doc = doc.value;
                let name = format!("{}", path.display());
                match (doc["kind"].as_str(), doc["apiVersion"].as_str()) {
                    (Some("DynamoGraphDeployment"), Some("nvidia.com/v1alpha1")) => {
                        let g: alpha::DynamoGraphDeployment =
                            serde_json::from_value(doc.clone()).unwrap();
                        let b = graph_to_beta(&g).unwrap();
                        assert_eq!(v(&graph_to_alpha(&b).unwrap()), v(&g), "{name}");
                    }
                    (Some("DynamoGraphDeployment"), Some("nvidia.com/v1beta1")) => {
                        let g: beta::DynamoGraphDeployment =
                            serde_json::from_value(doc.clone()).unwrap();
                        let a = graph_to_alpha(&g).unwrap();
                        assert_eq!(v(&graph_to_beta(&a).unwrap()), v(&g), "{name}");
                    }
                    _ => continue,
                }
                seen += 1;
            }
        }
    }
    assert!(seen > 100, "only {seen} graphs found");
}
