//! One reconcile pass of a graph or a component. Builds no objects by hand: everything comes
//! from `render`; writes go through `cluster`; status comes from `status`. A pass over a world
//! that already matches issues no write at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use crate::api::consts::*;
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use crate::cluster::{Applier, ApplyMode, ClusterError, ObjectRef, retry};
use crate::render::{self, RenderOptions};

/// Reconciles graphs and components against one cluster.
pub struct Reconciler {
    /// Writes and reads objects.
    pub applier: Applier,
    /// Operator-level render settings.
    pub render: RenderOptions,
    /// Write requests sent (applies, deletes, status patches), for metrics.
    pub writes: Arc<AtomicU64>,
    /// Where Events about applied and deleted children go (the operator's one recorder);
    /// `None` publishes none (the CLI).
    pub events: Option<Recorder>,
}

/// What a graph pass concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphOutcome {
    /// Every component caught up and available.
    Ready,
    /// Applied; waiting for components.
    Pending(String),
    /// The spec cannot be rendered; retrying will not help until it changes.
    Invalid(String),
    /// Something outside the spec the workloads need is missing (the MPI SSH secret, the Kai
    /// queue); retrying helps once it appears.
    Blocked(String),
}

impl Reconciler {
    /// A reconciler writing through `applier`.
    pub fn new(applier: Applier, render: RenderOptions) -> Reconciler {
        Reconciler {
            applier,
            render,
            writes: Arc::default(),
            events: None,
        }
    }

    pub(super) fn wrote(&self, n: usize) {
        self.writes.fetch_add(n as u64, Ordering::Relaxed);
    }
    fn mode(&self) -> ApplyMode {
        // The controller owns its children's fields outright: it always forces.
        ApplyMode {
            field_manager: FIELD_MANAGER_CONTROLLER.to_string(),
            force: true,
            dry_run: false,
        }
    }

    pub(super) fn client(&self) -> kube::Client {
        self.applier.resolver.client().clone()
    }

    pub(super) fn err(&self, what: &str, e: kube::Error) -> ClusterError {
        ClusterError::from_kube(what, self.applier.resolver.server(), e)
    }

    /// Applies `objects` that are not already up to date; returns what was written.
    /// PersistentVolumeClaims are created once and never rewritten, as upstream creates them:
    /// a claim's spec is immutable but for its size once bound, and resizing or relabelling a
    /// volume holding data is left to its owner.
    async fn ensure_all(&self, objects: &[Value]) -> Result<Vec<String>, ClusterError> {
        let mut written = Vec::new();
        for obj in objects {
            let r = ObjectRef::of(obj);
            let live = self.applier.get(&r).await?;
            if r.kind == "PersistentVolumeClaim" && live.is_some() {
                continue;
            }
            if self.drop_upstream_hash(obj, live.as_ref()).await? {
                written.push(format!("adopted {r} from upstream's operator"));
            }
            if self
                .applier
                .ensure(obj, live.as_ref(), &self.mode())
                .await?
                .is_some()
            {
                self.wrote(1);
                written.push(format!(
                    "{} {}",
                    if live.is_some() { "updated" } else { "created" },
                    r
                ));
            }
        }
        Ok(written)
    }

    /// Publishes one Event about `about` listing `changes`, if there are any and a recorder.
    pub(super) async fn record(&self, about: &ObjectReference, reason: &str, changes: &[String]) {
        let (Some(recorder), false) = (&self.events, changes.is_empty()) else {
            return;
        };
        let mut note = changes.join("; ");
        note.truncate(1000);
        let event = Event {
            type_: EventType::Normal,
            reason: reason.into(),
            note: Some(note),
            action: reason.into(),
            secondary: None,
        };
        if let Err(e) = recorder.publish(&event, about).await {
            tracing::warn!(error = %e, "cannot publish event");
        }
    }

    /// One pass over a graph: components and per-graph objects applied, components of removed
    /// services deleted (upstream leaves them running, #3379), status written if it changed.
    pub async fn reconcile_graph(
        &self,
        dgd: &DynamoGraphDeployment,
        now: &Time,
    ) -> Result<GraphOutcome, ClusterError> {
        let ns = dgd.namespace().unwrap_or_else(|| "default".to_string());
        let name = dgd.name_any();
        // `kubectl apply` skips dynamoctl's client-side refusals: an unsupported field read
        // from the cluster fails validation by name instead of rendering without it.
        let refused = serde_json::to_value(dgd)
            .ok()
            .and_then(|v| crate::manifest::refused_in_cluster_object(&v));
        let rendered = match refused {
            Some(message) => Err(message),
            None => render::graph(dgd, &self.render).map_err(|e| e.to_string()),
        };
        let children = match rendered {
            Ok(c) => c,
            Err(message) => {
                let status = crate::status::validation_failed(dgd, &message, now);
                self.write_graph_status(dgd, &status).await?;
                return Ok(GraphOutcome::Invalid(message));
            }
        };
        let grove = children.objects.iter().any(|o| o["kind"] == "PodCliqueSet");
        // Restarts: the stamps the services carry are kept, and those a running restart has
        // reached get its id (`status::restart`); render then carries them to pod templates.
        let pcs = children
            .objects
            .iter()
            .find(|o| o["kind"] == "PodCliqueSet");
        let live = super::restart::live_restart(&self.applier, dgd, pcs).await?;
        let restart = crate::status::restart::next_status(dgd, &live);
        let stamps = crate::status::restart::stamps(dgd, restart.as_ref(), &live);
        let children = if stamps.is_empty() {
            children
        } else {
            let stamped = render::restart::stamped(dgd, &stamps);
            render::graph(&stamped, &self.render).map_err(|e| ClusterError::Rejected {
                object: format!("DynamoGraphDeployment {ns}/{name}"),
                code: 422,
                message: e.to_string(),
            })?
        };
        if let Some(message) = super::multinode::orchestrator_switch(dgd, grove) {
            let status = crate::status::validation_failed(dgd, &message, now);
            self.write_graph_status(dgd, &status).await?;
            return Ok(GraphOutcome::Invalid(message));
        }
        // Claims the graph uses but does not create must exist first (upstream fails the
        // graph the same way; otherwise its pods wait Pending with no word why).
        let missing = self.missing_claims(dgd).await?;
        if !missing.is_empty() {
            let status = crate::status::claims_missing(dgd, &missing, now);
            self.write_graph_status(dgd, &status).await?;
            // Claims are not watched: a blocked graph is looked at again soon.
            return Ok(GraphOutcome::Blocked(ready_message(&status.conditions)));
        }
        if let Some(missing) = self.missing_kai_queue(&children.objects).await? {
            return self.graph_blocked(dgd, missing, now).await;
        }
        let owner = super::prerequisites::owner_ref(dgd);
        let mut changes = match self
            .ensure_mpi_secret(&ns, owner, &children.objects)
            .await?
        {
            Ok(written) => written,
            Err(missing) => return self.graph_blocked(dgd, missing, now).await,
        };
        changes.extend(self.ensure_all(&children.objects).await?);
        if grove {
            changes.extend(self.scale_grove(dgd).await?);
        }
        let components: Vec<Value> = children
            .components
            .iter()
            .map(|c| serde_json::to_value(c).expect("component serialises"))
            .collect();
        changes.extend(self.ensure_all(&components).await?);
        // Services disappear only with a spec change; a resync of an unchanged graph skips the
        // listing (four requests per graph per resync).
        let changed =
            dgd.status.as_ref().and_then(|s| s.observed_generation) != dgd.metadata.generation;
        if changed {
            changes.extend(self.prune_graph(dgd, &children).await?);
        }
        self.record(&dgd.object_ref(&()), "Reconciled", &changes)
            .await;

        let status = match children
            .objects
            .iter()
            .find(|o| o["kind"] == "PodCliqueSet")
        {
            Some(pcs) => self.grove_status(dgd, pcs, now).await?,
            None => {
                let dcds: Api<DynamoComponentDeployment> = Api::namespaced(self.client(), &ns);
                let selector = format!("{LABEL_GRAPH}={name}");
                let params = ListParams::default().labels(&selector);
                let live = retry(|| dcds.list(&params))
                    .await
                    .map_err(|e| self.err("list components", e))?;
                crate::status::graph_status(dgd, &live.items, now)
            }
        };
        let status = crate::api::DynamoGraphDeploymentStatus { restart, ..status };
        self.write_graph_status(dgd, &status).await?;
        Ok(match status.state.as_deref() {
            Some("successful") => GraphOutcome::Ready,
            _ => GraphOutcome::Pending(ready_message(&status.conditions)),
        })
    }

    /// The `spec.pvcs[]` entries the graph does not create whose claim does not exist, with
    /// their index.
    async fn missing_claims(
        &self,
        dgd: &DynamoGraphDeployment,
    ) -> Result<Vec<(usize, String)>, ClusterError> {
        let ns = dgd.namespace().unwrap_or_else(|| "default".to_string());
        let mut missing = Vec::new();
        for (i, pvc) in dgd.spec.pvcs.iter().flatten().enumerate() {
            if pvc.create == Some(true) {
                continue;
            }
            let r = ObjectRef {
                api_version: "v1".into(),
                kind: "PersistentVolumeClaim".into(),
                namespace: Some(ns.clone()),
                name: pvc.name.clone(),
            };
            if self.applier.get(&r).await?.is_none() {
                missing.push((i, pvc.name.clone()));
            }
        }
        Ok(missing)
    }

    /// Writes the status of a graph whose workloads wait for `missing`.
    async fn graph_blocked(
        &self,
        dgd: &DynamoGraphDeployment,
        missing: super::prerequisites::Missing,
        now: &Time,
    ) -> Result<GraphOutcome, ClusterError> {
        let status = crate::status::graph_blocked(dgd, missing.reason, &missing.message, now);
        self.write_graph_status(dgd, &status).await?;
        Ok(GraphOutcome::Blocked(missing.message))
    }

    /// Deletes components and RBAC this graph controls that are no longer rendered.
    /// PersistentVolumeClaims are never deleted: they hold data.
    async fn prune_graph(
        &self,
        dgd: &DynamoGraphDeployment,
        children: &render::GraphChildren,
    ) -> Result<Vec<String>, ClusterError> {
        let mut deleted = Vec::new();
        let Some(uid) = dgd.uid() else {
            return Ok(deleted);
        };
        let ns = dgd.namespace().unwrap_or_default();
        let mut keep: Vec<ObjectRef> = children.objects.iter().map(ObjectRef::of).collect();
        keep.extend(
            children
                .components
                .iter()
                .map(|c| ObjectRef::of(&serde_json::to_value(c).expect("serialises"))),
        );
        let selector = format!(
            "{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_PART_OF}={}",
            dgd.name_any()
        );
        // Services, Ingresses and the PodCliqueSet are the graph's own only under Grove;
        // otherwise their controller is a component and they are left alone here.
        for (api_version, kind) in [
            (API_VERSION, "DynamoComponentDeployment"),
            (render::orchestrator::grove::API_VERSION, "PodCliqueSet"),
            ("v1", "Service"),
            ("networking.k8s.io/v1", "Ingress"),
            (render::VIRTUAL_SERVICE_API_VERSION, "VirtualService"),
            ("v1", "ServiceAccount"),
            ("rbac.authorization.k8s.io/v1", "Role"),
            ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ] {
            let probe = ObjectRef {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: Some(ns.clone()),
                name: String::new(),
            };
            let Ok((api, _)) = self.applier.resolver.api(&probe, &ns) else {
                continue;
            };
            let params = ListParams::default().labels(&selector);
            let live = retry(|| api.list(&params))
                .await
                .map_err(|e| self.err(&format!("list {kind}"), e))?;
            for obj in live.items {
                let controlled = obj
                    .owner_references()
                    .iter()
                    .any(|o| o.uid == uid && o.controller == Some(true));
                let r = ObjectRef {
                    name: obj.name_any(),
                    ..probe.clone()
                };
                if controlled && !keep.contains(&r) {
                    self.wrote(1);
                    self.applier.delete(&r, false).await?;
                    deleted.push(format!("deleted {r}"));
                }
            }
        }
        Ok(deleted)
    }

    async fn write_graph_status(
        &self,
        dgd: &DynamoGraphDeployment,
        status: &crate::api::DynamoGraphDeploymentStatus,
    ) -> Result<(), ClusterError> {
        if dgd.status.as_ref() == Some(status) {
            return Ok(());
        }
        let api: Api<DynamoGraphDeployment> =
            Api::namespaced(self.client(), &dgd.namespace().unwrap_or_default());
        let body =
            json!({ "apiVersion": API_VERSION, "kind": "DynamoGraphDeployment", "status": status });
        let (name, params, patch) = (
            dgd.name_any(),
            PatchParams::apply(FIELD_MANAGER_STATUS).force(),
            Patch::Apply(&body),
        );
        self.wrote(1);
        retry(|| api.patch_status(&name, &params, &patch))
            .await
            .map_err(|e| self.err(&format!("DynamoGraphDeployment {}", dgd.name_any()), e))?;
        Ok(())
    }

    /// One pass over a component: workload objects applied, an Ingress or VirtualService that is no longer
    /// rendered deleted, status written if it changed. Returns whether it is available.
    pub async fn reconcile_component(
        &self,
        dcd: &DynamoComponentDeployment,
        now: &Time,
    ) -> Result<bool, ClusterError> {
        let ns = dcd.namespace().unwrap_or_else(|| "default".to_string());
        let name = dcd.name_any();
        let refused = serde_json::to_value(dcd)
            .ok()
            .and_then(|v| crate::manifest::refused_in_cluster_object(&v));
        let rendered = match refused {
            Some(message) => Err(message),
            None => render::component(dcd, &self.render).map_err(|e| e.to_string()),
        };
        let objects = match rendered {
            Ok(o) => o,
            Err(message) => {
                // Upstream's controller-side validation: `Valid=False` says why.
                let status = crate::status::component_invalid(dcd, &message, now);
                self.write_component_status(dcd, &status).await?;
                return Err(ClusterError::Rejected {
                    object: format!("DynamoComponentDeployment {ns}/{name}"),
                    code: 422,
                    message,
                });
            }
        };
        let owner = super::prerequisites::owner_ref(dcd);
        let mut changes = match self.ensure_mpi_secret(&ns, owner, &objects).await? {
            Ok(written) => written,
            Err(missing) => {
                let status =
                    crate::status::component_blocked(dcd, missing.reason, &missing.message, now);
                self.write_component_status(dcd, &status).await?;
                return Ok(false);
            }
        };
        changes.extend(self.ensure_all(&objects).await?);
        let groups = super::multinode::runs_groups(dcd);
        if groups {
            changes.extend(self.prune_groups(dcd, &objects).await?);
        }
        // An Ingress or VirtualService the component no longer renders is deleted (a kind
        // the cluster does not serve reads as absent).
        for (api_version, kind) in EXPOSURE_KINDS {
            if objects.iter().any(|o| o["kind"] == kind) {
                continue;
            }
            let r = ObjectRef {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: Some(ns.clone()),
                name: name.clone(),
            };
            if let Some(live) = self.applier.get(&r).await? {
                let uid = dcd.uid();
                let controlled = live
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| {
                        refs.iter()
                            .any(|o| o.get("uid").and_then(Value::as_str) == uid.as_deref())
                    });
                if controlled {
                    self.wrote(1);
                    self.applier.delete(&r, false).await?;
                    changes.push(format!("deleted {r}"));
                }
            }
        }
        self.record(&dcd.object_ref(&()), "Reconciled", &changes)
            .await;
        let status = if render::orchestrator::node_count(&dcd.spec.component) > 1 {
            self.lws_status(dcd, now).await?
        } else {
            let deployments: Api<Deployment> = Api::namespaced(self.client(), &ns);
            let deployment = retry(|| deployments.get_opt(&name))
                .await
                .map_err(|e| self.err(&format!("Deployment {ns}/{name}"), e))?;
            crate::status::component_status(dcd, deployment.as_ref(), dcd.status.as_ref(), now)
        };
        let status =
            crate::status::with_component_conditions(status, dcd, dcd.status.as_ref(), now);
        let available = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Available" && c.status == "True");
        self.write_component_status(dcd, &status).await?;
        Ok(available)
    }

    /// Writes a component's status unless it already says that.
    async fn write_component_status(
        &self,
        dcd: &DynamoComponentDeployment,
        status: &crate::api::DynamoComponentDeploymentStatus,
    ) -> Result<(), ClusterError> {
        if dcd.status.as_ref() == Some(status) {
            return Ok(());
        }
        let (ns, name) = (dcd.namespace().unwrap_or_default(), dcd.name_any());
        let api: Api<DynamoComponentDeployment> = Api::namespaced(self.client(), &ns);
        let body = json!({ "apiVersion": API_VERSION, "kind": "DynamoComponentDeployment", "status": status });
        let (params, patch) = (
            PatchParams::apply(FIELD_MANAGER_STATUS).force(),
            Patch::Apply(&body),
        );
        self.wrote(1);
        retry(|| api.patch_status(&name, &params, &patch))
            .await
            .map_err(|e| self.err(&format!("DynamoComponentDeployment {ns}/{name}"), e))?;
        Ok(())
    }
}

/// The kinds that expose a component outside the cluster, deleted when no longer rendered.
const EXPOSURE_KINDS: [(&str, &str); 2] = [
    ("networking.k8s.io/v1", "Ingress"),
    (render::VIRTUAL_SERVICE_API_VERSION, "VirtualService"),
];

fn ready_message(
    conditions: &Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>>,
) -> String {
    conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.message.clone())
        .unwrap_or_default()
}
