//! When a Deployment counts as ready: `kubectl rollout status`'s rules
//! (`pkg/polymorphichelpers/rollout_status.go`), so `dynamoctl` and kubectl agree on what
//! "rolled out" means, plus upstream Dynamo's two extras: a paused Deployment is not ready and
//! a Deployment scaled to zero is ready as soon as it is observed.

use k8s_openapi::api::apps::v1::Deployment;

/// The Deployment condition reason that means the rollout gave up.
const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

/// Whether a workload is ready, and a one-line reason that names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// The workload serves its current spec with all desired replicas available.
    pub ready: bool,
    /// `deployment/<name>: <why>`, e.g. `deployment/x: 1 of 3 updated replicas are available`.
    pub reason: String,
}

/// Readiness of a Deployment, checked in `kubectl rollout status` order: paused, spec change
/// not yet observed, scaled to zero (ready), progress deadline exceeded, new replicas not yet
/// all created, old replicas still terminating, updated replicas not yet available. Unset
/// `spec.replicas` means 1, as the API server defaults it.
pub fn deployment_readiness(d: &Deployment) -> Readiness {
    let name = d.metadata.name.as_deref().unwrap_or_default();
    let not_ready = |why: String| Readiness {
        ready: false,
        reason: format!("deployment/{name}: {why}"),
    };
    let spec = d.spec.clone().unwrap_or_default();
    let status = d.status.clone().unwrap_or_default();
    if spec.paused == Some(true) {
        return not_ready("rollout is paused".to_string());
    }
    // kubectl compares generation <= observedGeneration, both defaulting to 0.
    if d.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return not_ready("waiting for rollout to be observed".to_string());
    }
    let desired = spec.replicas.unwrap_or(1);
    if desired == 0 {
        return Readiness {
            ready: true,
            reason: format!("deployment/{name}: scaled to zero"),
        };
    }
    let deadline_exceeded = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some(PROGRESS_DEADLINE_EXCEEDED)
    });
    if deadline_exceeded {
        return not_ready("exceeded its progress deadline".to_string());
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < desired {
        return not_ready(format!(
            "{updated} out of {desired} new replicas have been updated"
        ));
    }
    if total > updated {
        return not_ready(format!(
            "{} old replicas are pending termination",
            total - updated
        ));
    }
    if available < updated {
        return not_ready(format!(
            "{available} of {updated} updated replicas are available"
        ));
    }
    Readiness {
        ready: true,
        reason: format!("deployment/{name}: successfully rolled out"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentSpec, DeploymentStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    /// A Deployment `x` at generation 2 with `desired` replicas and the given status counts.
    pub(crate) fn deployment(
        desired: Option<i32>,
        observed: i64,
        (total, updated, ready, available): (i32, i32, i32, i32),
    ) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("x".into()),
                generation: Some(2),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: desired,
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                observed_generation: Some(observed),
                replicas: Some(total),
                updated_replicas: Some(updated),
                ready_replicas: Some(ready),
                available_replicas: Some(available),
                ..Default::default()
            }),
        }
    }

    fn check(d: &Deployment) -> (bool, String) {
        let r = deployment_readiness(d);
        (r.ready, r.reason)
    }

    #[test]
    fn rolled_out() {
        assert_eq!(
            check(&deployment(Some(3), 2, (3, 3, 3, 3))),
            (true, "deployment/x: successfully rolled out".into())
        );
    }

    #[test]
    fn spec_change_not_observed() {
        assert_eq!(
            check(&deployment(Some(3), 1, (3, 3, 3, 3))),
            (
                false,
                "deployment/x: waiting for rollout to be observed".into()
            )
        );
        // No status at all: not observed either.
        let mut d = deployment(Some(3), 2, (0, 0, 0, 0));
        d.status = None;
        assert!(!deployment_readiness(&d).ready);
    }

    #[test]
    fn new_replicas_not_yet_updated() {
        assert_eq!(
            check(&deployment(Some(3), 2, (4, 1, 3, 3))),
            (
                false,
                "deployment/x: 1 out of 3 new replicas have been updated".into()
            )
        );
    }

    #[test]
    fn old_replicas_pending_termination() {
        // All new pods exist, but two old ones still run: the rollout is not over even though
        // the counts of ready pods look fine (upstream #3567).
        assert_eq!(
            check(&deployment(Some(3), 2, (5, 3, 5, 5))),
            (
                false,
                "deployment/x: 2 old replicas are pending termination".into()
            )
        );
    }

    #[test]
    fn updated_replicas_not_available() {
        assert_eq!(
            check(&deployment(Some(3), 2, (3, 3, 1, 1))),
            (
                false,
                "deployment/x: 1 of 3 updated replicas are available".into()
            )
        );
    }

    #[test]
    fn unset_replicas_means_one() {
        assert_eq!(
            check(&deployment(None, 2, (0, 0, 0, 0))),
            (
                false,
                "deployment/x: 0 out of 1 new replicas have been updated".into()
            )
        );
        assert!(deployment_readiness(&deployment(None, 2, (1, 1, 1, 1))).ready);
    }

    #[test]
    fn scaled_to_zero_is_ready_once_observed() {
        assert_eq!(
            check(&deployment(Some(0), 2, (2, 0, 2, 2))),
            (true, "deployment/x: scaled to zero".into())
        );
        assert!(!deployment_readiness(&deployment(Some(0), 1, (0, 0, 0, 0))).ready);
    }

    #[test]
    fn paused_is_not_ready() {
        let mut d = deployment(Some(1), 2, (1, 1, 1, 1));
        d.spec.as_mut().unwrap().paused = Some(true);
        assert_eq!(check(&d), (false, "deployment/x: rollout is paused".into()));
    }

    #[test]
    fn progress_deadline_exceeded() {
        let mut d = deployment(Some(2), 2, (2, 1, 1, 1));
        d.status.as_mut().unwrap().conditions = Some(vec![DeploymentCondition {
            type_: "Progressing".into(),
            status: "False".into(),
            reason: Some("ProgressDeadlineExceeded".into()),
            ..Default::default()
        }]);
        assert_eq!(
            check(&d),
            (false, "deployment/x: exceeded its progress deadline".into())
        );
    }
}
