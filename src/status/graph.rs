//! The status of a DynamoGraphDeployment, from its components. Upstream's state names and
//! condition reasons are kept (research dynamo-operator §1.5) so existing dashboards and
//! scripts keep working; what changes is *when* a graph is Ready: only once every component
//! has reported on its current generation (upstream #3567 reported success mid-rollout).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::component::CONDITION_AVAILABLE;
use super::condition::{Observed, condition};
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment, DynamoGraphDeploymentStatus};

/// The condition type a graph reports.
pub const CONDITION_READY: &str = "Ready";
/// `state` while some component is not ready.
pub const STATE_PENDING: &str = "pending";
/// `state` once every component is ready.
pub const STATE_SUCCESSFUL: &str = "successful";
/// `state` after a validation or reconcile error.
pub const STATE_FAILED: &str = "failed";
/// `Ready=True`.
pub const REASON_ALL_READY: &str = "all_resources_are_ready";
/// `Ready=False` while components are not ready.
pub const REASON_SOME_NOT_READY: &str = "some_resources_are_not_ready";
/// `Ready=False` for an invalid spec.
pub const REASON_VALIDATION_FAILED: &str = "ValidationFailed";
/// `Ready=False` after a failed reconcile.
pub const REASON_RECONCILE_FAILED: &str = "failed_to_reconcile_the_resources";

pub use crate::api::v1alpha1::component_name;

/// A graph's status from its components (any order; matched by name and, when both have
/// one, namespace). `state: successful` and `Ready=True` only when, for every service in the
/// spec, its component exists, has `status.observedGeneration == metadata.generation` and
/// `Available=True`; otherwise `state: pending`, `Ready=False` with a message listing each
/// component that is not ready and why, sorted by name. `services` maps each service key to
/// its component's replica counts. `lastTransitionTime` is kept from `dgd.status` unless
/// `Ready` changes.
pub fn graph_status(
    dgd: &DynamoGraphDeployment,
    components: &[DynamoComponentDeployment],
    now: &Time,
) -> DynamoGraphDeploymentStatus {
    let graph = dgd.metadata.name.as_deref().unwrap_or_default();
    let mut not_ready: Vec<(String, String)> = Vec::new();
    let mut services = BTreeMap::new();
    for key in dgd.spec.services.iter().flat_map(|s| s.keys()) {
        let name = component_name(graph, key);
        let Some(dcd) = find(components, &name, dgd.metadata.namespace.as_deref()) else {
            not_ready.push((name, "not found".to_string()));
            continue;
        };
        if let Some(service) = dcd.status.as_ref().and_then(|s| s.service.clone()) {
            services.insert(key.clone(), service);
        }
        if let Some(why) = component_problem(dcd) {
            not_ready.push((name, why));
        }
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
        let list: Vec<String> = not_ready
            .iter()
            .map(|(name, why)| format!("{name}: {why}"))
            .collect();
        (
            STATE_PENDING,
            "False",
            REASON_SOME_NOT_READY,
            format!("Resources not ready: {}", list.join("; ")),
        )
    };
    build(dgd, state, status, reason, message, Some(services), now)
}

/// The status of a graph whose spec is invalid: `state: failed`, `Ready=False` with reason
/// `ValidationFailed` and message `Validation failed: <message>`. Replica counts from the
/// previous status are kept, since the workloads keep running.
pub fn validation_failed(
    dgd: &DynamoGraphDeployment,
    message: &str,
    now: &Time,
) -> DynamoGraphDeploymentStatus {
    let message = format!("Validation failed: {message}");
    build(
        dgd,
        STATE_FAILED,
        "False",
        REASON_VALIDATION_FAILED,
        message,
        None,
        now,
    )
}

/// The status of a graph whose `spec.pvcs[]` entries with `create` unset or false name
/// claims the controller did not find (`missing`: index and claim name): `state: failed`,
/// `Ready=False` with upstream's reason `failed_to_reconcile_the_resources`, and a message
/// naming each claim. Upstream fails the same way; without the check, pods wait Pending.
pub fn claims_missing(
    dgd: &DynamoGraphDeployment,
    missing: &[(usize, String)],
    now: &Time,
) -> DynamoGraphDeploymentStatus {
    let ns = dgd.metadata.namespace.as_deref().unwrap_or("default");
    let claims: Vec<String> = missing
        .iter()
        .map(|(i, name)| format!("PersistentVolumeClaim {ns}/{name} (spec.pvcs[{i}])"))
        .collect();
    let message = format!(
        "{} does not exist and create is not true: create the claim, or set create: true with size, storageClass and volumeAccessMode",
        claims.join(", ")
    );
    reconcile_failed(dgd, &message, now)
}

/// The status of a graph whose children could not be written: `state: failed`, `Ready=False`
/// with upstream's reason `failed_to_reconcile_the_resources` and the error as message.
/// Replica counts from the previous status are kept.
pub fn reconcile_failed(
    dgd: &DynamoGraphDeployment,
    message: &str,
    now: &Time,
) -> DynamoGraphDeploymentStatus {
    let message = message.to_string();
    build(
        dgd,
        STATE_FAILED,
        "False",
        REASON_RECONCILE_FAILED,
        message,
        None,
        now,
    )
}

/// Why a component is not ready, or `None` when it is.
pub(crate) fn component_problem(dcd: &DynamoComponentDeployment) -> Option<String> {
    let generation = dcd.metadata.generation;
    let Some(status) = dcd
        .status
        .as_ref()
        .filter(|s| s.observed_generation == generation)
    else {
        // A status written for an older spec says nothing about the current one.
        return Some(format!(
            "status not observed for generation {}",
            generation.unwrap_or(0)
        ));
    };
    let available = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == CONDITION_AVAILABLE);
    match available {
        None => Some("no Available condition".to_string()),
        Some(c) if c.status == "True" => None,
        Some(c) if c.message.is_empty() => Some(format!("Available={} ({})", c.status, c.reason)),
        Some(c) => Some(c.message.clone()),
    }
}

fn find<'a>(
    components: &'a [DynamoComponentDeployment],
    name: &str,
    namespace: Option<&str>,
) -> Option<&'a DynamoComponentDeployment> {
    components.iter().find(|c| {
        c.metadata.name.as_deref() == Some(name)
            && (namespace.is_none()
                || c.metadata.namespace.is_none()
                || c.metadata.namespace.as_deref() == namespace)
    })
}

/// Assembles a status; `services: None` keeps the previous replica counts.
pub(super) fn build(
    dgd: &DynamoGraphDeployment,
    state: &str,
    status: &str,
    reason: &str,
    message: String,
    services: Option<BTreeMap<String, crate::api::v1alpha1::ServiceReplicaStatus>>,
    now: &Time,
) -> DynamoGraphDeploymentStatus {
    let previous = dgd.status.as_ref();
    let ready = condition(
        Observed {
            type_: CONDITION_READY,
            status,
            reason,
            message,
            observed_generation: dgd.metadata.generation,
        },
        previous.and_then(|p| p.conditions.as_deref()),
        now,
    );
    let services = match services {
        Some(s) => Some(s).filter(|s| !s.is_empty()),
        None => previous.and_then(|p| p.services.clone()),
    };
    DynamoGraphDeploymentStatus {
        observed_generation: dgd.metadata.generation,
        state: Some(state.to_string()),
        conditions: Some(vec![ready]),
        services,
        // The restart's progress is the controller's to advance (`status::restart`).
        restart: previous.and_then(|p| p.restart.clone()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::v1alpha1::ServiceReplicaStatus;
    use crate::api::{ComponentSpec, DynamoComponentDeploymentStatus};
    use crate::status::component::component_status;
    use crate::status::readiness::tests::deployment;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use k8s_openapi::jiff::Timestamp;

    pub(crate) fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).unwrap())
    }

    /// Graph `g` in `ns` at generation 2 with services `Frontend` and `decode`.
    pub(crate) fn graph() -> DynamoGraphDeployment {
        let service = |t: &str, replicas: i32| {
            Box::new(ComponentSpec {
                component_type: Some(t.into()),
                replicas: Some(replicas),
                ..Default::default()
            })
        };
        let mut dgd = DynamoGraphDeployment::new(
            "g",
            crate::api::DynamoGraphDeploymentSpec {
                services: Some(BTreeMap::from([
                    ("Frontend".to_string(), service("frontend", 1)),
                    ("decode".to_string(), service("worker", 2)),
                ])),
                ..Default::default()
            },
        );
        dgd.metadata.namespace = Some("ns".into());
        dgd.metadata.generation = Some(2);
        dgd
    }

    /// Component `name` at `generation`, its status computed from a Deployment with the
    /// given `(total, updated, ready, available)` counts, observed at `observed`.
    pub(crate) fn component(
        name: &str,
        generation: i64,
        observed: i64,
        desired: i32,
        counts: (i32, i32, i32, i32),
    ) -> DynamoComponentDeployment {
        let mut dcd = DynamoComponentDeployment {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                generation: Some(generation),
                ..Default::default()
            },
            spec: Default::default(),
            status: None,
        };
        let mut d = deployment(Some(desired), 2, counts);
        d.metadata.name = Some(name.into());
        let mut status = component_status(&dcd, Some(&d), None, &at(500));
        status.observed_generation = Some(observed);
        dcd.status = Some(status);
        dcd
    }

    fn ready_parts(s: &DynamoGraphDeploymentStatus) -> (&str, &str, &str, &str) {
        let c = &s.conditions.as_ref().unwrap()[0];
        (
            s.state.as_deref().unwrap(),
            c.status.as_str(),
            c.reason.as_str(),
            c.message.as_str(),
        )
    }

    #[test]
    fn all_caught_up_and_available_is_successful() {
        let components = [
            component("g-frontend", 1, 1, 1, (1, 1, 1, 1)),
            component("g-decode", 3, 3, 2, (2, 2, 2, 2)),
        ];
        let s = graph_status(&graph(), &components, &at(1000));
        assert_eq!(
            ready_parts(&s),
            (
                "successful",
                "True",
                "all_resources_are_ready",
                "All resources are ready"
            )
        );
        assert_eq!(s.observed_generation, Some(2));
        let services = s.services.unwrap();
        assert_eq!(services.keys().collect::<Vec<_>>(), ["Frontend", "decode"]);
        assert_eq!(
            services["decode"],
            ServiceReplicaStatus {
                component_kind: Some("Deployment".into()),
                component_name: Some("g-decode".into()),
                replicas: 2,
                updated_replicas: 2,
                ready_replicas: Some(2),
                available_replicas: Some(2),
            }
        );
    }

    #[test]
    fn stale_component_status_is_not_ready() {
        // g-decode says Available=True, but for generation 2 while it is at 3: the new spec
        // has not been rolled out yet, so the graph must not report success.
        let components = [
            component("g-frontend", 1, 1, 1, (1, 1, 1, 1)),
            component("g-decode", 3, 2, 2, (2, 2, 2, 2)),
        ];
        let s = graph_status(&graph(), &components, &at(1000));
        assert_eq!(
            ready_parts(&s),
            (
                "pending",
                "False",
                "some_resources_are_not_ready",
                "Resources not ready: g-decode: status not observed for generation 3"
            )
        );
    }

    #[test]
    fn not_ready_reasons_are_sorted_by_name() {
        let mut no_status = component("g-frontend", 1, 1, 1, (1, 1, 1, 1));
        no_status.status = None;
        let components = [component("g-decode", 1, 1, 2, (3, 2, 3, 3)), no_status];
        let s = graph_status(&graph(), &components, &at(1000));
        assert_eq!(
            ready_parts(&s).3,
            "Resources not ready: g-decode: deployment/g-decode: 1 old replicas are pending \
             termination; g-frontend: status not observed for generation 1"
        );
        let s = graph_status(&graph(), &components[..1], &at(1000));
        assert_eq!(
            ready_parts(&s).3,
            "Resources not ready: g-decode: deployment/g-decode: 1 old replicas are pending \
             termination; g-frontend: not found"
        );
        let mut no_condition = component("g-frontend", 1, 1, 1, (1, 1, 1, 1));
        no_condition.status = Some(DynamoComponentDeploymentStatus {
            observed_generation: Some(1),
            ..Default::default()
        });
        let s = graph_status(&graph(), &[components[0].clone(), no_condition], &at(1000));
        assert!(
            ready_parts(&s)
                .3
                .ends_with("g-frontend: no Available condition"),
            "{s:?}"
        );
    }

    #[test]
    fn components_of_other_namespaces_do_not_count() {
        let mut elsewhere = component("g-frontend", 1, 1, 1, (1, 1, 1, 1));
        elsewhere.metadata.namespace = Some("other".into());
        let components = [elsewhere, component("g-decode", 1, 1, 2, (2, 2, 2, 2))];
        let s = graph_status(&graph(), &components, &at(1000));
        assert_eq!(
            ready_parts(&s).3,
            "Resources not ready: g-frontend: not found"
        );
    }

    #[test]
    fn transition_time_kept_until_ready_flips() {
        let pending = [component("g-frontend", 1, 1, 1, (1, 1, 1, 1))];
        let ready = [
            component("g-frontend", 1, 1, 1, (1, 1, 1, 1)),
            component("g-decode", 1, 1, 2, (2, 2, 2, 2)),
        ];
        let mut dgd = graph();
        let first = graph_status(&dgd, &pending, &at(1000));
        dgd.status = Some(first.clone());
        let again = graph_status(&dgd, &pending, &at(2000));
        assert_eq!(
            serde_json::to_vec(&again).unwrap(),
            serde_json::to_vec(&first).unwrap()
        );
        let flipped = graph_status(&dgd, &ready, &at(3000));
        assert_eq!(
            flipped.conditions.as_ref().unwrap()[0].last_transition_time,
            at(3000)
        );
        dgd.status = Some(flipped.clone());
        // Failing keeps Ready=False → moves once; failing again keeps the time.
        let failed = reconcile_failed(&dgd, "boom", &at(4000));
        assert_eq!(
            failed.conditions.as_ref().unwrap()[0].last_transition_time,
            at(4000)
        );
        dgd.status = Some(failed.clone());
        let failed_again = validation_failed(&dgd, "bad", &at(5000));
        assert_eq!(
            failed_again.conditions.as_ref().unwrap()[0].last_transition_time,
            at(4000)
        );
    }

    #[test]
    fn failures_keep_replica_counts() {
        let ready = [
            component("g-frontend", 1, 1, 1, (1, 1, 1, 1)),
            component("g-decode", 1, 1, 2, (2, 2, 2, 2)),
        ];
        let mut dgd = graph();
        dgd.status = Some(graph_status(&dgd, &ready, &at(1000)));
        let s = validation_failed(&dgd, "spec.services: at least one", &at(2000));
        assert_eq!(
            ready_parts(&s),
            (
                "failed",
                "False",
                "ValidationFailed",
                "Validation failed: spec.services: at least one"
            )
        );
        assert_eq!(s.services, dgd.status.as_ref().unwrap().services);
        let s = reconcile_failed(&dgd, "applying g-decode: 409 Conflict", &at(2000));
        assert_eq!(
            ready_parts(&s),
            (
                "failed",
                "False",
                "failed_to_reconcile_the_resources",
                "applying g-decode: 409 Conflict"
            )
        );
        assert_eq!(s.observed_generation, Some(2));
    }
}
