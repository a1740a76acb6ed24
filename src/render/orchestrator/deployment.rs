//! Single-node components: one Deployment whose replicas are the component's.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::consts::*;
use crate::render::RenderError;
use crate::render::component::Resolved;
use crate::render::labels::metadata;

/// The Deployment running `pod` for the component.
pub(crate) fn deployment(r: &Resolved<'_>, pod: Value) -> Result<Value, RenderError> {
    let err = |p: Vec<String>, m: String| r.err(p, m);
    Ok(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(&r.name, &r.namespace, &r.labels, &r.object_annotations, r.owner.as_ref()),
        "spec": {
            "replicas": r.dcd.spec.component.replicas.unwrap_or(1),
            "selector": { "matchLabels": { LABEL_SELECTOR: r.name } },
            "strategy": strategy(&r.annotations, &err)?,
            "template": pod,
        },
    }))
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
