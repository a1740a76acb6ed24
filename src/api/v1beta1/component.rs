//! The component shape shared by graph components and DynamoComponentDeployments.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::v1alpha1::{
    BackendFramework, ModelReference, MultinodeSpec, ServiceReplicaStatus, TopologyConstraint,
};

/// The role of a component; it drives ports, probes, command defaults and labels.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ComponentType {
    /// The HTTP frontend.
    Frontend,
    /// An aggregated worker.
    Worker,
    /// A disaggregated prefill worker.
    Prefill,
    /// A disaggregated decode worker.
    Decode,
    /// The planner.
    Planner,
    /// The endpoint picker (Gateway API inference extension).
    Epp,
}

impl ComponentType {
    /// The value as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentType::Frontend => "frontend",
            ComponentType::Worker => "worker",
            ComponentType::Prefill => "prefill",
            ComponentType::Decode => "decode",
            ComponentType::Planner => "planner",
            ComponentType::Epp => "epp",
        }
    }

    /// Parses a YAML value; `None` for anything outside the enum.
    pub fn parse(value: &str) -> Option<Self> {
        [
            ComponentType::Frontend,
            ComponentType::Worker,
            ComponentType::Prefill,
            ComponentType::Decode,
            ComponentType::Planner,
            ComponentType::Epp,
        ]
        .into_iter()
        .find(|t| t.as_str() == value)
    }
}

/// One component: its name, role, pod template and scaling.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// Grove provider override; refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub provider_override: Option<serde_json::Value>,
    /// Stable name of the component, unique (case-insensitively) within the graph. Children
    /// are named `<graph>-<lowercased name>`.
    #[serde(default)]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$")
    )]
    pub name: String,
    /// Role of the component.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub component_type: Option<ComponentType>,
    /// Dynamo runtime version of the main image; refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$"
    ))]
    pub runtime_version_override: Option<String>,
    /// Use the shared Dynamo namespace `dynamo` instead of `<namespace>-<graph>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_dynamo_namespace: Option<bool>,
    /// The pod: the container named `main` is the Dynamo container (the operator merges its
    /// defaults into it); other containers are sidecars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template: Option<PodTemplateSpec>,
    /// Number of pods. Unset means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<i32>,
    /// Grove gang-scheduling minimum; refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_available: Option<i32>,
    /// Nodes per replica and role overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multinode: Option<MultinodeSpec>,
    /// Size of the `/dev/shm` tmpfs: unset means 8Gi, `0` turns it off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_memory_size: Option<Quantity>,
    /// The base model this component serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_ref: Option<ModelReference>,
    /// Present (even `{}`) to opt into the scaling adapter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_adapter: Option<ScalingAdapterMarker>,
    /// Endpoint picker configuration (type `epp` only); refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub epp_config: Option<serde_json::Value>,
    /// Name of the podTemplate container that is the frontend sidecar; refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend_sidecar: Option<String>,
    /// A PersistentVolumeClaim used as the backend's compilation cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compilation_cache: Option<CompilationCache>,
    /// Topology-aware placement; refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_constraint: Option<TopologyConstraint>,
    /// Preview features (`gpuMemoryService`, `failover`, `grove`, `checkpoint`); refused on
    /// render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub experimental: Option<serde_json::Value>,
}

/// The scaling adapter opt-in: presence is the whole meaning.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScalingAdapterMarker {}

/// A PVC mounted as the compilation cache.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompilationCache {
    /// Name of the PersistentVolumeClaim.
    #[schemars(length(min = 1))]
    pub pvc_name: String,
    /// Where to mount it; vLLM defaults to `/root/.cache/vllm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
}

/// One component of a graph as its own object.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "nvidia.com",
    version = "v1beta1",
    kind = "DynamoComponentDeployment",
    namespaced,
    status = "DynamoComponentDeploymentStatus",
    shortname = "dcd",
    category = "dynamo",
    doc = "DynamoComponentDeployment is one component of a Dynamo graph: it becomes a Deployment, a Service and, for frontends with an ingress, an Ingress.",
    printcolumn = r#"{"name":"Component","type":"string","jsonPath":".spec.name"}"#,
    printcolumn = r#"{"name":"Available","type":"string","jsonPath":".status.conditions[?(@.type==\"Available\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DynamoComponentDeploymentSpec {
    /// The inference backend; immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_framework: Option<BackendFramework>,
    /// The component.
    #[serde(flatten)]
    pub component: Component,
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
    /// Replica counts of the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<ServiceReplicaStatus>,
}

/// Replica counts per component, keyed by component name.
pub type ComponentStatuses = BTreeMap<String, ServiceReplicaStatus>;
