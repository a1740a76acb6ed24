//! The service spec shared by graph services and component deployments, and its parts.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, Probe, ResourceClaim};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The inference backend a graph runs.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BackendFramework {
    /// SGLang workers.
    Sglang,
    /// vLLM workers.
    Vllm,
    /// TensorRT-LLM workers.
    Trtllm,
}

impl BackendFramework {
    /// The value as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendFramework::Sglang => "sglang",
            BackendFramework::Vllm => "vllm",
            BackendFramework::Trtllm => "trtllm",
        }
    }
}

/// One service of a graph: what runs, how many, with which resources. The same shape is
/// inlined into a DynamoComponentDeployment's spec.
// The large optional parts (the pod spec, probes, resources, ingress) are boxed: the
// operator keeps every graph and component in memory, and inline they made each service
// 5.4 KB whether set or not (a graph's map of services allocates room for 11 of them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    /// Role of the service: `frontend`, `worker`, `prefill`, `decode` or `planner` get
    /// role-specific defaults (ports, probes, command, env); any other value gets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_type: Option<String>,
    /// Finer role, e.g. `prefill` or `decode`; becomes the pod label
    /// `nvidia.com/dynamo-sub-component-type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_component_type: Option<String>,
    /// Number of pods. Unset means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<i32>,
    /// CPU, memory, GPU and custom resources of the main container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Box<Resources>>,
    /// Environment variables of the main container; they win over graph-level `envs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envs: Option<Vec<EnvVar>>,
    /// Name of a Secret whose keys become environment variables of the main container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_from_secret: Option<String>,
    /// PersistentVolumeClaims to mount into the main container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    /// The tmpfs at `/dev/shm`: on by default with 8Gi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_memory: Option<SharedMemorySpec>,
    /// Pod spec fields merged over the generated pod, plus `mainContainer`, merged over the
    /// generated main container (non-empty fields override).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_pod_spec: Option<Box<ExtraPodSpec>>,
    /// Labels and annotations added to the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_pod_metadata: Option<ExtraPodMetadata>,
    /// Annotations of the generated Deployment and Service; also read as feature switches
    /// (`nvidia.com/deployment-strategy`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels added to the generated Deployment, Service and pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Replaces the role's default liveness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Box<Probe>>,
    /// Replaces the role's default readiness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Box<Probe>>,
    /// Nodes per replica. A nodeCount above 1 runs as a Grove PodCliqueSet or a
    /// LeaderWorkerSet with a Volcano gang, whichever the operator's configuration enables;
    /// with neither, the graph is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multinode: Option<MultinodeSpec>,
    /// Ingress for a frontend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Box<IngressSpec>>,
    /// Scaling adapter: with `enabled: true` the operator creates a
    /// DynamoGraphDeploymentScalingAdapter `<graph>-<lower(service)>` whose replicas (set by
    /// HPA, KEDA, the planner or `kubectl scale`) it writes into this service's `replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_adapter: Option<ScalingAdapter>,
    /// The base model this service serves; adds the `nvidia.com/dynamo-base-model-hash` pod
    /// label and a headless Service per model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_ref: Option<ModelReference>,
    /// Deprecated and ignored: the Dynamo namespace is always `<namespace>-<graph>`, or
    /// `dynamo` with `globalDynamoNamespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamo_namespace: Option<String>,
    /// Use the shared Dynamo namespace `dynamo` instead of `<namespace>-<graph>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_dynamo_namespace: Option<bool>,
    /// Deprecated and ignored: no HorizontalPodAutoscaler is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// The graph's service key; set on DynamoComponentDeployments by the graph controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Grove provider override (upstream 1.x); not supported by dynamoctl: refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub provider_override: Option<serde_json::Value>,
    /// The Dynamo runtime version of the main image, `MAJOR.MINOR.PATCH` (upstream 1.x); not
    /// supported by dynamoctl, which renders one runtime version: refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$"
    ))]
    pub runtime_version_override: Option<String>,
    /// Grove gang-scheduling minimum (upstream 1.x); needs Grove: refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_available: Option<i32>,
    /// Endpoint picker configuration of an `epp` component (upstream 1.x); not supported by
    /// dynamoctl: refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub epp_config: Option<serde_json::Value>,
    /// A frontend sidecar container (upstream 1.x); not supported by dynamoctl: refused on
    /// render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub frontend_sidecar: Option<serde_json::Value>,
    /// Checkpoint/restore settings (upstream 1.x); not supported by dynamoctl: refused on
    /// render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub checkpoint: Option<serde_json::Value>,
    /// Topology-aware placement of this service (upstream 1.x); needs Grove: refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_constraint: Option<TopologyConstraint>,
    /// GPU memory service (upstream 1.x); not supported by dynamoctl: refused on render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub gpu_memory_service: Option<serde_json::Value>,
    /// Failover with shadow engines (upstream 1.x); not supported by dynamoctl: refused on
    /// render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub failover: Option<serde_json::Value>,
}

/// A graph-level restart request (upstream 1.x): changing `id` restarts the graph's pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Restart {
    /// Identifier of the restart request; a new value requests a new restart.
    #[schemars(length(min = 1))]
    pub id: String,
    /// How the services restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<RestartStrategy>,
}

/// Order of a graph restart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestartStrategy {
    /// `Sequential` or `Parallel`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub strategy_type: Option<RestartStrategyType>,
    /// Service names in restart order (Sequential only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<String>>,
}

/// How a graph restarts its services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RestartStrategyType {
    /// One service after another.
    Sequential,
    /// All services at once.
    Parallel,
}

/// Progress of the graph's latest restart request, as upstream reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestartStatus {
    /// The `spec.restart.id` this status describes.
    #[serde(
        default,
        rename = "observedID",
        skip_serializing_if = "Option::is_none"
    )]
    pub observed_id: Option<String>,
    /// `Pending`, `Restarting`, `Completed`, `Failed` or `Superseded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RestartPhase>,
    /// Services whose pods are being restarted now (one at a time when Sequential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<Vec<String>>,
}

/// Where a graph restart is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RestartPhase {
    /// Requested, not started.
    Pending,
    /// Pods are being replaced.
    Restarting,
    /// Every service restarted (or, for an id present at creation, nothing to restart).
    Completed,
    /// The restart could not finish.
    Failed,
    /// A newer change replaced the request before it finished.
    Superseded,
}

/// Graph-level topology constraint (upstream 1.x).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpecTopologyConstraint {
    /// Name of the ClusterTopology to use.
    #[schemars(length(min = 1))]
    pub cluster_topology_name: String,
    /// Topology domain the graph packs into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"))]
    pub pack_domain: Option<String>,
}

/// Service-level topology constraint (upstream 1.x).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopologyConstraint {
    /// Topology domain the service packs into.
    #[schemars(regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"))]
    pub pack_domain: String,
}

/// Requests, limits and DRA claims of the main container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    /// Requested resources. `gpu` here is not copied: Kubernetes defaults extended-resource
    /// requests to the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceItem>,
    /// Resource limits. `gpu` becomes `nvidia.com/gpu` (or `gpuType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceItem>,
    /// Dynamic resource allocation claims of the main container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ResourceClaim>>,
}

/// One set of resource quantities.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceItem {
    /// CPU quantity, e.g. `"8"` or `"500m"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Memory quantity, e.g. `"16Gi"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Number of GPUs, e.g. `"1"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
    /// Extended resource name of the GPUs. Default `nvidia.com/gpu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_type: Option<String>,
    /// Other resources by name, e.g. `rdma/ib: "1"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<BTreeMap<String, String>>,
}

/// A PersistentVolumeClaim a graph uses, created by the graph when `create` is true.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pvc {
    /// Name of the claim.
    pub name: String,
    /// Create the claim (it must not exist yet); otherwise it must already exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
    /// StorageClass of a created claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Size of a created claim, e.g. `100Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Quantity>,
    /// Access mode of a created claim, e.g. `ReadWriteMany`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_access_mode: Option<String>,
}

/// A claim mounted into the main container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    /// Name of the PersistentVolumeClaim.
    pub name: String,
    /// Where to mount it. Required unless `useAsCompilationCache` (vLLM then defaults to
    /// `/root/.cache/vllm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_point: Option<String>,
    /// Use the volume as the backend's compilation cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_as_compilation_cache: Option<bool>,
}

/// Shared memory (`/dev/shm`) of the pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SharedMemorySpec {
    /// Turn the tmpfs off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Size of the tmpfs; required unless disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Quantity>,
}

/// Pod spec overrides. All PodSpec fields are optional here.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtraPodSpec {
    /// Fields of a PodSpec, merged over the generated one (non-empty fields override).
    #[serde(flatten)]
    pub pod_spec: PodSpec,
    /// Merged over the generated main container (non-empty fields override; `env` is merged by
    /// name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_container: Option<Box<Container>>,
}

impl Serialize for ExtraPodSpec {
    // PodSpec always writes `containers`, even empty; an unset list must stay unset here so
    // that server-side apply does not take ownership of an empty list.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let mut value = serde_json::to_value(&self.pod_spec).map_err(S::Error::custom)?;
        if let Some(map) = value.as_object_mut() {
            if map
                .get("containers")
                .is_some_and(|c| c.as_array().is_some_and(Vec::is_empty))
            {
                map.remove("containers");
            }
            if let Some(main) = &self.main_container {
                let mut main = serde_json::to_value(main).map_err(S::Error::custom)?;
                // Container always writes `name`; the main container's name is ours to set.
                if let Some(m) = main
                    .as_object_mut()
                    .filter(|m| m.get("name") == Some(&serde_json::json!("")))
                {
                    m.remove("name");
                }
                map.insert("mainContainer".to_string(), main);
            }
        }
        value.serialize(serializer)
    }
}

/// Pod metadata additions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtraPodMetadata {
    /// Added to the pod annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Added to the pod labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Multinode layout of one replica.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultinodeSpec {
    /// Nodes per replica (at least 2; default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2))]
    pub node_count: Option<i32>,
    /// Overrides for the leader role (upstream 1.x: a `providerOverride`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub leader: Option<serde_json::Value>,
    /// Overrides for the worker role (upstream 1.x: a `providerOverride`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub worker: Option<serde_json::Value>,
}

/// Ingress of a frontend.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// Create the Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Host name (without prefix and suffix); required when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Prepended to `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_prefix: Option<String>,
    /// Domain appended as `.<hostSuffix>`; default `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_suffix: Option<String>,
    /// Also create an Istio VirtualService (`networking.istio.io/v1beta1`) for the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_virtual_service: Option<bool>,
    /// Istio gateway of the VirtualService; default the operator's `ingress.virtualServiceGateway`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_service_gateway: Option<String>,
    /// IngressClass of the Ingress; the Ingress is only created when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_controller_class_name: Option<String>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<IngressTls>,
    /// Annotations of the Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels of the Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// TLS of an Ingress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressTls {
    /// Secret holding the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

/// Scaling adapter settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingAdapter {
    /// Upstream 0.8.0's opt-out, accepted and ignored: adapters are opt-in (`enabled`), so
    /// `disable` never turns one on, and `enabled: true` wins over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<bool>,
    /// Create a scaling adapter for this service (upstream 1.x; off by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A reference to a base model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelReference {
    /// The base model name, e.g. `Qwen/Qwen3-0.6B`.
    pub name: String,
    /// Model revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// Deprecated autoscaling settings, accepted and ignored (a warning says so).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Autoscaling {
    /// Ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// Ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// Ignored (a HorizontalPodAutoscaler `behavior`, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub behavior: Option<serde_json::Value>,
    /// Ignored (HorizontalPodAutoscaler `metrics`, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_list")]
    pub metrics: Option<Vec<serde_json::Value>>,
}

/// Replica counts of one service's workload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceReplicaStatus {
    /// Kind of the workload (`Deployment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_kind: Option<String>,
    /// Name of the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_name: Option<String>,
    /// Desired replicas.
    #[serde(default)]
    pub replicas: i32,
    /// Replicas running the current pod template.
    #[serde(default)]
    pub updated_replicas: i32,
    /// Ready replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Available replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
}
