//! `spec.restart` in rendering: its order checked against the services, and the
//! `nvidia.com/restartAt` values the controller decided (`status::restart::stamps`) written
//! into each service's pod metadata, from where every orchestrator (Deployment,
//! LeaderWorkerSet, Grove clique) carries them to the pod template. Render never decides
//! what to stamp: a graph without stamps renders without the annotation.

use std::collections::BTreeMap;

use crate::api::DynamoGraphDeployment;
use crate::api::consts::ANNOTATION_RESTART_AT;
use crate::api::v1alpha1::{ComponentSpec, RestartStrategyType};

/// The graph with `stamps` (service key → restart id) in its services' pod annotations.
/// Services without a stamp are left as they are.
pub fn stamped(
    dgd: &DynamoGraphDeployment,
    stamps: &BTreeMap<String, String>,
) -> DynamoGraphDeployment {
    let mut out = dgd.clone();
    for (key, service) in out.spec.services.iter_mut().flatten() {
        if let Some(id) = stamps.get(key) {
            let meta = service
                .extra_pod_metadata
                .get_or_insert_with(Default::default);
            meta.annotations
                .get_or_insert_with(Default::default)
                .insert(ANNOTATION_RESTART_AT.to_string(), id.clone());
        }
    }
    out
}

/// The restart stamp a rendered component carries (read back from its pod metadata).
pub fn stamp_of(spec: &ComponentSpec) -> Option<String> {
    spec.extra_pod_metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(ANNOTATION_RESTART_AT)
        .cloned()
}

/// Checks `spec.restart.strategy.order` as upstream's validation does: not with Parallel,
/// every service exactly once, no unknown name. Returns the field at fault and why.
pub fn check(dgd: &DynamoGraphDeployment) -> Result<(), (Vec<String>, String)> {
    let Some(strategy) = dgd.spec.restart.as_ref().and_then(|r| r.strategy.as_ref()) else {
        return Ok(());
    };
    let order = strategy.order.clone().unwrap_or_default();
    if order.is_empty() {
        return Ok(());
    }
    let at = |more: &[String]| {
        let mut p: Vec<String> = ["spec", "restart", "strategy", "order"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        p.extend(more.iter().cloned());
        p
    };
    if strategy.strategy_type == Some(RestartStrategyType::Parallel) {
        return Err((
            at(&[]),
            "is only for Sequential restarts: remove it, or set strategy.type: Sequential".into(),
        ));
    }
    let services: Vec<&String> = dgd.spec.services.iter().flat_map(|s| s.keys()).collect();
    for (i, name) in order.iter().enumerate() {
        if !services.contains(&name) {
            let known: Vec<&str> = services.iter().map(|s| s.as_str()).collect();
            return Err((
                at(&[i.to_string()]),
                format!(
                    "names no component \"{name}\" of the graph; its components are: {} (names are case-sensitive)",
                    known.join(", ")
                ),
            ));
        }
        if order[..i].contains(name) {
            return Err((
                at(&[i.to_string()]),
                format!("lists \"{name}\" twice; name every service exactly once"),
            ));
        }
    }
    let missing: Vec<&str> = services
        .iter()
        .filter(|s| !order.contains(s))
        .map(|s| s.as_str())
        .collect();
    if !missing.is_empty() {
        return Err((
            at(&[]),
            format!(
                "leaves out {}; a Sequential order names every service exactly once (or omit it for the names sorted)",
                missing.join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(restart: serde_json::Value) -> DynamoGraphDeployment {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": { "name": "g", "namespace": "ns" },
            "spec": { "services": { "Frontend": {}, "decode": {} }, "restart": restart }
        }))
        .unwrap()
    }

    #[test]
    fn orders_are_checked_like_upstream() {
        let ok =
            graph(serde_json::json!({"id": "1", "strategy": {"order": ["decode", "Frontend"]}}));
        assert_eq!(check(&ok), Ok(()));
        let unknown =
            graph(serde_json::json!({"id": "1", "strategy": {"order": ["decode", "frontend"]}}));
        let (path, message) = check(&unknown).unwrap_err();
        assert_eq!(path.join("."), "spec.restart.strategy.order.1");
        assert!(message.contains("\"frontend\""), "{message}");
        let twice =
            graph(serde_json::json!({"id": "1", "strategy": {"order": ["decode", "decode"]}}));
        assert!(check(&twice).unwrap_err().1.contains("twice"));
        let short = graph(serde_json::json!({"id": "1", "strategy": {"order": ["decode"]}}));
        assert!(check(&short).unwrap_err().1.contains("leaves out Frontend"));
        let parallel = graph(
            serde_json::json!({"id": "1", "strategy": {"type": "Parallel", "order": ["decode", "Frontend"]}}),
        );
        assert!(
            check(&parallel)
                .unwrap_err()
                .1
                .contains("only for Sequential")
        );
    }

    /// Every pod-template `restartAt` in `objects`, as (object kind, value).
    fn stamps_in(objects: &[serde_json::Value]) -> Vec<(String, String)> {
        fn walk(kind: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(id) = m
                        .get("annotations")
                        .and_then(|a| a.get(ANNOTATION_RESTART_AT))
                        .and_then(|a| a.as_str())
                    {
                        out.push((kind.to_string(), id.to_string()));
                    }
                    m.values().for_each(|v| walk(kind, v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(kind, v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for o in objects {
            walk(o["kind"].as_str().unwrap_or_default(), &o["spec"], &mut out);
        }
        out.sort();
        out
    }

    #[test]
    fn every_orchestrator_carries_the_stamp_to_its_pod_templates() {
        use crate::render::{Orchestrators, RenderOptions, component, graph};
        let g: DynamoGraphDeployment = serde_json::from_value(serde_json::json!({
            "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": { "name": "g", "namespace": "ns" },
            "spec": { "services": {
                "Frontend": { "componentType": "frontend" },
                "decode": {
                    "componentType": "worker",
                    "multinode": { "nodeCount": 2 },
                    "resources": { "limits": { "gpu": "8" } },
                    "extraPodSpec": { "mainContainer": { "command": ["python3", "-m", "dynamo.sglang"] } },
                },
            }},
        }))
        .unwrap();
        let g = stamped(
            &g,
            &BTreeMap::from([("decode".to_string(), "r7".to_string())]),
        );
        let render = |o: Orchestrators| {
            let opts = RenderOptions {
                orchestrators: o,
                ..Default::default()
            };
            let children = graph(&g, &opts).unwrap();
            let mut objects = children.objects;
            for dcd in &children.components {
                objects.extend(component(dcd, &opts).unwrap());
            }
            stamps_in(&objects)
        };
        // LeaderWorkerSet: the leader and the worker templates; the frontend's Deployment has none.
        let lws = render(Orchestrators {
            lws: true,
            ..Default::default()
        });
        assert_eq!(
            lws,
            vec![
                ("LeaderWorkerSet".to_string(), "r7".to_string()),
                ("LeaderWorkerSet".to_string(), "r7".to_string()),
            ]
        );
        // Grove: the decode leader and worker cliques.
        let grove = render(Orchestrators {
            grove: true,
            ..Default::default()
        });
        assert_eq!(
            grove,
            vec![
                ("PodCliqueSet".to_string(), "r7".to_string()),
                ("PodCliqueSet".to_string(), "r7".to_string()),
            ]
        );
        // A single-node service on a Deployment.
        let g = stamped(
            &g,
            &BTreeMap::from([("Frontend".to_string(), "r8".to_string())]),
        );
        let opts = RenderOptions {
            orchestrators: Orchestrators {
                lws: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let children = graph(&g, &opts).unwrap();
        let frontend = children
            .components
            .iter()
            .find(|c| c.spec.component.service_name.as_deref() == Some("Frontend"))
            .unwrap();
        let objects = component(frontend, &opts).unwrap();
        assert_eq!(
            stamps_in(&objects),
            vec![("Deployment".to_string(), "r8".to_string())]
        );
    }

    #[test]
    fn stamps_land_in_the_pod_metadata_of_their_services_only() {
        let g = graph(serde_json::json!({"id": "1"}));
        let out = stamped(
            &g,
            &BTreeMap::from([("decode".to_string(), "r1".to_string())]),
        );
        let services = out.spec.services.unwrap();
        assert_eq!(stamp_of(&services["decode"]).as_deref(), Some("r1"));
        assert_eq!(stamp_of(&services["Frontend"]), None);
    }
}
