//! Component → Deployment, Service, Ingress and the headless model Service (research notes
//! §3.2, §3.9, §3.10, §2.8).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::defaults::{Role, main_port};
use super::labels::{metadata, owner_references, recommended};
use super::pod::{PodInputs, template};
use super::{RenderError, RenderOptions};
use crate::api::DynamoComponentDeployment;
use crate::api::consts::*;

/// Renders a component into its workload objects, in dependency order.
pub fn component(
    dcd: &DynamoComponentDeployment,
    opts: &RenderOptions,
) -> Result<Vec<Value>, RenderError> {
    let name = dcd.metadata.name.clone().unwrap_or_default();
    let namespace = dcd
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let subject = format!("DynamoComponentDeployment {namespace}/{name}");
    let err = |path: Vec<String>, message: String| RenderError {
        object: subject.clone(),
        path,
        message,
    };
    let spec = &dcd.spec.component;
    let role = Role::of(spec.component_type.as_deref());
    let owner = owner_references(dcd);

    // A hand-written DCD may lack the labels a graph gives it; derive them the same way.
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
    if let Some(problem) = super::graph::dns1035_problem(&name) {
        return Err(err(
            vec!["metadata".into(), "name".into()],
            format!("\"{name}\" {problem}"),
        ));
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
    let mut annotations = spec.annotations.clone().unwrap_or_default();
    if let Some(model) = &spec.model_ref {
        labels.insert(LABEL_BASE_MODEL_HASH.into(), model_hash(&model.name));
        annotations.insert(ANNOTATION_BASE_MODEL.into(), model.name.clone());
    }

    let pod_inputs = PodInputs {
        dcd,
        workload: &name,
        graph: &graph,
        dynamo_namespace: &dynamo_namespace,
        labels: &labels,
        opts,
    };
    let mut pod = template(&pod_inputs, &err)?;
    if let Some(model) = &spec.model_ref {
        pod["metadata"]["labels"][LABEL_BASE_MODEL_HASH] = json!(model_hash(&model.name));
    }

    let mut out = vec![json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(&name, &namespace, &labels, &annotations, owner.as_ref()),
        "spec": {
            "replicas": spec.replicas.unwrap_or(1),
            "selector": { "matchLabels": { LABEL_SELECTOR: name } },
            "strategy": strategy(&annotations, &err)?,
            "template": pod,
        },
    })];

    // One Service per component whose selector names the component, so two components of
    // the same type never select each other's pods (upstream #6113).
    let (port_name, port) = main_port(role);
    let mut service_labels = labels.clone();
    let discovery = annotations
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
        (LABEL_COMPONENT.to_string(), labels[LABEL_COMPONENT].clone()),
        (LABEL_DYNAMO_NAMESPACE.to_string(), dynamo_namespace.clone()),
        (LABEL_GRAPH.to_string(), graph.clone()),
    ]);
    if let Some(t) = &spec.component_type {
        selector.insert(LABEL_COMPONENT_TYPE.into(), t.clone());
    }
    out.push(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(&name, &namespace, &service_labels, &annotations, owner.as_ref()),
        "spec": {
            "selector": selector,
            "ports": [{ "name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP" }],
        },
    }));

    if let Some(ingress) = ingress(dcd, &name, &namespace, &labels, owner.as_ref(), port) {
        out.push(ingress);
    }
    if let Some(model) = &spec.model_ref {
        out.push(model_service(&model.name, &namespace));
    }
    Ok(out)
}

fn strategy(
    annotations: &BTreeMap<String, String>,
    err: &dyn Fn(Vec<String>, String) -> RenderError,
) -> Result<Value, RenderError> {
    let at = |key: &str| vec!["spec".to_string(), "annotations".into(), key.to_string()];
    match annotations
        .get(ANNOTATION_DEPLOYMENT_STRATEGY)
        .map(String::as_str)
    {
        Some("Recreate") => Ok(json!({ "type": "Recreate" })),
        None | Some("RollingUpdate") => {
            let mut bounds = serde_json::Map::new();
            for (key, field) in [
                (ANNOTATION_MAX_SURGE, "maxSurge"),
                (ANNOTATION_MAX_UNAVAILABLE, "maxUnavailable"),
            ] {
                let value = annotations.get(key).map_or("25%", String::as_str);
                let parsed = if let Ok(n) = value.parse::<i32>() {
                    json!(n)
                } else if value
                    .strip_suffix('%')
                    .is_some_and(|p| p.parse::<u32>().is_ok())
                {
                    json!(value)
                } else {
                    return Err(err(
                        at(key),
                        format!("\"{value}\" is neither an integer nor a percentage like 25%"),
                    ));
                };
                bounds.insert(field.to_string(), parsed);
            }
            Ok(json!({ "type": "RollingUpdate", "rollingUpdate": bounds }))
        }
        Some(other) => Err(err(
            at(ANNOTATION_DEPLOYMENT_STRATEGY),
            format!("unknown deployment strategy \"{other}\": use RollingUpdate or Recreate"),
        )),
    }
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
    let host = format!(
        "{}{}.{}",
        spec.host_prefix.clone().unwrap_or_default(),
        spec.host.clone().unwrap_or_default(),
        spec.host_suffix
            .clone()
            .unwrap_or_else(|| "local".to_string())
    );
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

/// First 8 hex digits of the SHA-256 of the model name (upstream's model hash).
pub(crate) fn model_hash(model: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, model.as_bytes());
    digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
