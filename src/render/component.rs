//! Component → its workloads (through an orchestrator), Service, Ingress and the headless
//! model Service (research notes §3.2, §3.9, §3.10, §2.8).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::defaults::{Role, main_port};
use super::labels::{metadata, owner_references, recommended};
use super::orchestrator::{
    LABEL_ROLE, Node, NodeRole, deployment, lws, node_count, unavailable_message,
};
use super::pod::{PodInputs, template};
use super::{RenderError, RenderOptions};
use crate::api::DynamoComponentDeployment;
use crate::api::consts::*;

/// A component resolved for rendering: the names, labels and annotations its workloads and
/// Services share. Built once per component; every orchestrator renders from it.
pub(crate) struct Resolved<'a> {
    /// The component.
    pub dcd: &'a DynamoComponentDeployment,
    /// Workload and Service name (`<graph>-<service>` in a graph).
    pub name: String,
    /// Kubernetes namespace.
    pub namespace: String,
    /// The graph's name.
    pub graph: String,
    /// The Dynamo namespace.
    pub dynamo_namespace: String,
    /// Labels of the workload objects (pods inherit them).
    pub labels: BTreeMap<String, String>,
    /// The component's annotations (feature switches such as the deployment strategy).
    pub annotations: BTreeMap<String, String>,
    /// Annotations of the Deployment and the Service: the component's, then
    /// `extraPodMetadata.annotations` over them (upstream `getKubeAnnotations`).
    pub object_annotations: BTreeMap<String, String>,
    /// ownerReferences of every object rendered for the component.
    pub owner: Option<Value>,
    /// Nodes per replica.
    pub nodes: i32,
    /// `RenderError` subject: `Kind namespace/name`.
    subject: String,
}

impl Resolved<'_> {
    /// An error about a field of the component.
    pub fn err(&self, path: Vec<String>, message: String) -> RenderError {
        RenderError {
            object: self.subject.clone(),
            path,
            message,
        }
    }

    /// The pod template for a single-node pod or one node of a multinode group.
    pub fn pod(&self, opts: &RenderOptions, node: Option<Node<'_>>) -> Result<Value, RenderError> {
        let input = PodInputs {
            dcd: self.dcd,
            workload: &self.name,
            graph: &self.graph,
            dynamo_namespace: &self.dynamo_namespace,
            labels: &self.labels,
            opts,
            node,
        };
        let mut pod = template(&input, &|p, m| self.err(p, m))?;
        let labels = &mut pod["metadata"]["labels"];
        match &self.dcd.spec.component.model_ref {
            // Worker nodes of a group serve nothing: the model Service skips them.
            Some(_) if node.is_some_and(|n| n.role == NodeRole::Worker) => {
                if let Some(l) = labels.as_object_mut() {
                    l.remove(LABEL_BASE_MODEL_HASH);
                }
            }
            Some(model) => labels[LABEL_BASE_MODEL_HASH] = json!(model_hash(&model.name)),
            None => {}
        }
        Ok(pod)
    }
}

/// Resolves a component: names and labels, deriving what a hand-written DCD lacks the same
/// way a graph would have set it.
pub(crate) fn resolve(dcd: &DynamoComponentDeployment) -> Result<Resolved<'_>, RenderError> {
    let name = dcd.metadata.name.clone().unwrap_or_default();
    let namespace = dcd
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let spec = &dcd.spec.component;
    let spec_labels = spec.labels.clone().unwrap_or_default();
    let meta_labels = dcd.metadata.labels.clone().unwrap_or_default();
    let graph = spec_labels
        .get(LABEL_GRAPH)
        .or(meta_labels.get(LABEL_GRAPH))
        .cloned()
        .unwrap_or_else(|| name.clone());
    let service_key = spec.service_name.clone().unwrap_or_else(|| name.clone());
    let dynamo_namespace = spec
        .dynamo_namespace
        .clone()
        .unwrap_or_else(|| format!("{namespace}-{graph}"));
    let subject = format!("DynamoComponentDeployment {namespace}/{name}");
    if let Some(problem) = super::graph::dns1035_problem(&name) {
        return Err(RenderError {
            object: subject,
            path: vec!["metadata".into(), "name".into()],
            message: format!("\"{name}\" {problem}"),
        });
    }
    let annotations = spec.annotations.clone().unwrap_or_default();
    for (key, what) in DEBUG_ANNOTATIONS {
        if annotations.get(*key).map(String::as_str) == Some("true") {
            return Err(RenderError {
                object: subject,
                path: vec!["spec".into(), "annotations".into(), key.to_string()],
                message: format!(
                    "{key} asks for {what}, which dynamoctl does not render: remove the annotation (debug with `kubectl debug` instead)"
                ),
            });
        }
    }
    let mut labels = recommended(
        &graph,
        spec.component_type.as_deref().unwrap_or("component"),
        &name,
    );
    labels.extend(meta_labels);
    labels.extend(spec_labels);
    labels.insert(LABEL_COMPONENT.into(), service_key);
    labels.insert(LABEL_DYNAMO_NAMESPACE.into(), dynamo_namespace.clone());
    labels.insert(LABEL_GRAPH.into(), graph.clone());
    let mut annotations = annotations;
    if let Some(model) = &spec.model_ref {
        labels.insert(LABEL_BASE_MODEL_HASH.into(), model_hash(&model.name));
        annotations.insert(ANNOTATION_BASE_MODEL.into(), model.name.clone());
    }
    let mut object_annotations = annotations.clone();
    object_annotations.extend(
        spec.extra_pod_metadata
            .as_ref()
            .and_then(|m| m.annotations.clone())
            .unwrap_or_default(),
    );
    if let Some(model) = &spec.model_ref {
        object_annotations.insert(ANNOTATION_BASE_MODEL.into(), model.name.clone());
    }
    Ok(Resolved {
        dcd,
        owner: owner_references(dcd),
        nodes: node_count(spec),
        name,
        namespace,
        graph,
        dynamo_namespace,
        labels,
        annotations,
        object_annotations,
        subject,
    })
}

/// Renders a component into its workload objects, in dependency order: a Deployment, or for
/// a multinode component a LeaderWorkerSet and a PodGroup per replica; then its Services.
pub fn component(
    dcd: &DynamoComponentDeployment,
    opts: &RenderOptions,
) -> Result<Vec<Value>, RenderError> {
    let r = resolve(dcd)?;
    let mut out = if r.nodes > 1 {
        if !opts.orchestrators.lws {
            let mut message =
                unavailable_message(&format!("component \"{}\"", r.name), r.nodes, false);
            if opts.orchestrators.grove {
                message.push_str(
                    " (Grove renders whole graphs only, not a DynamoComponentDeployment on its own)",
                );
            }
            return Err(r.err(path(&["spec", "multinode", "nodeCount"]), message));
        }
        lws::workloads(&r, opts)?
    } else {
        vec![deployment::deployment(&r, r.pod(opts, None)?)?]
    };
    out.extend(services(&r, opts)?);
    Ok(out)
}

fn path(segments: &[&str]) -> Vec<String> {
    segments.iter().map(|s| s.to_string()).collect()
}

/// The component's Service (leader pods only for a multinode component), Ingress and model
/// Service.
pub(crate) fn services(r: &Resolved<'_>, opts: &RenderOptions) -> Result<Vec<Value>, RenderError> {
    let spec = &r.dcd.spec.component;
    let role = Role::of(spec.component_type.as_deref());
    // One Service per component whose selector names the component, so two components of
    // the same type never select each other's pods (upstream #6113).
    let (port_name, port) = main_port(role);
    let mut service_labels = r.labels.clone();
    let discovery = r
        .annotations
        .get(ANNOTATION_DISCOVERY_BACKEND)
        .cloned()
        .or(opts.discovery_backend.clone());
    if discovery.as_deref() != Some("etcd") {
        service_labels.insert(LABEL_DISCOVERY_BACKEND.into(), "kubernetes".into());
        if role != Role::Frontend {
            service_labels.insert(LABEL_DISCOVERY_ENABLED.into(), "true".into());
        }
    }
    let mut selector = BTreeMap::from([
        (
            LABEL_COMPONENT.to_string(),
            r.labels[LABEL_COMPONENT].clone(),
        ),
        (
            LABEL_DYNAMO_NAMESPACE.to_string(),
            r.dynamo_namespace.clone(),
        ),
        (LABEL_GRAPH.to_string(), r.graph.clone()),
    ]);
    if let Some(t) = &spec.component_type {
        selector.insert(LABEL_COMPONENT_TYPE.into(), t.clone());
    }
    if r.nodes > 1 {
        // Worker pods serve nothing (upstream's Grove Services selected them too).
        selector.insert(LABEL_ROLE.into(), NodeRole::Leader.as_str().into());
    }
    let mut out = vec![json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(&r.name, &r.namespace, &service_labels, &r.object_annotations, r.owner.as_ref()),
        "spec": {
            "selector": selector,
            "ports": [{ "name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP" }],
        },
    })];
    if let Some(ingress) = ingress(
        r.dcd,
        &r.name,
        &r.namespace,
        &r.labels,
        r.owner.as_ref(),
        port,
    ) {
        out.push(ingress);
    }
    if let Some(vs) = virtual_service(r, opts, port)? {
        out.push(vs);
    }
    if let Some(model) = &spec.model_ref {
        out.push(model_service(&model.name, &r.namespace));
    }
    Ok(out)
}

/// API version of the Istio VirtualService upstream renders.
pub const VIRTUAL_SERVICE_API_VERSION: &str = "networking.istio.io/v1beta1";

/// The Istio VirtualService of a component whose ingress is enabled with
/// `useVirtualService` (upstream `GenerateComponentVirtualService`): every path of the
/// ingress host to the component's Service, through the ingress' gateway or else the
/// operator's. Upstream renders it only when its operator has a gateway configured and
/// silently drops it otherwise; here the spec alone decides, and a missing gateway is an
/// error rather than a VirtualService that attaches nowhere.
fn virtual_service(
    r: &Resolved<'_>,
    opts: &RenderOptions,
    port: i32,
) -> Result<Option<Value>, RenderError> {
    let Some(spec) = r.dcd.spec.component.ingress.as_ref() else {
        return Ok(None);
    };
    if spec.enabled != Some(true) || spec.use_virtual_service != Some(true) {
        return Ok(None);
    }
    let Some(gateway) = spec
        .virtual_service_gateway
        .clone()
        .filter(|g| !g.is_empty())
        .or_else(|| opts.virtual_service_gateway.clone())
    else {
        return Err(r.err(
            path(&["spec", "ingress", "virtualServiceGateway"]),
            "useVirtualService needs an Istio gateway: set ingress.virtualServiceGateway (e.g. istio-system/gateway) or the operator's ingress.virtualServiceGateway".to_string(),
        ));
    };
    // As on the Ingress, the ingress labels and annotations are applied (upstream drops them).
    let mut labels = r.labels.clone();
    labels.extend(spec.labels.clone().unwrap_or_default());
    let annotations = spec.annotations.clone().unwrap_or_default();
    Ok(Some(json!({
        "apiVersion": VIRTUAL_SERVICE_API_VERSION,
        "kind": "VirtualService",
        "metadata": metadata(&r.name, &r.namespace, &labels, &annotations, r.owner.as_ref()),
        "spec": {
            "hosts": [ingress_host(spec)],
            "gateways": [gateway],
            "http": [{
                "match": [{ "uri": { "prefix": "/" } }],
                "route": [{ "destination": { "host": r.name, "port": { "number": port } } }],
            }],
        },
    })))
}

/// `<hostPrefix><host>.<hostSuffix>`, the suffix defaulting to `local` (upstream
/// `getIngressHost`).
fn ingress_host(spec: &crate::api::v1alpha1::IngressSpec) -> String {
    format!(
        "{}{}.{}",
        spec.host_prefix.clone().unwrap_or_default(),
        spec.host.clone().unwrap_or_default(),
        spec.host_suffix
            .clone()
            .unwrap_or_else(|| "local".to_string())
    )
}

fn ingress(
    dcd: &DynamoComponentDeployment,
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    owner: Option<&Value>,
    port: i32,
) -> Option<Value> {
    let spec = dcd.spec.component.ingress.as_ref()?;
    let class = spec.ingress_controller_class_name.as_ref()?;
    if spec.enabled != Some(true) {
        return None;
    }
    let host = ingress_host(spec);
    // Upstream ignores the ingress labels and annotations; we apply them.
    let mut all_labels = labels.clone();
    all_labels.extend(spec.labels.clone().unwrap_or_default());
    let mut ing = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(name, namespace, &all_labels, &spec.annotations.clone().unwrap_or_default(), owner),
        "spec": {
            "ingressClassName": class,
            "rules": [{
                "host": host,
                "http": { "paths": [{
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": { "service": { "name": name, "port": { "number": port } } },
                }]},
            }],
        },
    });
    if let Some(tls) = &spec.tls {
        let mut entry = json!({ "hosts": [host] });
        if let Some(secret) = &tls.secret_name {
            entry["secretName"] = json!(secret);
        }
        ing["spec"]["tls"] = json!([entry]);
    }
    Some(ing)
}

/// The base model hash of pod labels and model Services (`api::model::base_model_hash`).
fn model_hash(model: &str) -> String {
    crate::api::model::base_model_hash(model)
}

/// The headless Service of a base model. Every component serving the model renders the same
/// one, so no single component owns it (two controller references would be rejected).
fn model_service(model: &str, namespace: &str) -> Value {
    let hash = model_hash(model);
    let meta = json!({
        "name": format!("dynamo-model-{hash}"),
        "namespace": namespace,
        "labels": { LABEL_BASE_MODEL_HASH: hash, LABEL_NVIDIA_MANAGED_BY: "dynamo-operator", LABEL_MANAGED_BY: MANAGED_BY },
        "annotations": { ANNOTATION_BASE_MODEL: model },
    });
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "clusterIP": "None",
            "selector": { LABEL_BASE_MODEL_HASH: hash },
            "ports": [{ "name": "system", "port": 9090, "targetPort": 9090, "protocol": "TCP" }],
        },
    })
}
