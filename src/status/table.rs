//! The tables `dynamoctl status` prints: one row per graph, or one row per service of a
//! graph. Borderless with uppercase headers, like `kubectl get`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::age::age;
use super::graph::{CONDITION_READY, STATE_PENDING, component_name};
use crate::api::v1alpha1::ServiceReplicaStatus;
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use crate::table::kubectl_table;

/// What kubectl prints for a value that is not set.
const NONE: &str = "<none>";

/// One line of the graphs table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphRow {
    /// Namespace of the graph.
    pub namespace: String,
    /// Name of the graph.
    pub name: String,
    /// `status.state`; `pending` when the status describes an older generation.
    pub state: String,
    /// Services whose replicas are all updated and available.
    pub ready_services: usize,
    /// Services in the spec.
    pub total_services: usize,
    /// `spec.backendFramework`.
    pub backend: String,
    /// Age in kubectl's style.
    pub age: String,
    /// Who manages the graph's namespace, as the caller describes it (e.g. `cluster-wide
    /// operator`, `namespace-scoped operator v0.9.0`, `none`).
    pub managed_by: String,
    /// The `Ready` condition's message (shown with `-o wide`).
    pub message: String,
}

/// The graphs-table row of `dgd` at time `now`. A service counts as ready when its replica
/// counts in `status.services` show every desired replica updated and available; services
/// no longer in the spec are ignored. Unset values print as `<none>` (age: `<unknown>`), as
/// kubectl does.
pub fn graph_row(dgd: &DynamoGraphDeployment, managed_by: &str, now: &Time) -> GraphRow {
    let status = dgd.status.as_ref();
    let keys: Vec<&String> = dgd.spec.services.iter().flat_map(|s| s.keys()).collect();
    let ready_services = keys
        .iter()
        .filter(|k| {
            status
                .and_then(|s| s.services.as_ref())
                .and_then(|s| s.get(k.as_str()))
                .is_some_and(replicas_ready)
        })
        .count();
    // A state written for an older spec would claim success the new spec has not earned.
    let stale = matches!(
        (status.and_then(|s| s.observed_generation), dgd.metadata.generation),
        (Some(observed), Some(generation)) if observed < generation
    );
    let state = match status.and_then(|s| s.state.clone()) {
        Some(_) if stale => STATE_PENDING.to_string(),
        Some(state) => state,
        None => NONE.to_string(),
    };
    let message = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == CONDITION_READY))
        .map(|c| c.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| NONE.to_string());
    GraphRow {
        namespace: dgd.metadata.namespace.clone().unwrap_or_default(),
        name: dgd.metadata.name.clone().unwrap_or_default(),
        state,
        ready_services,
        total_services: keys.len(),
        backend: dgd
            .spec
            .backend_framework
            .map_or(NONE, |b| b.as_str())
            .to_string(),
        age: dgd
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or_else(|| "<unknown>".to_string(), |created| age(created, now)),
        managed_by: managed_by.to_string(),
        message,
    }
}

fn replicas_ready(s: &ServiceReplicaStatus) -> bool {
    s.updated_replicas >= s.replicas && s.available_replicas.unwrap_or(0) >= s.replicas
}

/// The graphs table: `NAMESPACE` (only with `all_namespaces`), `NAME`, `STATE`, `READY`
/// (ready/total services), `BACKEND`, `AGE`, `MANAGED-BY`, and with `wide` a final
/// `MESSAGE` column. Rows in the given order; ends in a newline.
pub fn graphs_table(rows: &[GraphRow], all_namespaces: bool, wide: bool) -> String {
    let mut header = vec!["NAME", "STATE", "READY", "BACKEND", "AGE", "MANAGED-BY"];
    if all_namespaces {
        header.insert(0, "NAMESPACE");
    }
    if wide {
        header.push("MESSAGE");
    }
    let lines = rows.iter().map(|r| {
        let mut line = vec![
            r.name.clone(),
            r.state.clone(),
            format!("{}/{}", r.ready_services, r.total_services),
            r.backend.clone(),
            r.age.clone(),
            r.managed_by.clone(),
        ];
        if all_namespaces {
            line.insert(0, r.namespace.clone());
        }
        if wide {
            line.push(r.message.clone());
        }
        line
    });
    kubectl_table(&header, lines)
}

/// The services table of one graph: `SERVICE` (the spec's key), `TYPE` (componentType),
/// `READY` (ready/desired replicas, from the component's status, else `0/` the spec's
/// replicas), `DEPLOYMENT` (the workload the component reports), `SERVICE` (the Kubernetes
/// Service, named after the component). One row per service in the spec, in key order.
pub fn services_table(
    dgd: &DynamoGraphDeployment,
    components: &[DynamoComponentDeployment],
) -> String {
    let graph = dgd.metadata.name.as_deref().unwrap_or_default();
    let rows = dgd.spec.services.iter().flatten().map(|(key, spec)| {
        let name = component_name(graph, key);
        let dcd = components.iter().find(|c| {
            c.metadata.name.as_deref() == Some(name.as_str())
                && (c.metadata.namespace.is_none()
                    || c.metadata.namespace == dgd.metadata.namespace)
        });
        let reported = dcd
            .and_then(|c| c.status.as_ref())
            .and_then(|s| s.service.as_ref());
        let ready = match reported {
            Some(s) => format!("{}/{}", s.ready_replicas.unwrap_or(0), s.replicas),
            None => format!("0/{}", spec.replicas.unwrap_or(1)),
        };
        vec![
            key.clone(),
            spec.component_type
                .clone()
                .unwrap_or_else(|| NONE.to_string()),
            ready,
            reported
                .and_then(|s| s.component_name.clone())
                .unwrap_or_else(|| NONE.to_string()),
            dcd.map_or_else(|| NONE.to_string(), |_| name.clone()),
        ]
    });
    kubectl_table(&["SERVICE", "TYPE", "READY", "DEPLOYMENT", "SERVICE"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::BackendFramework;
    use crate::status::graph::graph_status;
    use crate::status::graph::tests::{at, component, graph};

    const NOW: i64 = 1_800_000_000;

    fn graph_at(name: &str, namespace: &str, created: i64) -> DynamoGraphDeployment {
        let mut dgd = graph();
        dgd.metadata.name = Some(name.into());
        dgd.metadata.namespace = Some(namespace.into());
        dgd.metadata.creation_timestamp = Some(at(created));
        dgd
    }

    fn rows() -> Vec<GraphRow> {
        let mut a = graph_at("g", "team-a", NOW - 150);
        a.spec.backend_framework = Some(BackendFramework::Vllm);
        let mut components = [
            component("g-frontend", 1, 1, 1, (1, 1, 1, 1)),
            component("g-decode", 1, 1, 2, (2, 2, 1, 1)),
        ];
        for c in &mut components {
            c.metadata.namespace = Some("team-a".into());
        }
        a.status = Some(graph_status(&a, &components, &at(NOW - 10)));
        let b = graph_at("llama-70b", "team-b", NOW - 3 * 86400 - 4 * 3600);
        vec![
            graph_row(&a, "cluster-wide operator", &at(NOW)),
            graph_row(&b, "namespace-scoped operator v0.9.0", &at(NOW)),
        ]
    }

    #[test]
    fn graph_row_values() {
        let r = &rows()[0];
        assert_eq!(
            r,
            &GraphRow {
                namespace: "team-a".into(),
                name: "g".into(),
                state: "pending".into(),
                ready_services: 1,
                total_services: 2,
                backend: "vllm".into(),
                age: "2m30s".into(),
                managed_by: "cluster-wide operator".into(),
                message: "Resources not ready: g-decode: deployment/g-decode: 1 of 2 updated \
                          replicas are available"
                    .into(),
            }
        );
    }

    #[test]
    fn stale_state_shows_pending() {
        let mut dgd = graph();
        dgd.status = Some(crate::api::DynamoGraphDeploymentStatus {
            observed_generation: Some(1),
            state: Some("successful".into()),
            ..Default::default()
        });
        assert_eq!(graph_row(&dgd, "none", &at(NOW)).state, "pending");
        dgd.status.as_mut().unwrap().observed_generation = Some(2);
        assert_eq!(graph_row(&dgd, "none", &at(NOW)).state, "successful");
    }

    #[test]
    fn graphs_table_in_one_namespace() {
        assert_eq!(
            graphs_table(&rows(), false, false),
            "NAME        STATE     READY   BACKEND   AGE     MANAGED-BY\n\
             g           pending   1/2     vllm      2m30s   cluster-wide operator\n\
             llama-70b   <none>    0/2     <none>    3d4h    namespace-scoped operator v0.9.0\n"
        );
    }

    #[test]
    fn graphs_table_all_namespaces_wide() {
        assert_eq!(
            graphs_table(&rows(), true, true),
            "NAMESPACE   NAME        STATE     READY   BACKEND   AGE     MANAGED-BY                         MESSAGE\n\
             team-a      g           pending   1/2     vllm      2m30s   cluster-wide operator              Resources not ready: g-decode: deployment/g-decode: 1 of 2 updated replicas are available\n\
             team-b      llama-70b   <none>    0/2     <none>    3d4h    namespace-scoped operator v0.9.0   <none>\n"
        );
    }

    #[test]
    fn empty_graphs_table_is_the_header() {
        assert_eq!(
            graphs_table(&[], false, false),
            "NAME   STATE   READY   BACKEND   AGE   MANAGED-BY\n"
        );
    }

    #[test]
    fn services_table_values() {
        let dgd = graph();
        let components = [component("g-decode", 1, 1, 2, (2, 2, 1, 1))];
        assert_eq!(
            services_table(&dgd, &components),
            "SERVICE    TYPE       READY   DEPLOYMENT   SERVICE\n\
             Frontend   frontend   0/1     <none>       <none>\n\
             decode     worker     1/2     g-decode     g-decode\n"
        );
    }
}
