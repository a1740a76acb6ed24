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
