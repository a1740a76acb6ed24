//! Upstream's `OperatorConfiguration` (`operator.config.dynamo.nvidia.com/v1alpha1`), key for
//! key, so a configuration file written for upstream's operator works here unchanged. Every
//! field is optional: an absent field takes its default (see `docs/configuration.md`), and
//! `dynamoctl run controller` flags override what the file says.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `apiVersion` of the configuration file.
pub const API_VERSION: &str = "operator.config.dynamo.nvidia.com/v1alpha1";
/// `kind` of the configuration file.
pub const KIND: &str = "OperatorConfiguration";

/// The operator-wide settings: addresses of the runtime's infrastructure, ingress defaults,
/// orchestrators, the operator's own servers, leases and namespace mode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperatorConfiguration {
    /// Always `operator.config.dynamo.nvidia.com/v1alpha1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Always `OperatorConfiguration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Metrics, health-probe and webhook servers.
    #[serde(default, skip_serializing_if = "is_default")]
    pub server: Server,
    /// Leader election among operator replicas.
    #[serde(default, skip_serializing_if = "is_default")]
    pub leader_election: LeaderElection,
    /// Cluster-wide or namespace-restricted mode.
    #[serde(default, skip_serializing_if = "is_default")]
    pub namespace: Namespace,
    /// Multinode orchestrators and gang schedulers (unset: detected from the API server).
    #[serde(default, skip_serializing_if = "is_default")]
    pub orchestrators: Orchestrators,
    /// Dynamic Resource Allocation (accepted for compatibility; not used).
    #[serde(default, skip_serializing_if = "is_default")]
    pub dra: Toggle,
    /// Addresses injected into every component pod.
    #[serde(default, skip_serializing_if = "is_default")]
    pub infrastructure: Infrastructure,
    /// The default Ingress given to frontends that declare none.
    #[serde(default, skip_serializing_if = "is_default")]
    pub ingress: Ingress,
    /// Service-mesh resources for EPP components (accepted for compatibility; not used).
    #[serde(default, skip_serializing_if = "is_default")]
    pub service_mesh: ServiceMesh,
    /// Cluster roles bound by the operator in cluster-wide mode (accepted; not used).
    #[serde(default, skip_serializing_if = "is_default")]
    pub rbac: Rbac,
    /// The SSH secret TRT-LLM multinode workers use for `mpirun`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mpi: Mpi,
    /// Checkpoint/restore (accepted for compatibility; not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub checkpoint: Option<serde_json::Value>,
    /// The runtime's default discovery backend.
    #[serde(default, skip_serializing_if = "is_default")]
    pub discovery: Discovery,
    /// GPU discovery (accepted for compatibility; not used).
    #[serde(default, skip_serializing_if = "is_default")]
    pub gpu: Gpu,
    /// The operator's log level and format.
    #[serde(default, skip_serializing_if = "is_default")]
    pub logging: Logging,
    /// HTTP/2 for the operator's servers (accepted for compatibility; not used).
    #[serde(default, skip_serializing_if = "is_default")]
    pub security: Security,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The operator's servers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Server {
    /// `/metrics` (default `0.0.0.0:8080`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub metrics: MetricsServer,
    /// `/healthz` and `/readyz` (default `0.0.0.0:8081`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub health_probe: BindServer,
    /// The conversion webhook (v1alpha1 <-> v1beta1). Upstream's admission webhooks are not
    /// served: dynamoctl validates with CEL instead.
    #[serde(default, skip_serializing_if = "is_default")]
    pub webhook: WebhookServer,
}

/// A bind address and port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindServer {
    /// Address to listen on, e.g. `0.0.0.0` or `127.0.0.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_address: Option<String>,
    /// Port to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// The metrics server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsServer {
    /// Address to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_address: Option<String>,
    /// Port to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Upstream serves metrics over HTTPS with authentication; dynamoctl serves plain HTTP
    /// (accepted for compatibility).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
}

/// The conversion webhook's server: on when `serviceName` is set (cluster-wide operators only).
/// The operator always provisions its own certificates into `secretName`; `certDir` and
/// `certProvisionMode` are accepted for compatibility and not used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookServer {
    /// Address to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_address: Option<String>,
    /// Port to listen on (default 9443).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Host to listen on (upstream's name for `bindAddress`; `bindAddress` wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Directory of the serving certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_dir: Option<String>,
    /// `auto` or `manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_provision_mode: Option<String>,
    /// Secret holding the certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Service in front of the webhook server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
}

/// Leader election among replicas.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaderElection {
    /// Elect a leader; only the leader reconciles (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Name of the leader-election Lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Namespace of the leader-election Lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Namespace mode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Namespace {
    /// Manage only this namespace and hold its namespace-scope marker (empty: cluster-wide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted: Option<String>,
    /// The namespace-scope marker Lease.
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: NamespaceScope,
}

/// Timing of the namespace-scope marker Lease.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceScope {
    /// How long the marker stays valid without renewal, a Go duration (default `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_duration: Option<String>,
    /// How often the marker is renewed (default `10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_renew_interval: Option<String>,
}

/// Multinode orchestrators and schedulers; `enabled` unset means detected from API discovery.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Orchestrators {
    /// Grove (`grove.io`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub grove: Grove,
    /// LeaderWorkerSet (`leaderworkerset.x-k8s.io`, with Volcano gangs).
    #[serde(default, skip_serializing_if = "is_default")]
    pub lws: Toggle,
    /// The Kai scheduler (`scheduling.run.ai`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub kai_scheduler: Toggle,
    /// The Volcano scheduler (`scheduling.volcano.sh`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub volcano_scheduler: Toggle,
}

/// Grove settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Grove {
    /// Use Grove (unset: when the `grove.io` API exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `terminationDelay` of PodCliqueSets, a Go duration (default `15m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_delay: Option<String>,
}

/// A feature that is detected unless set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Toggle {
    /// On or off (unset: detected from API discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Addresses of the runtime's infrastructure, injected into every component pod.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Infrastructure {
    /// `NATS_SERVER`: `nats://host:port` (comma-separated for several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_address: Option<String>,
    /// `ETCD_ENDPOINTS`: `host:port` or `http(s)://host:port` (comma-separated for several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_address: Option<String>,
    /// `MODEL_EXPRESS_URL`: an `http(s)://` URL.
    #[serde(
        default,
        rename = "modelExpressURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub model_express_url: Option<String>,
    /// `PROMETHEUS_ENDPOINT`: an `http(s)://` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_endpoint: Option<String>,
}

/// The default frontend Ingress.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ingress {
    /// Istio gateway (`namespace/name`) of VirtualServices: setting it gives frontends without
    /// an ingress a default VirtualService, and serves ingresses with `useVirtualService` and
    /// no gateway of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_service_gateway: Option<String>,
    /// IngressClass of the default Ingress; setting it turns the default Ingress on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_class_name: Option<String>,
    /// TLS Secret of the default Ingress.
    #[serde(
        default,
        rename = "controllerTLSSecretName",
        skip_serializing_if = "Option::is_none"
    )]
    pub controller_tls_secret_name: Option<String>,
    /// Host suffix: frontends are served at `<graph>.<hostSuffix>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_suffix: Option<String>,
}

/// Upstream's service-mesh settings (accepted for compatibility; not used).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceMesh {
    /// On or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `istio` or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Istio settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::crd::free_form_object")]
    pub istio: Option<serde_json::Value>,
}

/// Upstream's cluster-role names (accepted for compatibility; not used).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rbac {
    /// The planner's ClusterRole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner_cluster_role_name: Option<String>,
    /// The profiling jobs' ClusterRole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dgdr_profiling_cluster_role_name: Option<String>,
    /// The EPP's ClusterRole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epp_cluster_role_name: Option<String>,
}

/// The MPI SSH secret of TRT-LLM multinode workers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mpi {
    /// Name of the Secret with the SSH key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_secret_name: Option<String>,
    /// Namespace the Secret is replicated from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_secret_namespace: Option<String>,
}

/// The runtime's discovery backend.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Discovery {
    /// `kubernetes` (default) or `etcd`; a graph's `nvidia.com/dynamo-discovery-backend`
    /// annotation wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
}

/// GPU discovery (accepted for compatibility; not used).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gpu {
    /// On or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_enabled: Option<bool>,
}

/// The operator's logging.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Logging {
    /// A tracing filter such as `info` or `debug,kube=warn` (default `info`); `RUST_LOG` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// `json` or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// Upstream's HTTP/2 switch (accepted for compatibility; not used).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Security {
    /// Serve HTTP/2.
    #[serde(
        default,
        rename = "enableHTTP2",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_http2: Option<bool>,
}
