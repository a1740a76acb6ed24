//! Graph → one DynamoComponentDeployment per service, plus the objects a graph needs once:
//! discovery RBAC, created PVCs, planner RBAC (research notes §2.4, §2.8). With Grove, the
//! components become one PodCliqueSet (and their Services) instead of DCDs.

use std::collections::BTreeMap;

use kube::Resource;
use kube::api::ObjectMeta;
use serde_json::{Value, json};

use super::labels::{metadata, owner_references, recommended};
use super::orchestrator::{node_count, unavailable_message};
use super::{RenderError, RenderOptions};
use crate::api::consts::*;
use crate::api::v1alpha1::{ComponentSpec, component_name};
use crate::api::{DynamoComponentDeployment, DynamoComponentDeploymentSpec, DynamoGraphDeployment};

/// What a graph renders to before its components are expanded.
#[derive(Clone, Debug, Default)]
pub struct GraphChildren {
    /// One component per service, in service-key order; none with Grove.
    pub components: Vec<DynamoComponentDeployment>,
    /// Per-graph objects: ServiceAccounts, Roles, RoleBindings, PersistentVolumeClaims; with
    /// Grove also the PodCliqueSet and every component's Services.
    pub objects: Vec<Value>,
}

/// The Dynamo (runtime) namespace of a service: `<namespace>-<graph>`, or `dynamo` when the
/// service asks for the global one.
pub fn dynamo_namespace(namespace: &str, graph: &str, service: &ComponentSpec) -> String {
    if service.global_dynamo_namespace == Some(true) {
        GLOBAL_DYNAMO_NAMESPACE.to_string()
    } else {
        format!("{namespace}-{graph}")
    }
}

/// Renders a graph into its components and per-graph objects. The graph must have a name and
/// a namespace; ownerReferences are set when it has a uid (it came from a cluster).
pub fn graph(
    dgd: &DynamoGraphDeployment,
    opts: &RenderOptions,
) -> Result<GraphChildren, RenderError> {
    let name = dgd.metadata.name.clone().unwrap_or_default();
    let namespace = dgd
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let subject = format!("DynamoGraphDeployment {namespace}/{name}");
    let err = |path: Vec<String>, message: String| RenderError {
        object: subject.clone(),
        path,
        message,
    };
    let owner = owner_references(dgd);
    let annotations = dgd.metadata.annotations.clone().unwrap_or_default();
    let discovery = discovery_backend(&annotations, opts);

    let services = dgd.spec.services.clone().unwrap_or_default();
    if services.is_empty() {
        return Err(err(
            path(&["spec", "services"]),
            "a graph needs at least one service".into(),
        ));
    }
    check_names(&name, &services).map_err(|(p, m)| err(p, m))?;
    super::restart::check(dgd).map_err(|(p, m)| err(p, m))?;

    // Grove takes the whole graph unless it opts out (audit §3.1).
    let opted_out = annotations
        .get(ANNOTATION_ENABLE_GROVE)
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let grove = opts.orchestrators.grove && !opted_out;
    let mut out = GraphChildren::default();
    for (key, service) in &services {
        let nodes = node_count(service);
        if nodes > 1 && !grove && !opts.orchestrators.lws {
            return Err(err(
                path(&["spec", "services", key, "multinode", "nodeCount"]),
                unavailable_message(
                    &format!("service \"{key}\""),
                    nodes,
                    opted_out && opts.orchestrators.grove,
                ),
            ));
        }
        out.components.push(component_for(
            dgd,
            &name,
            &namespace,
            key,
            service,
            &annotations,
            opts,
        ));
    }
    if grove {
        let components = std::mem::take(&mut out.components);
        out.objects
            .extend(super::orchestrator::grove::graph_objects(
                dgd,
                &components,
                opts,
            )?);
    }
    if discovery == "kubernetes" {
        out.objects
            .extend(discovery_rbac(&name, &namespace, owner.as_ref()));
    }
    if services
        .values()
        .any(|s| s.component_type.as_deref() == Some("planner"))
    {
        out.objects.extend(planner_rbac(&namespace));
    }
    for pvc in dgd
        .spec
        .pvcs
        .iter()
        .flatten()
        .filter(|p| p.create == Some(true))
    {
        let labels = recommended(&name, "storage", &pvc.name);
        let mut spec = json!({
            "accessModes": [pvc.volume_access_mode],
            "resources": { "requests": { "storage": pvc.size } },
        });
        if let Some(class) = &pvc.storage_class {
            spec["storageClassName"] = json!(class);
        }
        out.objects.push(json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": metadata(&pvc.name, &namespace, &labels, &BTreeMap::new(), owner.as_ref()),
            "spec": spec,
        }));
    }
    Ok(out)
}

fn path(segments: &[&str]) -> Vec<String> {
    segments.iter().map(|s| s.to_string()).collect()
}

fn discovery_backend(annotations: &BTreeMap<String, String>, opts: &RenderOptions) -> String {
    annotations
        .get(ANNOTATION_DISCOVERY_BACKEND)
        .cloned()
        .or_else(|| opts.discovery_backend.clone())
        .unwrap_or_else(|| "kubernetes".to_string())
}

/// Every child name `<graph>-<service>` must be a DNS-1035 label, because it names a Service.
fn check_names(
    graph: &str,
    services: &BTreeMap<String, Box<ComponentSpec>>,
) -> Result<(), (Vec<String>, String)> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for key in services.keys() {
        let child = component_name(graph, key);
        let at = path(&["spec", "services", key]);
        if let Some(other) = seen.insert(key.to_lowercase(), key) {
            return Err((
                at,
                format!(
                    "service keys \"{other}\" and \"{key}\" both become \"{child}\"; rename one of them"
                ),
            ));
        }
        if let Some(problem) = dns1035_problem(&child) {
            return Err((
                at,
                format!("child name \"{child}\" (<graph>-<lowercased service key>) {problem}"),
            ));
        }
    }
    Ok(())
}

/// Why `name` is not a DNS-1035 label, if it is not.
pub(crate) fn dns1035_problem(name: &str) -> Option<String> {
    if name.len() > 63 {
        return Some(format!(
            "is {} characters long; it must be at most 63, so shorten the graph name or the service key",
            name.len()
        ));
    }
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let starts = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let ends = name
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !valid_chars || !starts || !ends {
        return Some(
            "is not a valid DNS-1035 label: use only letters, digits and '-', start with a letter and end with a letter or digit".to_string(),
        );
    }
    None
}

fn component_for(
    dgd: &DynamoGraphDeployment,
    graph: &str,
    namespace: &str,
    key: &str,
    service: &ComponentSpec,
    graph_annotations: &BTreeMap<String, String>,
    opts: &RenderOptions,
) -> DynamoComponentDeployment {
    let name = component_name(graph, key);
    let dyn_ns = dynamo_namespace(namespace, graph, service);
    let identity = BTreeMap::from([
        (LABEL_COMPONENT.to_string(), key.to_string()),
        (LABEL_DYNAMO_NAMESPACE.to_string(), dyn_ns.clone()),
        (LABEL_GRAPH.to_string(), graph.to_string()),
    ]);
    let mut spec = service.clone();
    // Upstream replaces the service's labels with the identity labels; we keep them (the
    // identity labels win on a clash), see docs/compatibility.md.
    let mut spec_labels = spec.labels.take().unwrap_or_default();
    spec_labels.extend(identity.clone());
    spec.labels = Some(spec_labels);
    spec.service_name = Some(key.to_string());
    spec.dynamo_namespace = Some(dyn_ns);
    let envs = super::merge::env_by_name(&to_values(&dgd.spec.envs), &to_values(&service.envs));
    spec.envs = if envs.is_empty() {
        None
    } else {
        serde_json::from_value(Value::Array(envs)).ok()
    };
    let mut annotations = spec.annotations.take().unwrap_or_default();
    for key in [ANNOTATION_ENABLE_METRICS, ANNOTATION_DISCOVERY_BACKEND] {
        if let Some(v) = graph_annotations.get(key) {
            annotations.insert(key.to_string(), v.clone());
        }
    }
    // The service's own value wins for these (upstream's propagateDGDAnnotations).
    for key in [ANNOTATION_VLLM_EXECUTOR, ANNOTATION_OPERATOR_ORIGIN_VERSION] {
        if let Some(v) = graph_annotations.get(key) {
            annotations
                .entry(key.to_string())
                .or_insert_with(|| v.clone());
        }
    }
    spec.annotations = if annotations.is_empty() {
        None
    } else {
        Some(annotations)
    };
    if spec.component_type.as_deref() == Some("planner") {
        // Forced over the user's, as upstream does: the planner's RBAC is bound to this
        // ServiceAccount, and a planner running as another one cannot scale anything.
        let extra = spec.extra_pod_spec.get_or_insert_with(Box::default);
        extra.pod_spec.service_account_name = Some(PLANNER_SERVICE_ACCOUNT.to_string());
    }
    // The default ingress (upstream `GenerateDefaultIngressSpec`): an Ingress when the
    // operator has an IngressClass, a VirtualService when it has an Istio gateway.
    if spec.component_type.as_deref() == Some("frontend")
        && spec.ingress.is_none()
        && (opts.ingress_class_name.is_some() || opts.virtual_service_gateway.is_some())
    {
        spec.ingress = Some(Box::new(crate::api::v1alpha1::IngressSpec {
            enabled: Some(true),
            host: Some(graph.to_string()),
            host_suffix: opts.ingress_host_suffix.clone(),
            ingress_controller_class_name: opts.ingress_class_name.clone(),
            use_virtual_service: opts.virtual_service_gateway.as_ref().map(|_| true),
            virtual_service_gateway: opts.virtual_service_gateway.clone(),
            tls: opts
                .ingress_tls_secret_name
                .clone()
                .map(|s| crate::api::v1alpha1::IngressTls {
                    secret_name: Some(s),
                }),
            ..Default::default()
        }));
    }
    let mut labels = identity;
    labels.extend(recommended(
        graph,
        spec.component_type.as_deref().unwrap_or("component"),
        &name,
    ));
    DynamoComponentDeployment {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            owner_references: dgd.controller_owner_ref(&()).map(|r| vec![r]),
            ..Default::default()
        },
        spec: DynamoComponentDeploymentSpec {
            backend_framework: dgd.spec.backend_framework,
            component: spec,
        },
        status: None,
    }
}

fn to_values<T: serde::Serialize>(list: &Option<Vec<T>>) -> Vec<Value> {
    list.iter()
        .flatten()
        .map(|e| serde_json::to_value(e).expect("env serialises"))
        .collect()
}

fn discovery_rbac(graph: &str, namespace: &str, owner: Option<&Value>) -> Vec<Value> {
    let sa = format!("{graph}-k8s-service-discovery");
    let labels = recommended(graph, "rbac", &sa);
    let meta = |name: &str| metadata(name, namespace, &labels, &BTreeMap::new(), owner);
    vec![
        json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(&sa) }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(&format!("{sa}-role")),
            "rules": [
                { "apiGroups": [""], "resources": ["endpoints"], "verbs": ["get", "list", "watch"] },
                { "apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"] },
                { "apiGroups": [GROUP], "resources": ["dynamoworkermetadatas"], "verbs": ["create", "get", "list", "watch", "update", "patch", "delete"] },
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(&format!("{sa}-binding")),
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": format!("{sa}-role") },
            "subjects": [{ "kind": "ServiceAccount", "name": sa, "namespace": namespace }],
        }),
    ]
}

/// The planner's ServiceAccount and namespace-scoped rights. Shared by every graph of the
/// namespace (as upstream's), so not owned by any one graph.
fn planner_rbac(namespace: &str) -> Vec<Value> {
    use crate::api::scaling_adapter::PLURAL as SCALING_ADAPTERS;
    let labels = BTreeMap::from([
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
        (LABEL_APP_COMPONENT.to_string(), "rbac".to_string()),
        (LABEL_NAME.to_string(), PLANNER_SERVICE_ACCOUNT.to_string()),
    ]);
    let meta = |name: &str| json!({ "name": name, "namespace": namespace, "labels": labels });
    vec![
        json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(PLANNER_SERVICE_ACCOUNT) }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta("planner-role"),
            // Upstream's chart grants (newest): its graphs, the adapters' scale subresource
            // (plus reading the adapters, so `kubectl scale` and a planner can look first),
            // and what Kubernetes discovery needs; components, as 0.8.0 granted.
            "rules": [
                { "apiGroups": [GROUP], "resources": ["dynamocomponentdeployments", "dynamographdeployments"], "verbs": ["get", "list", "create", "update", "patch"] },
                { "apiGroups": [GROUP], "resources": [SCALING_ADAPTERS], "verbs": ["get", "list", "watch"] },
                { "apiGroups": [GROUP], "resources": [format!("{SCALING_ADAPTERS}/scale")], "verbs": ["get", "update", "patch"] },
                { "apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"] },
                { "apiGroups": [GROUP], "resources": ["dynamoworkermetadatas"], "verbs": ["create", "get", "list", "watch", "update", "patch", "delete"] },
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta("planner-binding"),
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "planner-role" },
            "subjects": [{ "kind": "ServiceAccount", "name": PLANNER_SERVICE_ACCOUNT, "namespace": namespace }],
        }),
    ]
}
