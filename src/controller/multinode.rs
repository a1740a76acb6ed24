//! The reconcile steps only multinode workloads need: reading Grove's and LeaderWorkerSet's
//! objects for status, and deleting the LeaderWorkerSets and PodGroups of indices a
//! component no longer has (scale-down) or no longer needs (multinode removed). Builds no
//! objects; the decisions are `status::*` and `render`'s.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::reconcile::Reconciler;
use crate::api::consts::*;
use crate::api::{
    DynamoComponentDeployment, DynamoComponentDeploymentStatus, DynamoGraphDeployment,
    DynamoGraphDeploymentStatus,
};
use crate::cluster::{ClusterError, ObjectRef, retry};
use crate::render::orchestrator::{grove, lws, node_count};

/// The foreign kinds a multinode component is made of.
const LWS_KINDS: [(&str, &str); 2] = [
    (lws::PODGROUP_API_VERSION, "PodGroup"),
    (lws::LWS_API_VERSION, "LeaderWorkerSet"),
];

impl Reconciler {
    /// Objects of `kind` in `ns` labelled `instance` whose controller is `uid`, as JSON (from
    /// the watch cache in the operator); none when the cluster does not serve the kind.
    async fn controlled(
        &self,
        kind: (&str, &str),
        ns: &str,
        instance: &str,
        uid: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        let labels = [(LABEL_INSTANCE, instance)];
        Ok(self
            .live()
            .list(kind, ns, &labels)
            .await?
            .into_iter()
            .filter(|o| super::takeover::controller_uid(o) == Some(uid))
            .collect())
    }

    /// Deletes the component's LeaderWorkerSets and PodGroups that `rendered` does not
    /// contain: surplus indices after a scale-down, or all of them once multinode is gone.
    pub(super) async fn prune_groups(
        &self,
        dcd: &DynamoComponentDeployment,
        rendered: &[Value],
    ) -> Result<Vec<String>, ClusterError> {
        let (ns, Some(uid)) = (dcd.namespace().unwrap_or_default(), dcd.uid()) else {
            return Ok(Vec::new());
        };
        let keep: Vec<ObjectRef> = rendered.iter().map(ObjectRef::of).collect();
        let instance = dcd.name_any();
        let mut deleted = Vec::new();
        for kind in LWS_KINDS {
            for obj in self.controlled(kind, &ns, &instance, &uid).await? {
                let r = ObjectRef::of(&obj);
                let labels = [(LABEL_INSTANCE, instance.as_str())];
                if !keep.contains(&r) && self.still_controlled(&r, &uid, &labels).await? {
                    self.wrote(1);
                    self.applier.delete(&r, false).await?;
                    deleted.push(format!("deleted {r}"));
                }
            }
        }
        Ok(deleted)
    }

    /// The status of a multinode component from its live LeaderWorkerSets.
    pub(super) async fn lws_status(
        &self,
        dcd: &DynamoComponentDeployment,
        now: &Time,
    ) -> Result<DynamoComponentDeploymentStatus, ClusterError> {
        let ns = dcd.namespace().unwrap_or_default();
        let uid = dcd.uid().unwrap_or_default();
        let live = self
            .controlled(LWS_KINDS[1], &ns, &dcd.name_any(), &uid)
            .await?;
        Ok(crate::status::lws_component_status(
            dcd,
            &live,
            dcd.status.as_ref(),
            now,
        ))
    }

    /// Sets each service's replicas on the PodClique (single-node) or PodCliqueScalingGroup
    /// (multinode) `<graph>-0-<service>` Grove made for it, through its scale subresource, as
    /// upstream does: Grove takes a clique's replicas from the PodCliqueSet template only when
    /// it creates the clique. Services without `replicas` are left to whoever scales them (an
    /// autoscaler); children Grove has not made yet are scaled by a later pass.
    pub(super) async fn scale_grove(
        &self,
        dgd: &DynamoGraphDeployment,
    ) -> Result<Vec<String>, ClusterError> {
        let ns = dgd.namespace().unwrap_or_default();
        let mut scaled = Vec::new();
        for (key, spec) in dgd.spec.services.iter().flatten() {
            let Some(want) = spec.replicas else {
                continue;
            };
            let r = grove_child(&ns, &dgd.name_any(), key, node_count(spec) > 1);
            let Ok((api, _)) = self.applier.resolver.api(&r, &ns) else {
                continue;
            };
            // The child's replicas from the watch cache (the operator); its scale otherwise.
            let current = match self.caches.as_ref().and_then(|c| c.get(&r, &ns)) {
                Some(Some(child)) => child
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0) as i32,
                Some(None) => continue,
                None => match retry(|| api.get_scale(&r.name)).await {
                    Ok(s) => s.spec.and_then(|s| s.replicas).unwrap_or(0),
                    Err(kube::Error::Api(s)) if s.code == 404 => continue,
                    Err(e) => return Err(self.err(&format!("{r} scale"), e)),
                },
            };
            if current == want {
                continue;
            }
            let (patch, params) = (
                Patch::Merge(json!({ "spec": { "replicas": want } })),
                PatchParams::default(),
            );
            self.wrote(1);
            retry(|| api.patch_scale(&r.name, &params, &patch))
                .await
                .map_err(|e| self.err(&format!("{r} scale"), e))?;
            scaled.push(format!("scaled {r} from {current} to {want}"));
        }
        Ok(scaled)
    }

    /// The status of a graph run by Grove: its PodCliqueSet and, per service, the PodClique
    /// or PodCliqueScalingGroup Grove made for it.
    pub(super) async fn grove_status(
        &self,
        dgd: &DynamoGraphDeployment,
        pcs: &Value,
        now: &Time,
    ) -> Result<DynamoGraphDeploymentStatus, ClusterError> {
        let ns = dgd.namespace().unwrap_or_default();
        let graph = dgd.name_any();
        let live_pcs = self.live().get(&ObjectRef::of(pcs)).await?;
        let mut children = Vec::new();
        for (key, spec) in dgd.spec.services.iter().flatten() {
            let r = grove_child(&ns, &graph, key, node_count(spec) > 1);
            if let Some(mut v) = self.live().get(&r).await? {
                v["kind"] = r.kind.clone().into();
                children.push(v);
            }
        }
        Ok(crate::status::grove_graph_status(
            dgd,
            live_pcs.as_ref(),
            &children,
            now,
        ))
    }
}

/// The object Grove makes for a service of graph `graph` in its PodCliqueSet's first (only)
/// replica: a PodCliqueScalingGroup for a multinode service, else a PodClique.
fn grove_child(ns: &str, graph: &str, service: &str, multinode: bool) -> ObjectRef {
    let kind = if multinode {
        "PodCliqueScalingGroup"
    } else {
        "PodClique"
    };
    ObjectRef {
        api_version: grove::API_VERSION.into(),
        kind: kind.into(),
        namespace: Some(ns.into()),
        name: format!("{graph}-0-{}", service.to_lowercase()),
    }
}

/// Why a graph may not be rendered the way it now would be: it runs under one orchestrator
/// (by its last status) and would now move to the other, which restarts every pod
/// (upstream made the choice immutable, #12942). `grove_now`: the graph now renders a
/// PodCliqueSet.
pub(super) fn orchestrator_switch(dgd: &DynamoGraphDeployment, grove_now: bool) -> Option<String> {
    let kinds: Vec<&str> = dgd
        .status
        .as_ref()
        .and_then(|s| s.services.as_ref())
        .into_iter()
        .flat_map(|s| s.values())
        .filter_map(|s| s.component_kind.as_deref())
        .collect();
    let on_grove = kinds
        .iter()
        .any(|k| matches!(*k, "PodClique" | "PodCliqueScalingGroup"));
    let on_components = kinds
        .iter()
        .any(|k| matches!(*k, "Deployment" | "LeaderWorkerSet"));
    match (grove_now, on_grove, on_components) {
        (true, false, true) => Some(
            "the graph runs as DynamoComponentDeployments and would now move to Grove, restarting every pod; switching orchestrators is refused: keep it off Grove with the annotation nvidia.com/enable-grove: \"false\", or delete and recreate the graph".to_string(),
        ),
        (false, true, false) => Some(
            "the graph runs on Grove and would now move off it, restarting every pod; switching orchestrators is refused: remove the annotation nvidia.com/enable-grove: \"false\" (or enable Grove again), or delete and recreate the graph".to_string(),
        ),
        _ => None,
    }
}

/// Whether a component runs (or ran, by its last status) as LeaderWorkerSets.
pub(super) fn runs_groups(dcd: &DynamoComponentDeployment) -> bool {
    node_count(&dcd.spec.component) > 1
        || dcd
            .status
            .as_ref()
            .and_then(|s| s.service.as_ref())
            .and_then(|s| s.component_kind.as_deref())
            == Some("LeaderWorkerSet")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v1alpha1::ServiceReplicaStatus;

    fn running_as(kind: &str) -> DynamoGraphDeployment {
        let mut g = DynamoGraphDeployment::new("g", Default::default());
        g.status = Some(DynamoGraphDeploymentStatus {
            services: Some(std::collections::BTreeMap::from([(
                "decode".to_string(),
                ServiceReplicaStatus {
                    component_kind: Some(kind.into()),
                    ..Default::default()
                },
            )])),
            ..Default::default()
        });
        g
    }

    #[test]
    fn moving_a_running_graph_between_orchestrators_is_refused() {
        assert!(orchestrator_switch(&running_as("Deployment"), true).is_some());
        assert!(orchestrator_switch(&running_as("LeaderWorkerSet"), true).is_some());
        assert!(orchestrator_switch(&running_as("PodClique"), false).is_some());
        assert!(orchestrator_switch(&running_as("PodCliqueScalingGroup"), true).is_none());
        assert!(orchestrator_switch(&running_as("Deployment"), false).is_none());
        let new = DynamoGraphDeployment::new("g", Default::default());
        assert!(orchestrator_switch(&new, true).is_none());
    }
}
