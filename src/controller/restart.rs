//! The I/O half of graph restarts: what each service's workload carries and whether it
//! settled, read from the cluster for `status::restart` to decide on. Shared by the
//! controller's reconcile and `dynamoctl diff` (which must render the stamps the operator
//! keeps, or it would show them as removed).

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::api::{Api, ListParams};
use serde_json::Value;

use crate::api::consts::*;
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use crate::cluster::{Applier, ClusterError, ObjectRef, retry};
use crate::render::orchestrator::{grove, node_count};
use crate::status::restart::ServiceRestart;

/// Each service's restart stamp and whether it settled, by service key. `pcs`: the graph's
/// rendered PodCliqueSet when it runs on Grove (its cliques carry the stamps); otherwise the
/// graph's DynamoComponentDeployments do.
pub async fn live_restart(
    applier: &Applier,
    dgd: &DynamoGraphDeployment,
    pcs: Option<&Value>,
) -> Result<BTreeMap<String, ServiceRestart>, ClusterError> {
    match pcs {
        Some(pcs) => grove_live(applier, dgd, pcs).await,
        None => components_live(applier, dgd).await,
    }
}

async fn components_live(
    applier: &Applier,
    dgd: &DynamoGraphDeployment,
) -> Result<BTreeMap<String, ServiceRestart>, ClusterError> {
    let ns = dgd.namespace().unwrap_or_else(|| "default".into());
    let name = dgd.name_any();
    let api: Api<DynamoComponentDeployment> =
        Api::namespaced(applier.resolver.client().clone(), &ns);
    let params = ListParams::default().labels(&format!("{LABEL_GRAPH}={name}"));
    let live = retry(|| api.list(&params))
        .await
        .map_err(|e| ClusterError::from_kube("list components", applier.resolver.server(), e))?;
    let mut out = BTreeMap::new();
    for key in dgd.spec.services.iter().flat_map(|s| s.keys()) {
        let child = crate::status::component_name(&name, key);
        let Some(dcd) = live.items.iter().find(|d| d.name_any() == child) else {
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

async fn grove_live(
    applier: &Applier,
    dgd: &DynamoGraphDeployment,
    pcs: &Value,
) -> Result<BTreeMap<String, ServiceRestart>, ClusterError> {
    let ns = dgd.namespace().unwrap_or_else(|| "default".into());
    let graph = dgd.name_any();
    let live_pcs = applier.get(&ObjectRef::of(pcs)).await?;
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
        let settled = match applier.get(&r).await? {
            Some(child) if multinode => crate::status::scaling_group_readiness(&child).ready,
            Some(child) => crate::status::pod_clique_readiness(&child).ready,
            None => false,
        };
        out.insert(key.clone(), ServiceRestart { stamp, settled });
    }
    Ok(out)
}
