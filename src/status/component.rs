//! The status of a DynamoComponentDeployment, from the Deployment it owns.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::condition::{Observed, condition};
use super::readiness::deployment_readiness;
use crate::api::consts::LABEL_SELECTOR;
use crate::api::v1alpha1::ServiceReplicaStatus;
use crate::api::{DynamoComponentDeployment, DynamoComponentDeploymentStatus};

/// The condition type a component reports.
pub const CONDITION_AVAILABLE: &str = "Available";
/// `Available=True`: the Deployment has rolled out.
pub const REASON_DEPLOYMENT_READY: &str = "DeploymentReady";
/// `Available=False`: the Deployment has not rolled out; the message says why.
pub const REASON_DEPLOYMENT_NOT_READY: &str = "DeploymentNotReady";
/// `Available=Unknown`: the Deployment does not exist yet.
pub const REASON_RECONCILING: &str = "Reconciling";
/// Upstream's second readiness condition; here it always says what `Available` says.
pub const CONDITION_COMPONENT_READY: &str = "DynamoComponentReady";
/// Whether the spec could be rendered (upstream's controller-side validation).
pub const CONDITION_VALID: &str = "Valid";
/// `Valid=True`.
pub const REASON_VALIDATION_PASSED: &str = "ValidationPassed";
/// `Valid=False`; the message says what is wrong.
pub const REASON_COMPONENT_VALIDATION_FAILED: &str = "ValidationFailed";

/// A component's status: `observedGeneration` = the component's generation; the `Available`
/// condition from the Deployment's readiness ([`deployment_readiness`]), `Unknown` with
/// reason `Reconciling` while there is no Deployment; `service` with the Deployment's
/// replica counts (absent without a Deployment); `podSelector` = the Deployment's selector
/// label. `previous` is the component's current status: its `lastTransitionTime` is kept
/// unless the condition's status changes, so an unchanged world gives an identical status.
pub fn component_status(
    dcd: &DynamoComponentDeployment,
    deployment: Option<&Deployment>,
    previous: Option<&DynamoComponentDeploymentStatus>,
    now: &Time,
) -> DynamoComponentDeploymentStatus {
    let generation = dcd.metadata.generation;
    // The Deployment is named after the component (render::component).
    let workload = deployment
        .and_then(|d| d.metadata.name.clone())
        .or_else(|| dcd.metadata.name.clone())
        .unwrap_or_default();
    let (status, reason, message) = match deployment {
        None => (
            "Unknown",
            REASON_RECONCILING,
            format!("deployment/{workload}: not created yet"),
        ),
        Some(d) => {
            let r = deployment_readiness(d);
            if r.ready {
                ("True", REASON_DEPLOYMENT_READY, r.reason)
            } else {
                ("False", REASON_DEPLOYMENT_NOT_READY, r.reason)
            }
        }
    };
    let available = condition(
        Observed {
            type_: CONDITION_AVAILABLE,
            status,
            reason,
            message,
            observed_generation: generation,
        },
        previous.and_then(|p| p.conditions.as_deref()),
        now,
    );
    DynamoComponentDeploymentStatus {
        observed_generation: generation,
        conditions: Some(vec![available]),
        pod_selector: Some(BTreeMap::from([(LABEL_SELECTOR.to_string(), workload)])),
        service: deployment.map(replica_status),
    }
}

/// Completes a component status computed from its workloads (`status.conditions[0]` is
/// `Available`) with upstream's other two conditions: `DynamoComponentReady`, which says
/// what `Available` says (upstream sets it `Unknown` on the first pass and never again), and
/// `Valid=True` (`ValidationPassed`), since the spec rendered.
pub fn with_component_conditions(
    mut status: DynamoComponentDeploymentStatus,
    dcd: &DynamoComponentDeployment,
    previous: Option<&DynamoComponentDeploymentStatus>,
    now: &Time,
) -> DynamoComponentDeploymentStatus {
    let previous = previous.and_then(|p| p.conditions.as_deref());
    let mut conditions = status.conditions.take().unwrap_or_default();
    conditions.retain(|c| c.type_ != CONDITION_COMPONENT_READY && c.type_ != CONDITION_VALID);
    if let Some(available) = conditions
        .iter()
        .find(|c| c.type_ == CONDITION_AVAILABLE)
        .cloned()
    {
        conditions.push(condition(
            Observed {
                type_: CONDITION_COMPONENT_READY,
                status: &available.status,
                reason: &available.reason,
                message: available.message.clone(),
                observed_generation: available.observed_generation,
            },
            previous,
            now,
        ));
    }
    conditions.push(condition(
        Observed {
            type_: CONDITION_VALID,
            status: "True",
            reason: REASON_VALIDATION_PASSED,
            message: "DynamoComponentDeployment spec is valid".to_string(),
            observed_generation: dcd.metadata.generation,
        },
        previous,
        now,
    ));
    status.conditions = Some(conditions);
    status
}

/// The status of a component whose spec cannot be rendered: the previous status with
/// `Valid=False` (`ValidationFailed`, upstream's message shape) in place of its `Valid`
/// condition; the workload conditions are left as they were, since nothing was applied.
pub fn component_invalid(
    dcd: &DynamoComponentDeployment,
    message: &str,
    now: &Time,
) -> DynamoComponentDeploymentStatus {
    let previous = dcd.status.clone().unwrap_or_default();
    let valid = condition(
        Observed {
            type_: CONDITION_VALID,
            status: "False",
            reason: REASON_COMPONENT_VALIDATION_FAILED,
            message: format!("Validation failed: {message}"),
            observed_generation: dcd.metadata.generation,
        },
        previous.conditions.as_deref(),
        now,
    );
    let mut conditions = previous.conditions.clone().unwrap_or_default();
    conditions.retain(|c| c.type_ != CONDITION_VALID);
    conditions.push(valid);
    DynamoComponentDeploymentStatus {
        conditions: Some(conditions),
        ..previous
    }
}

/// Replica counts of a Deployment as upstream reports them.
fn replica_status(d: &Deployment) -> ServiceReplicaStatus {
    let status = d.status.clone().unwrap_or_default();
    ServiceReplicaStatus {
        component_kind: Some("Deployment".to_string()),
        component_name: d.metadata.name.clone(),
        replicas: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        updated_replicas: status.updated_replicas.unwrap_or(0),
        ready_replicas: Some(status.ready_replicas.unwrap_or(0)),
        available_replicas: Some(status.available_replicas.unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::readiness::tests::deployment;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use k8s_openapi::jiff::Timestamp;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).unwrap())
    }

    fn dcd() -> DynamoComponentDeployment {
        DynamoComponentDeployment {
            metadata: ObjectMeta {
                name: Some("x".into()),
                namespace: Some("ns".into()),
                generation: Some(4),
                ..Default::default()
            },
            spec: Default::default(),
            status: None,
        }
    }

    #[test]
    fn ready_deployment_is_available() {
        let d = deployment(Some(3), 2, (3, 3, 3, 3));
        let s = component_status(&dcd(), Some(&d), None, &at(1000));
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({
                "observedGeneration": 4,
                "conditions": [{
                    "type": "Available",
                    "status": "True",
                    "reason": "DeploymentReady",
                    "message": "deployment/x: successfully rolled out",
                    "observedGeneration": 4,
                    "lastTransitionTime": "1970-01-01T00:16:40Z"
                }],
                "podSelector": {"nvidia.com/selector": "x"},
                "service": {
                    "componentKind": "Deployment",
                    "componentName": "x",
                    "replicas": 3,
                    "updatedReplicas": 3,
                    "readyReplicas": 3,
                    "availableReplicas": 3
                }
            })
        );
    }

    #[test]
    fn rolling_deployment_is_not_available() {
        let d = deployment(Some(3), 2, (3, 3, 2, 1));
        let s = component_status(&dcd(), Some(&d), None, &at(1000));
        let c = &s.conditions.unwrap()[0];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str(), c.message.as_str()),
            (
                "False",
                "DeploymentNotReady",
                "deployment/x: 1 of 3 updated replicas are available"
            )
        );
        assert_eq!(s.service.unwrap().ready_replicas, Some(2));
    }

    #[test]
    fn missing_deployment_is_unknown() {
        let s = component_status(&dcd(), None, None, &at(1000));
        let c = &s.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str(), c.message.as_str()),
            ("Unknown", "Reconciling", "deployment/x: not created yet")
        );
        assert_eq!(s.service, None);
        assert_eq!(s.pod_selector.unwrap()["nvidia.com/selector"], "x");
    }

    #[test]
    fn component_ready_mirrors_available_and_valid_is_true() {
        let rolling = deployment(Some(3), 2, (3, 3, 2, 1));
        let first = component_status(&dcd(), Some(&rolling), None, &at(1000));
        let first = with_component_conditions(first, &dcd(), None, &at(1000));
        let summary = |s: &DynamoComponentDeploymentStatus| -> Vec<(String, String, String)> {
            s.conditions
                .iter()
                .flatten()
                .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
                .collect()
        };
        let row = |t: &str, s: &str, r: &str| (t.to_string(), s.to_string(), r.to_string());
        assert_eq!(
            summary(&first),
            [
                row("Available", "False", "DeploymentNotReady"),
                row("DynamoComponentReady", "False", "DeploymentNotReady"),
                row("Valid", "True", "ValidationPassed"),
            ]
        );
        // Rolled out later: both readiness conditions flip, Valid keeps its time.
        let ready = deployment(Some(3), 2, (3, 3, 3, 3));
        let second = component_status(&dcd(), Some(&ready), Some(&first), &at(2000));
        let second = with_component_conditions(second, &dcd(), Some(&first), &at(2000));
        let c = second.conditions.as_ref().unwrap();
        assert_eq!(
            (c[1].status.as_str(), &c[1].last_transition_time),
            ("True", &at(2000))
        );
        assert_eq!(c[2].last_transition_time, at(1000));
        // Unchanged world, identical status.
        let third = component_status(&dcd(), Some(&ready), Some(&second), &at(3000));
        assert_eq!(
            with_component_conditions(third, &dcd(), Some(&second), &at(3000)),
            second
        );
        // A spec that cannot be rendered: Valid=False, the rest kept.
        let mut broken = dcd();
        broken.status = Some(second.clone());
        let invalid = component_invalid(&broken, "bad", &at(4000));
        let c = invalid.conditions.as_ref().unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(
            (
                c[2].type_.as_str(),
                c[2].status.as_str(),
                c[2].reason.as_str(),
                c[2].message.as_str()
            ),
            (
                "Valid",
                "False",
                "ValidationFailed",
                "Validation failed: bad"
            )
        );
        assert_eq!(invalid.service, second.service);
    }

    #[test]
    fn unchanged_world_gives_identical_status() {
        let d = deployment(Some(3), 2, (3, 3, 3, 3));
        let first = component_status(&dcd(), Some(&d), None, &at(1000));
        let second = component_status(&dcd(), Some(&d), Some(&first), &at(5000));
        assert_eq!(second, first);
        assert_eq!(
            serde_json::to_vec(&second).unwrap(),
            serde_json::to_vec(&first).unwrap()
        );
        // A flip moves the time; a flip back moves it again.
        let rolling = deployment(Some(3), 2, (4, 3, 3, 3));
        let third = component_status(&dcd(), Some(&rolling), Some(&second), &at(6000));
        assert_eq!(
            third.conditions.as_ref().unwrap()[0].last_transition_time,
            at(6000)
        );
        let fourth = component_status(&dcd(), Some(&d), Some(&third), &at(7000));
        assert_eq!(fourth.conditions.unwrap()[0].last_transition_time, at(7000));
    }
}
