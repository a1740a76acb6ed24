//! One reconcile pass of a graph or a component. Builds no objects by hand: everything comes
//! from `render`; writes go through `cluster`; status comes from `status`. A pass over a world
//! that already matches issues no write at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::cache::Caches;
use super::events::{Event, EventType, Recorder};
use super::live::Live;
use crate::api::consts::*;
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use crate::cluster::{
    Applier, ApplyMode, ClusterError, ObjectRef, retry, up_to_date, with_applied_hash,
};
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
    /// The operator's watch caches, read instead of the API server; `None` reads from the API
    /// server (the CLI).
    pub caches: Option<Arc<Caches>>,
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
            caches: None,
        }
    }

    /// Where this reconciler reads live objects.
    pub(super) fn live(&self) -> Live<'_> {
        Live {
            applier: &self.applier,
            caches: self.caches.as_deref(),
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

    /// Applies `objects` that are not already up to date, judged from the live objects (the
    /// watch caches in the operator); returns what was written and the objects the writes
    /// stored. PersistentVolumeClaims are created once and never rewritten, as upstream
    /// creates them: a claim's spec is immutable but for its size once bound, and resizing or
    /// relabelling a volume holding data is left to its owner.
    async fn ensure_all(&self, objects: &[Value]) -> Result<Applied, ClusterError> {
        let mut out = Applied::default();
        for obj in objects {
            let r = ObjectRef::of(obj);
            let live = self.live().get(&r).await?;
            if r.kind == "PersistentVolumeClaim" && live.is_some() {
                continue;
            }
            if self.drop_upstream_hash(obj, live.as_ref()).await? {
                out.changes
                    .push(format!("adopted {r} from upstream's operator"));
            }
            let desired = with_applied_hash(obj);
            let hash = applied_hash(&desired);
            let written_by_us = self
                .caches
                .as_ref()
                .is_some_and(|c| c.written_since(&r, live.as_ref(), &hash));
            // Verified before and unchanged since: the hash alone decides.
            let verified = live
                .as_ref()
                .is_some_and(|l| Caches::verified(l) && applied_hash(l) == hash);
            if written_by_us || verified {
                continue;
            }
            if let Some(l) = live.as_ref().filter(|l| up_to_date(&desired, l)) {
                if let Some(caches) = &self.caches {
                    caches.keep_verified(&r, l, &self.applier.default_namespace);
                }
                continue;
            }
            let stored = match self.applier.apply(&desired, &self.mode()).await {
                // A conflict means the object moved under us: decide again on a fresh read.
                Err(ClusterError::Rejected { code: 409, .. }) => {
                    let fresh = self.live().fresh(&r).await?;
                    if fresh.as_ref().is_some_and(|l| up_to_date(&desired, l)) {
                        continue;
                    }
                    self.applier.apply(&desired, &self.mode()).await?
                }
                other => other?,
            };
            self.wrote(1);
            if let Some(caches) = &self.caches {
                caches.wrote(&r, &stored, &hash);
            }
            out.changes.push(format!(
                "{} {}",
                if live.is_some() { "updated" } else { "created" },
                r
            ));
            out.stored.push(stored);
        }
        Ok(out)
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
        let live = super::restart::live_restart(self.live(), dgd, pcs).await?;
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
        changes.extend(self.ensure_all(&children.objects).await?.changes);
        if grove {
            changes.extend(self.scale_grove(dgd).await?);
        }
        let components: Vec<Value> = children
            .components
            .iter()
            .map(|c| serde_json::to_value(c).expect("component serialises"))
            .collect();
        let written_components = self.ensure_all(&components).await?;
        changes.extend(written_components.changes);
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
                let mut live = super::restart::graph_components(self.live(), dgd).await?;
                // A component this pass wrote is read as written: its cached copy may predate
                // the write (and its new generation), and would report the old spec as ready.
                for stored in written_components.stored {
                    let Ok(written) = serde_json::from_value::<DynamoComponentDeployment>(stored)
                    else {
                        continue;
                    };
                    live.retain(|c| c.metadata.name != written.metadata.name);
                    live.push(written);
                }
                crate::status::graph_status(dgd, &live, now)
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
        let graph = dgd.name_any();
        let labels = [
            (LABEL_MANAGED_BY, MANAGED_BY),
            (LABEL_PART_OF, graph.as_str()),
        ];
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
            for obj in self.live().list((api_version, kind), &ns, &labels).await? {
                let mut r = ObjectRef::of(&obj);
                r.namespace = Some(ns.clone());
                // The copy at hand (cached) must say the graph controls it before a fresh read
                // confirms it: most objects labelled for the graph are its components'.
                let controlled = super::takeover::controller_uid(&obj) == Some(uid.as_str());
                if keep.contains(&r)
                    || !controlled
                    || !self.still_controlled(&r, &uid, &labels).await?
                {
                    continue;
                }
                self.wrote(1);
                self.applier.delete(&r, false).await?;
                deleted.push(format!("deleted {r}"));
            }
        }
        Ok(deleted)
    }

    /// Whether `r` exists, is controlled by `uid` and carries `labels`, read fresh from the
    /// API server: what a deletion is decided on (a cache may lag behind, and a stale copy
    /// must never delete an object that was meanwhile re-labelled or adopted).
    pub(super) async fn still_controlled(
        &self,
        r: &ObjectRef,
        uid: &str,
        labels: &[(&str, &str)],
    ) -> Result<bool, ClusterError> {
        let Some(live) = self.live().fresh(r).await? else {
            return Ok(false);
        };
        let has = |k: &str, v: &str| {
            live.pointer("/metadata/labels")
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)
                == Some(v)
        };
        Ok(super::takeover::controller_uid(&live) == Some(uid)
            && labels.iter().all(|(k, v)| has(k, v)))
    }

    /// Writes a graph's status unless it already says that.
    async fn write_graph_status(
        &self,
        dgd: &DynamoGraphDeployment,
        status: &crate::api::DynamoGraphDeploymentStatus,
    ) -> Result<(), ClusterError> {
        self.write_status(dgd, dgd.status.as_ref(), status).await
    }

    /// Writes `status` as `obj`'s (a graph or a component) unless its cached copy already
    /// says that, or this process wrote exactly that and the cache has not caught up yet: a
    /// pass that starts right after the same object's previous pass wrote its status sees the
    /// copy from before that write, and would write the same status again.
    async fn write_status<K, S>(
        &self,
        obj: &K,
        current: Option<&S>,
        status: &S,
    ) -> Result<(), ClusterError>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
        S: serde::Serialize + PartialEq,
    {
        let (ns, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
        let kind = K::kind(&());
        let body = json!({ "apiVersion": API_VERSION, "kind": kind, "status": status });
        let text = body.to_string();
        let object = [kind.as_ref(), ns.as_str(), name.as_str()];
        // Asked first, so the record goes once the cache has caught up.
        let written = self
            .caches
            .as_ref()
            .is_some_and(|c| c.status_written(object, obj.resource_version().as_deref(), &text));
        if written || current == Some(status) {
            return Ok(());
        }
        let api: Api<K> = Api::namespaced(self.client(), &ns);
        let (params, patch) = (
            PatchParams::apply(FIELD_MANAGER_STATUS).force(),
            Patch::Apply(&body),
        );
        self.wrote(1);
        let stored = retry(|| api.patch_status(&name, &params, &patch))
            .await
            .map_err(|e| self.err(&format!("{kind} {ns}/{name}"), e))?;
        if let Some(caches) = &self.caches {
            let stored = serde_json::to_value(&stored).expect("objects serialise");
            caches.wrote_status(object, &stored, &text);
        }
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
        let applied = self.ensure_all(&objects).await?;
        changes.extend(applied.changes);
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
            let Some(uid) = dcd.uid() else { continue };
            if self.live().get(&r).await?.is_some() && self.still_controlled(&r, &uid, &[]).await? {
                self.wrote(1);
                self.applier.delete(&r, false).await?;
                changes.push(format!("deleted {r}"));
            }
        }
        self.record(&dcd.object_ref(&()), "Reconciled", &changes)
            .await;
        let status = if render::orchestrator::node_count(&dcd.spec.component) > 1 {
            self.lws_status(dcd, now).await?
        } else {
            // The Deployment as this pass wrote it, else as it is live.
            let r = ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some(ns.clone()),
                name: name.clone(),
            };
            let written = applied.stored.into_iter().find(|o| ObjectRef::of(o) == r);
            let live = match written {
                Some(w) => Some(w),
                None => self.live().get(&r).await?,
            };
            let deployment: Option<Deployment> = live.and_then(|v| serde_json::from_value(v).ok());
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
        self.write_status(dcd, dcd.status.as_ref(), status).await
    }
}

/// What [`Reconciler::ensure_all`] did.
#[derive(Default)]
struct Applied {
    /// One line per write, for the Event.
    changes: Vec<String>,
    /// The objects the writes stored.
    stored: Vec<Value>,
}

/// The applied-hash annotation of an object stamped by [`with_applied_hash`].
fn applied_hash(obj: &Value) -> String {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION_APPLIED_HASH))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
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
