//! Scaling adapters, as one step of a graph's pass: create the adapters the graph should have
//! (adopting upstream's, which carry the same name and labels), delete those of services that
//! opted out or were removed, write each adapter's replicas into the graph (under the adapter
//! controller's own field manager) and report the adapter's status. The decisions are
//! `render::adapter`'s; this module only reads and writes.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::reconcile::Reconciler;
use crate::api::DynamoGraphDeployment;
use crate::api::consts::*;
use crate::api::scaling_adapter::DynamoGraphDeploymentScalingAdapter as Adapter;
use crate::cluster::{ClusterError, retry};
use crate::render::adapter::{adapters, replicas_patch, sync};

impl Reconciler {
    /// The adapter step of a graph's pass. `live` holds the namespace's adapters that name
    /// this graph (`spec.dgdRef.name`). Returns the graph as it is after the step (with the
    /// adapters' replicas written back, so the rest of the pass renders them) and what changed.
    pub async fn sync_adapters(
        &self,
        dgd: &DynamoGraphDeployment,
        live: &[Adapter],
        now: &Time,
    ) -> Result<(DynamoGraphDeployment, Vec<String>), ClusterError> {
        let ns = dgd.namespace().unwrap_or_else(|| "default".into());
        let api: Api<Adapter> = Api::namespaced(self.client(), &ns);
        let wanted = adapters(dgd);
        let by_name: BTreeMap<String, &Adapter> = live.iter().map(|a| (a.name_any(), a)).collect();
        let mut changes = Vec::new();
        let mut current: Vec<Adapter> = Vec::new();
        for (name, desired) in &wanted {
            match by_name.get(name) {
                None => current.push(self.create_adapter(&api, desired).await?),
                Some(existing) => {
                    if let Some(adopted) = self.adopt(&api, existing, desired).await? {
                        changes.push(format!("adopted {}", describe(name)));
                        current.push(adopted);
                    } else {
                        current.push((*existing).clone());
                    }
                    continue;
                }
            }
            changes.push(format!("created {}", describe(name)));
        }
        let mut released = false;
        for stale in live.iter().filter(|a| !wanted.contains_key(&a.name_any())) {
            if self.ours(dgd, stale) {
                self.delete_adapter(&api, stale).await?;
                changes.push(format!("deleted {}", describe(&stale.name_any())));
                released = true;
            }
        }
        // Every adapter's verdict against the graph as it came; one write covers them all.
        let decisions: Vec<_> = current
            .iter()
            .map(|a| (a, sync(a, Some(dgd), now)))
            .collect();
        let driven: BTreeMap<String, i32> = decisions
            .iter()
            .filter(|(a, _)| wanted.contains_key(&a.name_any()))
            .map(|(a, _)| (a.spec.dgd_ref.service_name.clone(), a.spec.replicas))
            .collect();
        let mut graph = dgd.clone();
        let scaled = decisions.iter().any(|(_, d)| d.graph_replicas.is_some());
        if scaled || released {
            graph = self.write_replicas(dgd, &driven).await?;
        }
        for (adapter, decision) in decisions {
            if let Some(replicas) = decision.graph_replicas {
                changes.push(format!(
                    "scaled {} to {replicas} ({})",
                    adapter.spec.dgd_ref.service_name,
                    describe(&adapter.name_any())
                ));
            }
            if let Some(status) = decision.status {
                let body = json!({
                    "apiVersion": API_VERSION,
                    "kind": "DynamoGraphDeploymentScalingAdapter",
                    "status": status,
                });
                let (name, params, patch) = (
                    adapter.name_any(),
                    PatchParams::apply(FIELD_MANAGER_STATUS).force(),
                    Patch::Apply(&body),
                );
                self.wrote(1);
                retry(|| api.patch_status(&name, &params, &patch))
                    .await
                    .map_err(|e| self.err(&describe(&name), e))?;
            }
        }
        Ok((graph, changes))
    }

    /// Creates an adapter; one that appeared meanwhile (a cache not yet caught up) is read.
    async fn create_adapter(
        &self,
        api: &Api<Adapter>,
        desired: &Value,
    ) -> Result<Adapter, ClusterError> {
        let adapter: Adapter =
            serde_json::from_value(desired.clone()).expect("rendered adapters deserialise");
        let name = adapter.name_any();
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER_ADAPTER.into()),
            ..PostParams::default()
        };
        self.wrote(1);
        match retry(|| api.create(&params, &adapter)).await {
            Ok(created) => Ok(created),
            Err(kube::Error::Api(s)) if s.code == 409 => retry(|| api.get(&name))
                .await
                .map_err(|e| self.err(&describe(&name), e)),
            Err(e) => Err(self.err(&describe(&name), e)),
        }
    }

    /// Makes an existing adapter ours (upstream's operator created it, or a user did): the
    /// graph as its controller, our labels, the right `dgdRef`. Its replicas are kept: they
    /// are the source of truth. `None` when nothing needed changing.
    async fn adopt(
        &self,
        api: &Api<Adapter>,
        existing: &Adapter,
        desired: &Value,
    ) -> Result<Option<Adapter>, ClusterError> {
        let labels = existing.labels();
        let missing_labels = desired["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(k, v)| labels.get(k).map(String::as_str) != v.as_str());
        let want_refs: Vec<OwnerReference> =
            serde_json::from_value(desired["metadata"]["ownerReferences"].clone())
                .unwrap_or_default();
        let owned = want_refs.iter().all(|w| {
            existing
                .owner_references()
                .iter()
                .any(|o| o.uid == w.uid && o.controller == Some(true))
        });
        let reference = serde_json::to_value(&existing.spec.dgd_ref).expect("serialises");
        if !missing_labels && owned && reference == desired["spec"]["dgdRef"] {
            return Ok(None);
        }
        // Other owners stay; another controller reference gives way to the graph.
        let mut refs: Vec<OwnerReference> = existing
            .owner_references()
            .iter()
            .filter(|o| o.controller != Some(true))
            .cloned()
            .collect();
        refs.extend(want_refs);
        let patch = json!({
            "metadata": {
                "labels": desired["metadata"]["labels"],
                "ownerReferences": refs,
            },
            "spec": { "dgdRef": desired["spec"]["dgdRef"] },
        });
        let name = existing.name_any();
        self.wrote(1);
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER_ADAPTER.into()),
            ..PatchParams::default()
        };
        let patch = Patch::Merge(&patch);
        retry(|| api.patch(&name, &params, &patch))
            .await
            .map(Some)
            .map_err(|e| self.err(&describe(&name), e))
    }

    /// Whether a stale adapter is this graph's to delete: controlled by it, or labelled for
    /// it (upstream's). Adapters a user made by hand for a service that does not opt in are
    /// left alone; they drive nothing.
    fn ours(&self, dgd: &DynamoGraphDeployment, adapter: &Adapter) -> bool {
        let uid = dgd.uid();
        let controlled = adapter
            .owner_references()
            .iter()
            .any(|o| Some(&o.uid) == uid.as_ref() && o.controller == Some(true));
        controlled || adapter.labels().get(LABEL_GRAPH) == Some(&dgd.name_any())
    }

    async fn delete_adapter(
        &self,
        api: &Api<Adapter>,
        adapter: &Adapter,
    ) -> Result<(), ClusterError> {
        let name = adapter.name_any();
        self.wrote(1);
        let params = DeleteParams::background();
        match retry(|| api.delete(&name, &params)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.err(&describe(&name), e)),
        }
    }

    /// Server-side applies the replicas of every service an adapter drives, under the
    /// adapter controller's field manager (forcing: the adapters are the source of truth);
    /// services left out are released. Returns the stored graph.
    async fn write_replicas(
        &self,
        dgd: &DynamoGraphDeployment,
        replicas: &BTreeMap<String, i32>,
    ) -> Result<DynamoGraphDeployment, ClusterError> {
        let name = dgd.name_any();
        let api: Api<DynamoGraphDeployment> =
            Api::namespaced(self.client(), &dgd.namespace().unwrap_or_default());
        let body = replicas_patch(&name, replicas);
        let (params, patch) = (
            PatchParams::apply(FIELD_MANAGER_ADAPTER).force(),
            Patch::Apply(&body),
        );
        self.wrote(1);
        let mut stored = retry(|| api.patch(&name, &params, &patch))
            .await
            .map_err(|e| self.err(&format!("DynamoGraphDeployment {name}"), e))?;
        stored.meta_mut().managed_fields = None;
        Ok(stored)
    }
}

fn describe(name: &str) -> String {
    format!("DynamoGraphDeploymentScalingAdapter {name}")
}
