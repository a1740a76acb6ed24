//! DynamoGraphDeploymentScalingAdapter (`dgdsa`): the `/scale` target of one graph service.
//! Autoscalers (HPA, KEDA, the SLA planner) or `kubectl scale` set `spec.replicas`; the
//! operator writes it into the graph's `spec.services.<service>.replicas`, so the graph keeps
//! a single writer for every service that opted in with `scalingAdapter.enabled: true`.
//!
//! Only `nvidia.com/v1alpha1` is served: upstream's v1beta1 DGDSA renames
//! `dgdRef.serviceName` to `dgdRef.componentName`, which needs a conversion webhook for this
//! kind too (`docs/scaling.md`).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::v1alpha1::ComponentSpec;

/// The desired replicas of one graph service.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "nvidia.com",
    version = "v1alpha1",
    kind = "DynamoGraphDeploymentScalingAdapter",
    namespaced,
    status = "ScalingAdapterStatus",
    shortname = "dgdsa",
    category = "dynamo",
    doc = "DynamoGraphDeploymentScalingAdapter is the scale subresource of one DynamoGraphDeployment service, for HPA, KEDA, the planner and `kubectl scale`; the operator writes its replicas into the graph.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn = r#"{"name":"DGD","type":"string","jsonPath":".spec.dgdRef.name","description":"DynamoGraphDeployment name"}"#,
    printcolumn = r#"{"name":"SERVICE","type":"string","jsonPath":".spec.dgdRef.serviceName","description":"Service name"}"#,
    printcolumn = r#"{"name":"REPLICAS","type":"integer","jsonPath":".status.replicas","description":"Current replicas"}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ScalingAdapterSpec {
    /// Desired replicas of the service; set by autoscalers, the planner or `kubectl scale`.
    /// The operator writes it into the graph.
    #[schemars(range(min = 0))]
    pub replicas: i32,
    /// The graph and the service this adapter scales.
    pub dgd_ref: GraphServiceRef,
}

/// A service of a graph in the adapter's namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphServiceRef {
    /// Name of the DynamoGraphDeployment.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The service's key in the graph's `spec.services` (case as written there).
    #[schemars(length(min = 1))]
    pub service_name: String,
}

/// What the adapter last did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingAdapterStatus {
    /// Replicas the graph's service has (the scale subresource's `status.replicas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Label selector of exactly the service's pods (what an HPA measures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// When the adapter last changed the graph's replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_time: Option<Time>,
}

/// The plural resource name, as RBAC rules and `kubectl` spell it.
pub const PLURAL: &str = "dynamographdeploymentscalingadapters";

/// Whether a service opted in to an adapter. `scalingAdapter.enabled: true` (what v1beta1's
/// `scalingAdapter: {}` converts to); 0.8.0's `disable` is accepted but turns nothing on.
pub fn enabled(spec: &ComponentSpec) -> bool {
    spec.scaling_adapter
        .as_ref()
        .is_some_and(|s| s.enabled == Some(true))
}

/// The adapter's name for a service: `<graph>-<lower(service)>`, as upstream names it.
pub fn adapter_name(graph: &str, service: &str) -> String {
    format!("{graph}-{}", service.to_lowercase())
}

/// The CRD, ready to serialise; `dynamoctl generate` writes it next to the other CRDs.
pub fn crd() -> CustomResourceDefinition {
    let mut crd = DynamoGraphDeploymentScalingAdapter::crd();
    // Helm must never delete a CRD (and with it every adapter) on uninstall.
    crd.metadata.annotations = Some(
        [("helm.sh/resource-policy".to_string(), "keep".to_string())]
            .into_iter()
            .collect(),
    );
    crd
}

/// Every problem with an adapter document, as (path, message): its schema as the API server
/// enforces it (`replicas` at least 0, a non-empty `dgdRef`), so `dynamoctl` refuses bad
/// input before anything is sent. Empty for a valid adapter.
pub fn check(value: &serde_json::Value) -> Vec<(Vec<String>, String)> {
    static SCHEMA: std::sync::OnceLock<super::schema::ObjectSchema> = std::sync::OnceLock::new();
    let schema = SCHEMA.get_or_init(|| {
        let crd = crd();
        let schema = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref());
        super::schema::ObjectSchema::new(serde_json::to_value(schema).expect("schema serialises"))
    });
    schema
        .validate(value, None)
        .into_iter()
        .map(|v| (v.path, v.message))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_has_the_scale_subresource_and_a_structural_schema() {
        let crd = crd();
        let v = &crd.spec.versions[0];
        let scale = v
            .subresources
            .as_ref()
            .and_then(|s| s.scale.as_ref())
            .unwrap();
        assert_eq!(scale.spec_replicas_path, ".spec.replicas");
        assert_eq!(scale.status_replicas_path, ".status.replicas");
        assert_eq!(
            scale.label_selector_path.as_deref(),
            Some(".status.selector")
        );
        let schema = serde_json::to_value(
            v.schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref()),
        )
        .unwrap();
        assert!(crate::api::schema::structural_violations(&schema).is_empty());
        let spec = &schema["properties"]["spec"];
        assert_eq!(spec["required"], json!(["dgdRef", "replicas"]));
        assert_eq!(
            spec["properties"]["replicas"]["minimum"].as_f64(),
            Some(0.0)
        );
        assert_eq!(
            spec["properties"]["dgdRef"]["required"],
            json!(["name", "serviceName"])
        );
        assert_eq!(crd.spec.names.short_names, Some(vec!["dgdsa".to_string()]));
    }

    #[test]
    fn bad_adapters_are_refused_by_their_schema() {
        let adapter = |spec: serde_json::Value| json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter", "metadata": {"name": "a"}, "spec": spec});
        assert!(
            check(&adapter(
                json!({"replicas": 2, "dgdRef": {"name": "g", "serviceName": "W"}})
            ))
            .is_empty()
        );
        let bad = check(&adapter(
            json!({"replicas": -1, "dgdRef": {"name": "g", "serviceName": ""}}),
        ));
        let paths: Vec<String> = bad.iter().map(|(p, _)| p.join(".")).collect();
        assert!(paths.contains(&"spec.replicas".to_string()), "{bad:?}");
        assert!(
            paths.contains(&"spec.dgdRef.serviceName".to_string()),
            "{bad:?}"
        );
        assert!(
            !check(&adapter(
                json!({"dgdRef": {"name": "g", "serviceName": "W"}})
            ))
            .is_empty()
        );
    }

    #[test]
    fn only_enabled_true_opts_in() {
        let svc = |v: serde_json::Value| -> ComponentSpec { serde_json::from_value(v).unwrap() };
        assert!(enabled(&svc(json!({"scalingAdapter": {"enabled": true}}))));
        assert!(!enabled(&svc(json!({"scalingAdapter": {}}))));
        assert!(!enabled(&svc(
            json!({"scalingAdapter": {"disable": false}})
        )));
        assert!(!enabled(&svc(json!({}))));
        assert_eq!(adapter_name("g", "VllmDecodeWorker"), "g-vllmdecodeworker");
    }
}
