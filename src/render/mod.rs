//! The render engine: pure functions that turn a DynamoGraphDeployment into the Kubernetes
//! objects that serve it. The CLI runs them to preview and deploy; the controller runs the same
//! functions on every reconcile. No I/O, no clock, no randomness: same input, same bytes.

pub mod adapter;
mod backend;
mod component;
mod defaults;
mod graph;
mod labels;
mod merge;
pub mod orchestrator;
pub mod order;
mod pod;
pub mod restart;

use std::fmt;

pub use component::{VIRTUAL_SERVICE_API_VERSION, component};
pub use graph::{GraphChildren, dynamo_namespace, graph};
pub use orchestrator::Orchestrators;

/// Operator-level settings that shape rendered objects (upstream passes them as manager flags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Discovery backend when a graph does not choose one: `kubernetes` (default) or `etcd`.
    pub discovery_backend: Option<String>,
    /// `NATS_SERVER` for every component.
    pub nats_address: Option<String>,
    /// `ETCD_ENDPOINTS` for every component.
    pub etcd_address: Option<String>,
    /// `MODEL_EXPRESS_URL` for every component.
    pub model_express_url: Option<String>,
    /// `PROMETHEUS_ENDPOINT` for every component.
    pub prometheus_endpoint: Option<String>,
    /// IngressClass of the default ingress given to frontends without one.
    pub ingress_class_name: Option<String>,
    /// TLS secret of the default frontend ingress.
    pub ingress_tls_secret_name: Option<String>,
    /// Host suffix of the default frontend ingress.
    pub ingress_host_suffix: Option<String>,
    /// Istio gateway of the default frontend VirtualService, and of VirtualServices whose
    /// ingress names none.
    pub virtual_service_gateway: Option<String>,
    /// The multinode orchestrators available (Grove, LeaderWorkerSet + Volcano, Kai) and the
    /// MPI SSH secret; the default has none, so multinode graphs are refused.
    pub orchestrators: Orchestrators,
}

/// Why a valid-looking object cannot be rendered: which object, which field, what and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderError {
    /// `Kind namespace/name` of the object being rendered.
    pub object: String,
    /// Path of the field at fault, as segments from the object root.
    pub path: Vec<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.object,
            self.path.join("."),
            self.message
        )
    }
}

impl std::error::Error for RenderError {}

use serde_json::Value;

use crate::manifest::Object;

/// Renders every input object: graphs into their components, per-graph objects and
/// workloads; components into workloads; anything else passes through. The result is
/// deduplicated (shared objects such as the planner's RBAC appear once) and in dependency
/// order. On failure, returns the index of the input at fault and why.
pub fn render_all(
    objects: &[Object],
    opts: &RenderOptions,
) -> Result<Vec<Value>, (usize, RenderError)> {
    let mut out: Vec<(usize, Value)> = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        let at = |e: RenderError| (i, e);
        match object {
            Object::Graph(dgd) => {
                out.push((i, object.to_value()));
                let children = graph(dgd, opts).map_err(at)?;
                out.extend(children.objects.into_iter().map(|o| (i, o)));
                for dcd in &children.components {
                    let workloads = component(dcd, opts).map_err(|e| at(in_graph(e, dgd, dcd)))?;
                    out.push((i, serde_json::to_value(dcd).expect("component serialises")));
                    out.extend(workloads.into_iter().map(|o| (i, o)));
                }
            }
            Object::Component(dcd) => {
                out.push((i, object.to_value()));
                out.extend(
                    component(dcd, opts)
                        .map_err(at)?
                        .into_iter()
                        .map(|o| (i, o)),
                );
            }
            Object::Other(v) => out.push((i, v.clone())),
        }
    }
    // Sorting first puts duplicates next to each other; the stable sort keeps input order.
    out.sort_by_cached_key(|(_, v)| order::sort_key(v));
    let mut result: Vec<Value> = Vec::with_capacity(out.len());
    for (i, value) in out {
        if let Some(last) = result
            .last()
            .filter(|l| order::sort_key(l) == order::sort_key(&value))
        {
            if *last == value {
                continue;
            }
            let (_, kind, namespace, name) = order::sort_key(&value);
            return Err((
                i,
                RenderError {
                    object: format!("{kind} {namespace}/{name}"),
                    path: Vec::new(),
                    message: "is defined twice with different content; keep one definition"
                        .to_string(),
                },
            ));
        }
        result.push(value);
    }
    Ok(result)
}

/// Re-expresses an error about a graph's component as an error about the graph's service.
pub(crate) fn in_graph(
    e: RenderError,
    dgd: &crate::api::DynamoGraphDeployment,
    dcd: &crate::api::DynamoComponentDeployment,
) -> RenderError {
    let key = dcd.spec.component.service_name.clone().unwrap_or_default();
    let mut path = vec!["spec".to_string(), "services".to_string(), key];
    path.extend(e.path.into_iter().skip(1));
    RenderError {
        object: format!(
            "DynamoGraphDeployment {}/{}",
            dgd.metadata.namespace.as_deref().unwrap_or("default"),
            dgd.metadata.name.as_deref().unwrap_or_default()
        ),
        path,
        message: e.message,
    }
}
