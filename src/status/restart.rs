//! Graph restarts (`spec.restart`), decided without I/O: the next `status.restart` from the
//! last one and what each service's workload looks like now, and the `nvidia.com/restartAt`
//! value each service's pods carry. The controller reads the live state, calls these and
//! stamps the values into the graph it renders (`render::restart::stamped`).
//!
//! Upstream's rules (2a6da14 `dgd_restart_reconciler.go`, `dynamo/graph.go`): the annotation's
//! value is the restart id; Sequential restarts one service at a time in `order` (default: the
//! service names sorted), the next once the previous is available again; Parallel restarts
//! all at once. One deliberate choice upstream made later is kept (#10955): an id already
//! present when the graph is first reconciled restarts nothing and is reported `Completed`.

use std::collections::BTreeMap;

use crate::api::DynamoGraphDeployment;
use crate::api::v1alpha1::{RestartPhase, RestartStatus, RestartStrategyType};

/// What the controller saw of one service's workload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceRestart {
    /// The `nvidia.com/restartAt` value its pod template carries now.
    pub stamp: Option<String>,
    /// Its component has caught up with its spec and is available again (its Deployment,
    /// LeaderWorkerSet or PodClique rolled out).
    pub settled: bool,
}

/// The id of the graph's restart request, if it has a non-empty one.
pub fn requested_id(dgd: &DynamoGraphDeployment) -> Option<&str> {
    dgd.spec
        .restart
        .as_ref()
        .map(|r| r.id.as_str())
        .filter(|id| !id.is_empty())
}

/// Whether the graph restarts all services at once (Sequential is the default).
pub fn is_parallel(dgd: &DynamoGraphDeployment) -> bool {
    dgd.spec
        .restart
        .as_ref()
        .and_then(|r| r.strategy.as_ref())
        .and_then(|s| s.strategy_type)
        == Some(RestartStrategyType::Parallel)
}

/// The services in restart order: `strategy.order` when given, else the names sorted.
pub fn order(dgd: &DynamoGraphDeployment) -> Vec<String> {
    let given = dgd
        .spec
        .restart
        .as_ref()
        .and_then(|r| r.strategy.as_ref())
        .and_then(|s| s.order.clone())
        .unwrap_or_default();
    if !given.is_empty() {
        return given;
    }
    services(dgd)
}

fn services(dgd: &DynamoGraphDeployment) -> Vec<String> {
    // BTreeMap keys: already sorted.
    dgd.spec
        .services
        .iter()
        .flat_map(|s| s.keys().cloned())
        .collect()
}

fn terminal(phase: Option<RestartPhase>) -> bool {
    matches!(
        phase,
        Some(RestartPhase::Completed | RestartPhase::Failed | RestartPhase::Superseded)
    )
}

fn status(id: &str, phase: RestartPhase, in_progress: Vec<String>) -> RestartStatus {
    RestartStatus {
        observed_id: Some(id.to_string()),
        phase: Some(phase),
        in_progress: Some(in_progress).filter(|l| !l.is_empty()),
    }
}

/// The graph's next `status.restart`, from its spec, its last status and `live` (by service
/// key; a service missing there has no component yet and is not settled).
///
/// - No id: a finished restart's status is kept, anything else dropped.
/// - The id was already finished (`Completed`, `Failed`, `Superseded`): unchanged.
/// - An id on a graph never reconciled before (no status at all), or with no component yet:
///   `Completed`, nothing restarts (upstream #10955).
/// - A new id: `Restarting`, with every service (Parallel) or the first in order
///   (Sequential) in progress.
/// - The same id in progress: services whose pods carry the id and are settled leave
///   `inProgress`; Sequential then moves to the next service in order; `Completed` when none
///   is left.
pub fn next_status(
    dgd: &DynamoGraphDeployment,
    live: &BTreeMap<String, ServiceRestart>,
) -> Option<RestartStatus> {
    let previous = dgd.status.as_ref().and_then(|s| s.restart.clone());
    let Some(id) = requested_id(dgd) else {
        return previous.filter(|p| terminal(p.phase));
    };
    let same_id = previous
        .as_ref()
        .is_some_and(|p| p.observed_id.as_deref() == Some(id));
    if same_id && previous.as_ref().is_some_and(|p| terminal(p.phase)) {
        return previous;
    }
    // Nothing runs yet (a new graph, or one whose first passes failed): nothing to restart.
    if previous.is_none() && (dgd.status.is_none() || live.is_empty()) {
        return Some(status(id, RestartPhase::Completed, Vec::new()));
    }
    let order = order(dgd);
    let done = |s: &String| {
        live.get(s)
            .is_some_and(|l| l.settled && l.stamp.as_deref() == Some(id))
    };
    let in_progress: Vec<String> = previous
        .filter(|_| same_id)
        .and_then(|p| p.in_progress)
        .unwrap_or_default();
    if is_parallel(dgd) {
        let all = services(dgd);
        if !same_id {
            return Some(status(id, RestartPhase::Restarting, all));
        }
        let base = if in_progress.is_empty() {
            all.clone()
        } else {
            in_progress
        };
        let left: Vec<String> = base
            .into_iter()
            .filter(|s| all.contains(s) && !done(s))
            .collect();
        let phase = if left.is_empty() {
            RestartPhase::Completed
        } else {
            RestartPhase::Restarting
        };
        return Some(status(id, phase, left));
    }
    let Some(first) = order.first().cloned() else {
        return Some(status(id, RestartPhase::Completed, Vec::new()));
    };
    let current = in_progress.into_iter().next().filter(|_| same_id);
    let Some(current) = current else {
        return Some(status(id, RestartPhase::Restarting, vec![first]));
    };
    let Some(at) = order.iter().position(|s| *s == current) else {
        // The order changed under a running restart: start it over.
        return Some(status(id, RestartPhase::Restarting, vec![first]));
    };
    if !done(&current) {
        return Some(status(id, RestartPhase::Restarting, vec![current]));
    }
    match order.get(at + 1) {
        Some(next) => Some(status(id, RestartPhase::Restarting, vec![next.clone()])),
        None => Some(status(id, RestartPhase::Completed, Vec::new())),
    }
}

/// The `nvidia.com/restartAt` value each service's pods carry under `restart` (the graph's
/// next restart status): what they carry now (`live`), except that services a running
/// restart has reached — all of them for Parallel, those up to the one in progress for
/// Sequential — carry its id. A finished restart changes nothing: its services were stamped
/// while it ran, and a `Completed` id present at creation was never stamped at all.
pub fn stamps(
    dgd: &DynamoGraphDeployment,
    restart: Option<&RestartStatus>,
    live: &BTreeMap<String, ServiceRestart>,
) -> BTreeMap<String, String> {
    let all = services(dgd);
    let mut out: BTreeMap<String, String> = all
        .iter()
        .filter_map(|s| Some((s.clone(), live.get(s)?.stamp.clone()?)))
        .collect();
    let Some(restart) = restart.filter(|r| r.phase == Some(RestartPhase::Restarting)) else {
        return out;
    };
    let Some(id) = restart.observed_id.clone() else {
        return out;
    };
    let reached: Vec<String> = if is_parallel(dgd) {
        all
    } else {
        let order = order(dgd);
        let in_progress = restart.in_progress.clone().unwrap_or_default();
        let last = order.iter().rposition(|s| in_progress.contains(s));
        order.into_iter().take(last.map_or(0, |i| i + 1)).collect()
    };
    for s in reached {
        out.insert(s, id.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DynamoGraphDeploymentStatus;
    use crate::api::v1alpha1::{Restart, RestartStrategy};

    fn graph(id: Option<&str>, parallel: bool, order: &[&str]) -> DynamoGraphDeployment {
        let mut g: DynamoGraphDeployment = serde_json::from_value(serde_json::json!({
            "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": { "name": "g", "namespace": "ns" },
            "spec": { "services": { "Frontend": {}, "decode": {}, "prefill": {} } }
        }))
        .unwrap();
        g.spec.restart = id.map(|id| Restart {
            id: id.into(),
            strategy: Some(RestartStrategy {
                strategy_type: Some(if parallel {
                    RestartStrategyType::Parallel
                } else {
                    RestartStrategyType::Sequential
                }),
                order: Some(order.iter().map(|s| s.to_string()).collect())
                    .filter(|o: &Vec<String>| !o.is_empty()),
            }),
        });
        g.status = Some(DynamoGraphDeploymentStatus::default());
        g
    }

    fn with_restart(
        mut g: DynamoGraphDeployment,
        r: Option<RestartStatus>,
    ) -> DynamoGraphDeployment {
        g.status.as_mut().unwrap().restart = r;
        g
    }

    fn live(entries: &[(&str, Option<&str>, bool)]) -> BTreeMap<String, ServiceRestart> {
        entries
            .iter()
            .map(|(s, stamp, settled)| {
                (
                    s.to_string(),
                    ServiceRestart {
                        stamp: stamp.map(str::to_string),
                        settled: *settled,
                    },
                )
            })
            .collect()
    }

    fn restarting(id: &str, in_progress: &[&str]) -> RestartStatus {
        status(
            id,
            RestartPhase::Restarting,
            in_progress.iter().map(|s| s.to_string()).collect(),
        )
    }

    #[test]
    fn an_id_present_at_creation_completes_without_stamping() {
        let mut g = graph(Some("r1"), false, &[]);
        g.status = None;
        let next = next_status(&g, &BTreeMap::new());
        assert_eq!(next, Some(status("r1", RestartPhase::Completed, vec![])));
        assert!(stamps(&g, next.as_ref(), &BTreeMap::new()).is_empty());
        // A status from failed first passes, but no component yet: the same.
        let g = graph(Some("r1"), false, &[]);
        assert_eq!(next_status(&g, &BTreeMap::new()), next);
        // Once it ran (a finished id kept), the same id changes nothing either.
        let g = with_restart(g, next.clone());
        assert_eq!(next_status(&g, &live(&[("decode", None, true)])), next);
    }

    #[test]
    fn a_new_sequential_id_starts_with_the_first_in_order_and_stamps_only_it() {
        let g = graph(Some("r1"), false, &["prefill", "decode", "Frontend"]);
        let l = live(&[("decode", Some("r0"), true)]);
        let next = next_status(&g, &l);
        assert_eq!(next, Some(restarting("r1", &["prefill"])));
        let s = stamps(&g, next.as_ref(), &l);
        assert_eq!(
            s,
            BTreeMap::from([
                ("prefill".to_string(), "r1".to_string()),
                ("decode".to_string(), "r0".to_string()),
            ])
        );
    }

    #[test]
    fn sequential_moves_on_only_once_the_current_service_settled_with_the_id() {
        let g = with_restart(
            graph(Some("r1"), false, &["prefill", "decode", "Frontend"]),
            Some(restarting("r1", &["prefill"])),
        );
        // Stamped but not rolled out yet.
        let l = live(&[("prefill", Some("r1"), false)]);
        assert_eq!(next_status(&g, &l), Some(restarting("r1", &["prefill"])));
        // Settled, but on the old template.
        let l = live(&[("prefill", Some("r0"), true)]);
        assert_eq!(next_status(&g, &l), Some(restarting("r1", &["prefill"])));
        let l = live(&[("prefill", Some("r1"), true)]);
        let next = next_status(&g, &l);
        assert_eq!(next, Some(restarting("r1", &["decode"])));
        let s = stamps(&g, next.as_ref(), &l);
        assert_eq!(s.get("decode").map(String::as_str), Some("r1"));
        assert_eq!(s.get("Frontend"), None);
    }

    #[test]
    fn sequential_completes_after_the_last_and_then_keeps_every_stamp() {
        let g = with_restart(
            graph(Some("r1"), false, &[]),
            Some(restarting("r1", &["prefill"])),
        );
        let l = live(&[
            ("Frontend", Some("r1"), true),
            ("decode", Some("r1"), true),
            ("prefill", Some("r1"), true),
        ]);
        let next = next_status(&g, &l);
        assert_eq!(next, Some(status("r1", RestartPhase::Completed, vec![])));
        assert_eq!(stamps(&g, next.as_ref(), &l).len(), 3);
        let done = with_restart(g, next.clone());
        assert_eq!(next_status(&done, &BTreeMap::new()), next);
    }

    #[test]
    fn the_default_order_is_the_service_names_sorted() {
        assert_eq!(
            order(&graph(Some("r"), false, &[])),
            vec!["Frontend", "decode", "prefill"]
        );
    }

    #[test]
    fn parallel_stamps_everything_and_completes_when_all_settled() {
        let g = graph(Some("r2"), true, &[]);
        let next = next_status(&g, &live(&[("decode", None, true)]));
        assert_eq!(
            next,
            Some(restarting("r2", &["Frontend", "decode", "prefill"]))
        );
        assert_eq!(
            stamps(&g, next.as_ref(), &BTreeMap::new())
                .values()
                .filter(|v| *v == "r2")
                .count(),
            3
        );
        let g = with_restart(g, next);
        let l = live(&[
            ("Frontend", Some("r2"), true),
            ("decode", Some("r2"), false),
            ("prefill", Some("r2"), true),
        ]);
        assert_eq!(next_status(&g, &l), Some(restarting("r2", &["decode"])));
        let l = live(&[
            ("Frontend", Some("r2"), true),
            ("decode", Some("r2"), true),
            ("prefill", Some("r2"), true),
        ]);
        assert_eq!(
            next_status(&g, &l),
            Some(status("r2", RestartPhase::Completed, vec![]))
        );
    }

    #[test]
    fn a_newer_id_replaces_a_running_restart() {
        let g = with_restart(
            graph(Some("r3"), false, &[]),
            Some(restarting("r2", &["decode"])),
        );
        assert_eq!(
            next_status(&g, &live(&[("decode", Some("r2"), true)])),
            Some(restarting("r3", &["Frontend"]))
        );
    }

    #[test]
    fn without_an_id_only_a_finished_status_stays() {
        let done = Some(status("r1", RestartPhase::Completed, vec![]));
        let g = with_restart(graph(None, false, &[]), done.clone());
        assert_eq!(next_status(&g, &BTreeMap::new()), done);
        let g = with_restart(graph(None, false, &[]), Some(restarting("r1", &["decode"])));
        assert_eq!(next_status(&g, &BTreeMap::new()), None);
    }
}
