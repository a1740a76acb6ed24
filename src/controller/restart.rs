//! The I/O half of graph restarts: what each service's workload carries and whether it
//! settled, read from the cluster for `status::restart` to decide on. Shared by the
//! controller's reconcile and `dynamoctl diff` (which must render the stamps the operator
//! keeps, or it would show them as removed).

use std::collections::BTreeMap;

use kube::ResourceExt;
use serde_json::Value;

use super::live::Live;
use crate::api::consts::*;
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use crate::cluster::{ClusterError, ObjectRef};
use crate::render::orchestrator::{grove, node_count};
use crate::status::restart::ServiceRestart;

/// Each service's restart stamp and whether it settled, by service key. `pcs`: the graph's
/// rendered PodCliqueSet when it runs on Grove (its cliques carry the stamps); otherwise the
/// graph's DynamoComponentDeployments do.
pub async fn live_restart(
    live: Live<'_>,
    dgd: &DynamoGraphDeployment,
    pcs: Option<&Value>,
) -> Result<BTreeMap<String, ServiceRestart>, ClusterError> {
    match pcs {
        Some(pcs) => grove_live(live, dgd, pcs).await,
        None => components_live(live, dgd).await,
    }
}

async fn components_live(
    live: Live<'_>,
    dgd: &DynamoGraphDeployment,
) -> Result<BTreeMap<String, ServiceRestart>, ClusterError> {
    let name = dgd.name_any();
    let components = graph_components(live, dgd).await?;
    let mut out = BTreeMap::new();
    for key in dgd.spec.services.iter().flat_map(|s| s.keys()) {
        let child = crate::status::component_name(&name, key);
        let Some(dcd) = components.iter().find(|d| d.name_any() == child) else {
            continue;
        };
        out.insert(
            key.clone(),
            ServiceRestart {
                stamp: crate::render::restart::stamp_of(&dcd.spec.component),
                settled: crate::status::component_problem(dcd).is_none(),
            },
        );
    }
    Ok(out)
}

/// The components labelled as the graph's, from the cache when there is one.
pub async fn graph_components(
    live: Live<'_>,
    dgd: &DynamoGraphDeployment,
) -> Result<Vec<DynamoComponentDeployment>, ClusterError> {
    let ns = dgd.namespace().unwrap_or_else(|| "default".into());
    let name = dgd.name_any();
    let labels = [(LABEL_GRAPH, name.as_str())];
    if let Some(caches) = live.caches {
        return Ok(caches
            .components
            .list(Some(&ns), &labels)
            .iter()
            .filter_map(|d| d.object().ok())
            .collect());
    }
    let kind = (API_VERSION, "DynamoComponentDeployment");
    Ok(live
        .list(kind, &ns, &labels)
        .await?
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

async fn grove_live(
    live: Live<'_>,
    dgd: &DynamoGraphDeployment,
    pcs: &Value,
) -> Result<BTreeMap<String, ServiceRestart>, ClusterError> {
    let ns = dgd.namespace().unwrap_or_else(|| "default".into());
    let graph = dgd.name_any();
    let live_pcs = live.get(&ObjectRef::of(pcs)).await?;
    let cliques: Vec<Value> = live_pcs
        .as_ref()
        .and_then(|p| p.pointer("/spec/template/cliques"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for (key, spec) in dgd.spec.services.iter().flatten() {
        let lower = key.to_lowercase();
        let multinode = node_count(spec) > 1;
        // A multinode service's leader clique carries the same pod metadata as its workers.
        let clique_name = if multinode {
            format!("{lower}-ldr")
        } else {
            lower.clone()
        };
        let stamp = cliques
            .iter()
            .find(|c| c["name"] == clique_name.as_str())
            .and_then(|c| {
                c.pointer(&format!(
                    "/annotations/{}",
                    ANNOTATION_RESTART_AT.replace('/', "~1")
                ))
            })
            .and_then(Value::as_str)
            .map(str::to_string);
        let kind = if multinode {
            "PodCliqueScalingGroup"
        } else {
            "PodClique"
        };
        let r = ObjectRef {
            api_version: grove::API_VERSION.into(),
            kind: kind.into(),
            namespace: Some(ns.clone()),
            name: format!("{graph}-0-{lower}"),
        };
        let settled = match live.get(&r).await? {
            Some(child) if multinode => crate::status::scaling_group_readiness(&child).ready,
            Some(child) => crate::status::pod_clique_readiness(&child).ready,
            None => false,
        };
        out.insert(key.clone(), ServiceRestart { stamp, settled });
    }
    Ok(out)
}
