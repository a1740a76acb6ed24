//! Names shared by render, the CLI and the controller: API group, label and annotation keys,
//! field managers. Upstream's `nvidia.com/*` keys are kept verbatim so existing tooling that
//! selects on them keeps working.

/// The API group of every Dynamo kind.
pub const GROUP: &str = "nvidia.com";
/// The only served version.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of every Dynamo kind.
pub const API_VERSION: &str = "nvidia.com/v1alpha1";

/// Field manager of `dynamoctl apply` and other CLI writes of user documents.
pub const FIELD_MANAGER_CLI: &str = "dynamoctl";
/// Field manager of every child the controller (or `apply --reconcile`) writes.
pub const FIELD_MANAGER_CONTROLLER: &str = "dynamoctl-controller";
/// Field manager of the scaling adapters' writes: the replicas an adapter writes into its
/// graph, and the adapters the operator creates.
pub const FIELD_MANAGER_ADAPTER: &str = "dynamoctl-scaling-adapter";
/// Field manager of status writes.
pub const FIELD_MANAGER_STATUS: &str = "dynamoctl-controller/status";
/// Field manager of `dynamoctl restart` (it owns only `spec.restart`).
pub const FIELD_MANAGER_RESTART: &str = "dynamoctl-restart";

/// The service key a child belongs to.
pub const LABEL_COMPONENT: &str = "nvidia.com/dynamo-component";
/// The Dynamo (runtime) namespace of a component.
pub const LABEL_DYNAMO_NAMESPACE: &str = "nvidia.com/dynamo-namespace";
/// The graph a child belongs to.
pub const LABEL_GRAPH: &str = "nvidia.com/dynamo-graph-deployment-name";
/// The componentType of a pod.
pub const LABEL_COMPONENT_TYPE: &str = "nvidia.com/dynamo-component-type";
/// The subComponentType of a pod.
pub const LABEL_SUB_COMPONENT_TYPE: &str = "nvidia.com/dynamo-sub-component-type";
/// The Deployment a pod belongs to (the Deployment's selector).
pub const LABEL_SELECTOR: &str = "nvidia.com/selector";
/// Set on pods whose metrics are scraped.
pub const LABEL_METRICS_ENABLED: &str = "nvidia.com/metrics-enabled";
/// Hash of the base model a pod serves (`modelRef`).
pub const LABEL_BASE_MODEL_HASH: &str = "nvidia.com/dynamo-base-model-hash";
/// Set on Services when Kubernetes discovery is used.
pub const LABEL_DISCOVERY_BACKEND: &str = "nvidia.com/dynamo-discovery-backend";
/// Set on non-frontend Services when Kubernetes discovery is used.
pub const LABEL_DISCOVERY_ENABLED: &str = "nvidia.com/dynamo-discovery-enabled";
/// Set by upstream's operator on the objects it shares per namespace.
pub const LABEL_NVIDIA_MANAGED_BY: &str = "nvidia.com/managed-by";

/// Kubernetes' recommended labels.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Kubernetes' recommended labels: the graph.
pub const LABEL_PART_OF: &str = "app.kubernetes.io/part-of";
/// Kubernetes' recommended labels: the role of the object.
pub const LABEL_APP_COMPONENT: &str = "app.kubernetes.io/component";
/// Kubernetes' recommended labels: the instance (graph or component name).
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
/// Kubernetes' recommended labels: the name of the object's application.
pub const LABEL_NAME: &str = "app.kubernetes.io/name";
/// Value of `app.kubernetes.io/managed-by` on everything we render.
pub const MANAGED_BY: &str = "dynamoctl";

/// Graph annotation: `kubernetes` (default) or `etcd` discovery.
pub const ANNOTATION_DISCOVERY_BACKEND: &str = "nvidia.com/dynamo-discovery-backend";
/// Graph or service annotation choosing vLLM's executor for an engine spanning nodes: `mp`
/// (vLLM's own multiprocessing) or `ray`, case-insensitively.
pub const ANNOTATION_VLLM_EXECUTOR: &str = "nvidia.com/vllm-distributed-executor-backend";
/// The operator version that created a graph (stamped by upstream's webhook; dynamoctl reads
/// it, never writes it): graphs from 1.0.0 on default to vLLM's `mp` executor.
pub const ANNOTATION_OPERATOR_ORIGIN_VERSION: &str = "nvidia.com/dynamo-operator-origin-version";
/// Graph annotation: `"false"` turns the metrics label off.
pub const ANNOTATION_ENABLE_METRICS: &str = "nvidia.com/enable-metrics";
/// Graph annotation: `"false"` forces the non-Grove path (the only one we have).
pub const ANNOTATION_ENABLE_GROVE: &str = "nvidia.com/enable-grove";
/// Service annotation: `RollingUpdate` (default) or `Recreate`.
pub const ANNOTATION_DEPLOYMENT_STRATEGY: &str = "nvidia.com/deployment-strategy";
/// Service annotation: rolling update max surge (int or percent).
pub const ANNOTATION_MAX_SURGE: &str = "nvidia.com/deployment-rolling-update-max-surge";
/// Service annotation: rolling update max unavailable (int or percent).
pub const ANNOTATION_MAX_UNAVAILABLE: &str = "nvidia.com/deployment-rolling-update-max-unavailable";
/// Annotation on the model Service and pods: the base model name.
pub const ANNOTATION_BASE_MODEL: &str = "nvidia.com/dynamo-base-model";
/// Pod-template annotation holding the id of the last restart a service went through; a new
/// value rolls its pods (upstream's key).
pub const ANNOTATION_RESTART_AT: &str = "nvidia.com/restartAt";
/// Upstream's debug switches (a service annotation set to `"true"`), with what each asks
/// for. dynamoctl renders none of them, so it refuses them by name rather than drop them.
pub const DEBUG_ANNOTATIONS: &[(&str, &str)] = &[
    (
        "nvidia.com/enable-debug-mode",
        "a debugger sidecar container in every pod",
    ),
    (
        "nvidia.com/enable-stealing-traffic-debug-mode",
        "a second, debug Deployment (`<name>-d`) with its own Services",
    ),
    (
        "nvidia.com/enable-debug-pod-receive-production-traffic",
        "routing production traffic to the debug Deployment",
    ),
];

/// ServiceAccount given to planner pods.
pub const PLANNER_SERVICE_ACCOUNT: &str = "planner-serviceaccount";
/// The Dynamo namespace used with `globalDynamoNamespace: true`.
pub const GLOBAL_DYNAMO_NAMESPACE: &str = "dynamo";
/// Name of the main container in every component pod.
pub const MAIN_CONTAINER: &str = "main";
/// Name of the namespace-scope marker Lease.
pub const NAMESPACE_SCOPE_LEASE: &str = "dynamo-operator-namespace-scope";

/// Hash of everything dynamoctl last applied to a child. A child whose live copy carries the
/// same hash and still contains every applied field is up to date, so no write is sent; a
/// changed hash (a field added *or removed*) triggers an apply, which server-side apply turns
/// into exactly the needed change.
pub const ANNOTATION_APPLIED_HASH: &str = "nvidia.com/dynamoctl-applied-hash";
