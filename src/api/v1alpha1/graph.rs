//! DynamoGraphDeployment: a whole inference graph (frontend, workers, planner...).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    BackendFramework, ComponentSpec, Pvc, Restart, RestartStatus, ServiceReplicaStatus,
    SpecTopologyConstraint,
};

/// A Dynamo inference graph: a set of services that the operator turns into one
/// DynamoComponentDeployment (and from there a Deployment and Service) each.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "nvidia.com",
    version = "v1alpha1",
    kind = "DynamoGraphDeployment",
    namespaced,
    status = "DynamoGraphDeploymentStatus",
    shortname = "dgd",
    category = "dynamo",
    doc = "DynamoGraphDeployment is a Dynamo inference graph: services that each become a DynamoComponentDeployment, Deployment and Service.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Backend","type":"string","jsonPath":".spec.backendFramework"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DynamoGraphDeploymentSpec {
    /// The services of the graph, by name (mixed case allowed, e.g. `Frontend`). Each becomes
    /// a DynamoComponentDeployment named `<graph>-<lowercased name>`. At least one, at most 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 25))]
    pub services: Option<BTreeMap<String, Box<ComponentSpec>>>,
    /// Environment variables of every service's main container; a service's own `envs` win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envs: Option<Vec<EnvVar>>,
    /// PersistentVolumeClaims the graph uses, created when `create` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxItems" = 100))]
    pub pvcs: Option<Vec<Pvc>>,
    /// The inference backend; immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_framework: Option<BackendFramework>,
    /// Annotations for every child (upstream 1.x); not supported by dynamoctl yet: refused
    /// on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels for every child (upstream 1.x); not supported by dynamoctl yet: refused on
    /// render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// PriorityClass of Grove PodCliqueSets (upstream 1.x); needs Grove: refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Grove provider override (upstream 1.x); needs Grove: refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub provider_override: Option<serde_json::Value>,
    /// A restart request: a new `id` restarts every service's pods (`docs/operator.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Restart>,
    /// Graph-level topology constraint (upstream 1.x); needs Grove: refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_constraint: Option<SpecTopologyConstraint>,
    /// Preview features (upstream 1.x `kvTransferPolicy`); refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub experimental: Option<serde_json::Value>,
}

/// Observed state of a graph.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DynamoGraphDeploymentStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `pending`, `successful` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The `Ready` condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Replica counts per service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<BTreeMap<String, ServiceReplicaStatus>>,
    /// Progress of the latest restart request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartStatus>,
}

/// The name of the DynamoComponentDeployment (and its Deployment and Service) a graph's
/// service becomes: `<graph>-<lowercased service key>`, as upstream names it.
pub fn component_name(graph: &str, service_key: &str) -> String {
    format!("{graph}-{}", service_key.to_lowercase())
}
