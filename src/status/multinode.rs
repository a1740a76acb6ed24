//! Readiness and status of multinode workloads (audit §3.2, §3.3): Grove's PodCliques and
//! PodCliqueScalingGroups, and LeaderWorkerSets. They are foreign kinds, read as JSON.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::component::CONDITION_AVAILABLE;
use super::condition::{Observed, condition};
use super::graph::{
    CONDITION_READY, REASON_ALL_READY, REASON_SOME_NOT_READY, STATE_PENDING, STATE_SUCCESSFUL,
    build,
};
use super::readiness::Readiness;
use crate::api::consts::LABEL_SELECTOR;
use crate::api::v1alpha1::ServiceReplicaStatus;
use crate::api::{
    DynamoComponentDeployment, DynamoComponentDeploymentStatus, DynamoGraphDeployment,
    DynamoGraphDeploymentStatus,
};

/// `Available=True` of a multinode component: every LeaderWorkerSet is available.
pub const REASON_LWS_READY: &str = "AllLeaderWorkerSetsReady";
/// `Available=False` of a multinode component; the message says which and why.
pub const REASON_LWS_NOT_READY: &str = "SomeLeaderWorkerSetsNotReady";

fn int(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

fn name(v: &Value) -> &str {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Whether the object's controller has seen its current spec (no `observedGeneration` in its
/// status counts as seen: not every Grove version writes one).
fn observed(v: &Value) -> bool {
    match (
        int(v, "/metadata/generation"),
        int(v, "/status/observedGeneration"),
    ) {
        (Some(generation), Some(seen)) => seen >= generation,
        _ => true,
    }
}

/// Readiness of `kind/name` with `desired` replicas of which `have` count.
fn counted(v: &Value, kind: &str, desired: i64, have: i64, what: &str) -> Readiness {
    let name = name(v);
    let (ready, why) = if !observed(v) {
        (false, "waiting for the change to be observed".to_string())
    } else if desired == 0 {
        (true, "scaled to zero".to_string())
    } else if have == desired {
        (true, format!("{have} of {desired} replicas {what}"))
    } else {
        (false, format!("{have} of {desired} replicas {what}"))
    };
    Readiness {
        ready,
        reason: format!("{kind}/{name}: {why}"),
    }
}

/// A PodClique is ready when `status.readyReplicas` equals `spec.replicas` (upstream's rule).
pub fn pod_clique_readiness(pclq: &Value) -> Readiness {
    let desired = int(pclq, "/spec/replicas").unwrap_or(1);
    let ready = int(pclq, "/status/readyReplicas").unwrap_or(0);
    counted(pclq, "podclique", desired, ready, "ready")
}

/// A PodCliqueScalingGroup is ready when `status.availableReplicas` equals `spec.replicas`.
pub fn scaling_group_readiness(pcsg: &Value) -> Readiness {
    let desired = int(pcsg, "/spec/replicas").unwrap_or(1);
    let available = int(pcsg, "/status/availableReplicas").unwrap_or(0);
    counted(
        pcsg,
        "podcliquescalinggroup",
        desired,
        available,
        "available",
    )
}

/// A LeaderWorkerSet is ready when `status.readyReplicas` reaches `spec.replicas` and its
/// `Available` condition is `True`.
pub fn lws_readiness(lws: &Value) -> Readiness {
    let name = name(lws);
    let desired = int(lws, "/spec/replicas").unwrap_or(1);
    let ready = int(lws, "/status/readyReplicas").unwrap_or(0);
    let available = lws
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Available" && c["status"] == "True");
    let (ok, why) = if !observed(lws) {
        (false, "waiting for the change to be observed".to_string())
    } else if desired == 0 {
        (true, "scaled to zero".to_string())
    } else if ready < desired {
        (false, format!("{ready} of {desired} groups ready"))
    } else if !available {
        (false, "not Available".to_string())
    } else {
        (true, format!("{ready} of {desired} groups ready"))
    };
    Readiness {
        ready: ok,
        reason: format!("leaderworkerset/{name}: {why}"),
    }
}

fn replica_status(v: &Value, kind: &str, ready_or_available: &str) -> ServiceReplicaStatus {
    let count = int(v, &format!("/status/{ready_or_available}")).unwrap_or(0) as i32;
    let mut s = ServiceReplicaStatus {
        component_kind: Some(kind.to_string()),
        component_name: Some(name(v).to_string()),
        replicas: int(v, "/status/replicas").unwrap_or(0) as i32,
        updated_replicas: int(v, "/status/updatedReplicas").unwrap_or(0) as i32,
        ready_replicas: None,
        available_replicas: None,
    };
    if ready_or_available == "readyReplicas" {
        s.ready_replicas = Some(count);
    } else {
        s.available_replicas = Some(count);
    }
    s
}

/// The status of a multinode component run as LeaderWorkerSets `<name>-0…<name>-(n-1)`
/// (`workloads` may hold others; they are matched by name). `Available` is `True` only when
/// every one of the `spec.replicas` groups exists and is ready; `service` sums their counts
/// under `componentKind: LeaderWorkerSet`, named after the first.
pub fn lws_component_status(
    dcd: &DynamoComponentDeployment,
    workloads: &[Value],
    previous: Option<&DynamoComponentDeploymentStatus>,
    now: &Time,
) -> DynamoComponentDeploymentStatus {
    let base = dcd.metadata.name.clone().unwrap_or_default();
    let replicas = dcd.spec.component.replicas.unwrap_or(1).max(0);
    let mut problems = Vec::new();
    let mut total: Option<ServiceReplicaStatus> = None;
    for i in 0..replicas {
        let want = format!("{base}-{i}");
        let Some(lws) = workloads.iter().find(|w| name(w) == want) else {
            problems.push(format!("leaderworkerset/{want}: not created yet"));
            continue;
        };
        let r = lws_readiness(lws);
        if !r.ready {
            problems.push(r.reason);
        }
        let s = replica_status(lws, "LeaderWorkerSet", "readyReplicas");
        total = Some(match total {
            None => s,
            Some(mut t) => {
                t.replicas += s.replicas;
                t.updated_replicas += s.updated_replicas;
                t.ready_replicas =
                    Some(t.ready_replicas.unwrap_or(0) + s.ready_replicas.unwrap_or(0));
                t
            }
        });
    }
    let (status, reason, message) = if problems.is_empty() {
        (
            "True",
            REASON_LWS_READY,
            "All LeaderWorkerSets are ready".to_string(),
        )
    } else {
        ("False", REASON_LWS_NOT_READY, problems.join("; "))
    };
    let available = condition(
        Observed {
            type_: CONDITION_AVAILABLE,
            status,
            reason,
            message,
            observed_generation: dcd.metadata.generation,
        },
        previous.and_then(|p| p.conditions.as_deref()),
        now,
    );
    DynamoComponentDeploymentStatus {
        observed_generation: dcd.metadata.generation,
        conditions: Some(vec![available]),
        pod_selector: Some(BTreeMap::from([(LABEL_SELECTOR.to_string(), base)])),
        service: total,
    }
}

/// The status of a graph run by Grove, from its PodCliqueSet and the PodCliques and
/// PodCliqueScalingGroups Grove made (`children`, any order). A single-node service is ready
/// when PodClique `<graph>-0-<service>` is; a multinode one when PodCliqueScalingGroup
/// `<graph>-0-<service>` is. `services[*].componentKind` names which. Ready only once the
/// PodCliqueSet's current spec has been observed, so a change is never reported as done
/// before Grove has seen it.
pub fn grove_graph_status(
    dgd: &DynamoGraphDeployment,
    pcs: Option<&Value>,
    children: &[Value],
    now: &Time,
) -> DynamoGraphDeploymentStatus {
    let graph = dgd.metadata.name.as_deref().unwrap_or_default();
    let mut not_ready = Vec::new();
    match pcs {
        None => not_ready.push(format!("podcliqueset/{graph}: not created yet")),
        Some(p) if !observed(p) => not_ready.push(format!(
            "podcliqueset/{graph}: waiting for the change to be observed"
        )),
        Some(_) => {}
    }
    let mut services = BTreeMap::new();
    for (key, spec) in dgd.spec.services.iter().flatten() {
        let child = format!("{graph}-0-{}", key.to_lowercase());
        let multinode = crate::render::orchestrator::node_count(spec) > 1;
        let (kind, kind_label) = if multinode {
            ("PodCliqueScalingGroup", "podcliquescalinggroup")
        } else {
            ("PodClique", "podclique")
        };
        let Some(object) = children
            .iter()
            .find(|c| c["kind"] == kind && name(c) == child)
        else {
            not_ready.push(format!("{kind_label}/{child}: not created yet"));
            continue;
        };
        let (r, s) = if multinode {
            (
                scaling_group_readiness(object),
                replica_status(object, kind, "availableReplicas"),
            )
        } else {
            (
                pod_clique_readiness(object),
                replica_status(object, kind, "readyReplicas"),
            )
        };
        if !r.ready {
            not_ready.push(r.reason);
        }
        services.insert(key.clone(), s);
    }
    not_ready.sort();
    let (state, status, reason, message) = if not_ready.is_empty() {
        (
            STATE_SUCCESSFUL,
            "True",
            REASON_ALL_READY,
            "All resources are ready".to_string(),
        )
    } else {
        (
            STATE_PENDING,
            "False",
            REASON_SOME_NOT_READY,
            format!("Resources not ready: {}", not_ready.join("; ")),
        )
    };
    debug_assert_eq!(CONDITION_READY, "Ready");
    build(dgd, state, status, reason, message, Some(services), now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ComponentSpec;
    use crate::api::v1alpha1::MultinodeSpec;
    use crate::status::graph::tests::at;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde_json::json;

    fn lws(name: &str, ready: i64, available: bool) -> Value {
        json!({
            "kind": "LeaderWorkerSet",
            "metadata": { "name": name, "generation": 1 },
            "spec": { "replicas": 1 },
            "status": {
                "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": ready,
                "conditions": [{ "type": "Available", "status": if available { "True" } else { "False" } }],
            },
        })
    }

    fn dcd(replicas: i32) -> DynamoComponentDeployment {
        let mut d = DynamoComponentDeployment {
            metadata: ObjectMeta {
                name: Some("g-decode".into()),
                generation: Some(3),
                ..Default::default()
            },
            spec: Default::default(),
            status: None,
        };
        d.spec.component.replicas = Some(replicas);
        d
    }

    #[test]
    fn an_lws_needs_ready_groups_and_the_available_condition() {
        assert!(lws_readiness(&lws("x", 1, true)).ready);
        assert_eq!(
            lws_readiness(&lws("x", 1, false)).reason,
            "leaderworkerset/x: not Available"
        );
        assert_eq!(
            lws_readiness(&lws("x", 0, true)).reason,
            "leaderworkerset/x: 0 of 1 groups ready"
        );
        let mut stale = lws("x", 1, true);
        stale["metadata"]["generation"] = json!(2);
        assert!(!lws_readiness(&stale).ready);
    }

    #[test]
    fn a_multinode_component_is_available_when_every_index_is() {
        let all = [
            lws("g-decode-0", 1, true),
            lws("g-decode-1", 1, true),
            lws("g-decode-2", 1, false),
        ];
        let s = lws_component_status(&dcd(2), &all, None, &at(10));
        let c = &s.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", REASON_LWS_READY)
        );
        let service = s.service.unwrap();
        assert_eq!(service.component_kind.as_deref(), Some("LeaderWorkerSet"));
        assert_eq!(service.component_name.as_deref(), Some("g-decode-0"));
        assert_eq!((service.replicas, service.ready_replicas), (2, Some(2)));

        let s = lws_component_status(&dcd(3), &all[..1], None, &at(10));
        let c = &s.conditions.as_ref().unwrap()[0];
        assert_eq!(c.status, "False");
        assert_eq!(
            c.message,
            "leaderworkerset/g-decode-1: not created yet; leaderworkerset/g-decode-2: not created yet"
        );
    }

    fn graph() -> DynamoGraphDeployment {
        let mut g = crate::status::graph::tests::graph();
        let services = g.spec.services.as_mut().unwrap();
        let decode: &mut ComponentSpec = services.get_mut("decode").unwrap();
        decode.multinode = Some(MultinodeSpec {
            node_count: Some(2),
            ..Default::default()
        });
        g
    }

    fn child(kind: &str, name: &str, desired: i64, have: i64) -> Value {
        let field = if kind == "PodClique" {
            "readyReplicas"
        } else {
            "availableReplicas"
        };
        json!({
            "kind": kind,
            "metadata": { "name": name },
            "spec": { "replicas": desired },
            "status": { "replicas": desired, "updatedReplicas": desired, field: have },
        })
    }

    #[test]
    fn a_grove_graph_is_ready_from_its_cliques_and_scaling_groups() {
        let pcs = json!({ "metadata": { "name": "g", "generation": 2 }, "status": { "observedGeneration": 2 } });
        let children = [
            child("PodClique", "g-0-frontend", 1, 1),
            child("PodCliqueScalingGroup", "g-0-decode", 2, 2),
        ];
        let s = grove_graph_status(&graph(), Some(&pcs), &children, &at(5));
        assert_eq!(s.state.as_deref(), Some(STATE_SUCCESSFUL));
        let services = s.services.unwrap();
        assert_eq!(
            services["decode"].component_kind.as_deref(),
            Some("PodCliqueScalingGroup")
        );
        assert_eq!(services["decode"].available_replicas, Some(2));
        assert_eq!(
            services["Frontend"].component_kind.as_deref(),
            Some("PodClique")
        );

        let children = [
            child("PodClique", "g-0-frontend", 1, 1),
            child("PodCliqueScalingGroup", "g-0-decode", 2, 1),
        ];
        let s = grove_graph_status(&graph(), Some(&pcs), &children, &at(5));
        assert_eq!(s.state.as_deref(), Some(STATE_PENDING));
        assert_eq!(
            s.conditions.unwrap()[0].message,
            "Resources not ready: podcliquescalinggroup/g-0-decode: 1 of 2 replicas available"
        );
        let stale = json!({ "metadata": { "name": "g", "generation": 3 }, "status": { "observedGeneration": 2 } });
        let s = grove_graph_status(&graph(), Some(&stale), &children[..1], &at(5));
        assert_eq!(
            s.conditions.unwrap()[0].message,
            "Resources not ready: podcliquescalinggroup/g-0-decode: not created yet; podcliqueset/g: waiting for the change to be observed"
        );
    }
}
