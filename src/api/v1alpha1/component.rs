//! DynamoComponentDeployment: one service of a graph, as the graph controller writes it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BackendFramework, ComponentSpec, ServiceReplicaStatus};

/// One component of a graph, rendered into a Deployment, a Service and (for frontends with an
/// ingress) an Ingress.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "nvidia.com",
    version = "v1alpha1",
    kind = "DynamoComponentDeployment",
    namespaced,
    status = "DynamoComponentDeploymentStatus",
    shortname = "dcd",
    category = "dynamo",
    doc = "DynamoComponentDeployment is one service of a Dynamo graph: it becomes a Deployment, a Service and, for frontends with an ingress, an Ingress.",
    printcolumn = r#"{"name":"Component","type":"string","jsonPath":".spec.serviceName"}"#,
    printcolumn = r#"{"name":"Available","type":"string","jsonPath":".status.conditions[?(@.type==\"Available\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DynamoComponentDeploymentSpec {
    /// The inference backend; immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_framework: Option<BackendFramework>,
    /// The service spec.
    #[serde(flatten)]
    pub component: ComponentSpec,
}

/// Observed state of a component.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DynamoComponentDeploymentStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Available`, `DynamoComponentReady` (the same readiness) and `Valid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Labels that select the component's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<BTreeMap<String, String>>,
    /// Replica counts of the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceReplicaStatus>,
}
