//! The status of a graph or component whose workloads cannot start because something outside
//! its spec is missing: the MPI SSH secret TRT-LLM multinode pods mount, or the Kai scheduler
//! queue Grove cliques are placed in. The workloads are not applied (graph) or their status
//! says why they cannot start (component); retrying helps once the missing object appears.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::component::CONDITION_AVAILABLE;
use super::condition::{Observed, condition};
use super::graph::{STATE_FAILED, build};
use crate::api::{
    DynamoComponentDeployment, DynamoComponentDeploymentStatus, DynamoGraphDeployment,
    DynamoGraphDeploymentStatus,
};

/// `Ready=False` / `Available=False`: the MPI SSH secret is neither in the workload's namespace
/// nor in the namespace it is copied from.
pub const REASON_MPI_SECRET_MISSING: &str = "MPISecretMissing";
/// `Ready=False`: the Kai scheduler queue the graph's cliques name does not exist.
pub const REASON_KAI_QUEUE_MISSING: &str = "KaiQueueMissing";

/// A graph blocked by a missing prerequisite: `state: failed`, `Ready=False` with `reason`
/// and `message`. Replica counts from the previous status are kept.
pub fn graph_blocked(
    dgd: &DynamoGraphDeployment,
    reason: &str,
    message: &str,
    now: &Time,
) -> DynamoGraphDeploymentStatus {
    build(
        dgd,
        STATE_FAILED,
        "False",
        reason,
        message.to_string(),
        None,
        now,
    )
}

/// A component blocked by a missing prerequisite: `Available=False` with `reason` and
/// `message`, for its current generation; the previous replica counts and selector are kept.
pub fn component_blocked(
    dcd: &DynamoComponentDeployment,
    reason: &str,
    message: &str,
    now: &Time,
) -> DynamoComponentDeploymentStatus {
    let previous = dcd.status.as_ref();
    let available = condition(
        Observed {
            type_: CONDITION_AVAILABLE,
            status: "False",
            reason,
            message: message.to_string(),
            observed_generation: dcd.metadata.generation,
        },
        previous.and_then(|p| p.conditions.as_deref()),
        now,
    );
    DynamoComponentDeploymentStatus {
        observed_generation: dcd.metadata.generation,
        conditions: Some(vec![available]),
        pod_selector: previous.and_then(|p| p.pod_selector.clone()),
        service: previous.and_then(|p| p.service.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).unwrap())
    }

    #[test]
    fn a_blocked_graph_is_failed_with_the_reason_and_keeps_its_counts() {
        let mut g = DynamoGraphDeployment::new("g", Default::default());
        g.metadata.generation = Some(3);
        let s = graph_blocked(&g, REASON_KAI_QUEUE_MISSING, "queue q is missing", &at(10));
        assert_eq!(s.state.as_deref(), Some(STATE_FAILED));
        let ready = &s.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (
                ready.status.as_str(),
                ready.reason.as_str(),
                ready.message.as_str()
            ),
            ("False", REASON_KAI_QUEUE_MISSING, "queue q is missing")
        );
        // Written again with nothing changed, it is identical (no status write).
        g.status = Some(s.clone());
        assert_eq!(
            graph_blocked(&g, REASON_KAI_QUEUE_MISSING, "queue q is missing", &at(99)),
            s
        );
    }

    #[test]
    fn a_blocked_component_is_unavailable_for_its_generation() {
        let mut c = DynamoComponentDeployment::new("c", Default::default());
        c.metadata.generation = Some(2);
        let s = component_blocked(&c, REASON_MPI_SECRET_MISSING, "no secret", &at(1));
        assert_eq!(s.observed_generation, Some(2));
        let a = &s.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (a.type_.as_str(), a.status.as_str(), a.reason.as_str()),
            (CONDITION_AVAILABLE, "False", REASON_MPI_SECRET_MISSING)
        );
    }
}
