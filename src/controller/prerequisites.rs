//! Objects outside a graph's spec its workloads need before they can start, checked (and for
//! the MPI SSH secret, provided) before the workloads are applied:
//!
//! - the **MPI SSH secret** TRT-LLM multinode pods mount: copied from the operator's namespace
//!   (`mpi.sshSecretNamespace`) into the workload's namespace, as upstream replicates it, with
//!   an ownerReference to every graph or component that mounts it, so the garbage collector
//!   removes the copy with the last of them and every reconcile refreshes its data;
//! - the **Kai scheduler queue** a Grove graph's cliques name (`scheduling.run.ai` Queue,
//!   cluster-scoped): it must exist, as upstream requires, or no pod is ever scheduled.
//!
//! Render stays pure: it only names the secret and the queue; this module reads the cluster.

use std::collections::BTreeSet;

use kube::ResourceExt;
use serde_json::{Value, json};

use super::reconcile::Reconciler;
use crate::api::consts::{LABEL_MANAGED_BY, MANAGED_BY};
use crate::cluster::{ApplyMode, ClusterError, ObjectRef};
use crate::render::orchestrator::LABEL_KAI_QUEUE;

/// Label on a copied MPI SSH secret naming the namespace it was copied from. A secret without
/// it (or not managed by dynamoctl) is the user's own and is never touched.
pub const LABEL_COPIED_FROM: &str = "nvidia.com/copied-from-namespace";
/// The Kai scheduler's Queue kind.
const KAI_QUEUE_API_VERSION: &str = "scheduling.run.ai/v2";

/// A prerequisite that is missing: the status reason and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// `MPISecretMissing` or `KaiQueueMissing`.
    pub reason: &'static str,
    /// What is missing, where, and how to provide it.
    pub message: String,
}

/// Whether any pod template in `objects` mounts the secret `name` as a volume.
pub fn mounts_secret(objects: &[Value], name: &str) -> bool {
    fn walk(v: &Value, name: &str) -> bool {
        match v {
            Value::Object(m) => {
                m.get("secret")
                    .and_then(|s| s.get("secretName"))
                    .and_then(Value::as_str)
                    == Some(name)
                    || m.values().any(|c| walk(c, name))
            }
            Value::Array(a) => a.iter().any(|c| walk(c, name)),
            _ => false,
        }
    }
    objects.iter().any(|o| walk(o, name))
}

/// The Kai queues the PodCliqueSets in `objects` place their cliques in, sorted.
pub fn kai_queues(objects: &[Value]) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                if let Some(q) = m
                    .get("labels")
                    .and_then(|l| l.get(LABEL_KAI_QUEUE))
                    .and_then(Value::as_str)
                {
                    out.insert(q.to_string());
                }
                m.values().for_each(|c| walk(c, out));
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for o in objects.iter().filter(|o| o["kind"] == "PodCliqueSet") {
        walk(&o["spec"], &mut out);
    }
    out
}

/// The copy of `source` for namespace `ns`: its type and data, labelled as a copy, owned (not
/// controlled) by `owners`, deduplicated by uid in their order. The order is kept (live
/// owners first, a new one last) because the API server keeps it: a sorted list could differ
/// from the stored one and be written again on every pass.
pub fn secret_copy(source: &Value, ns: &str, owners: &[Value]) -> Value {
    let mut refs: Vec<Value> = Vec::new();
    for o in owners {
        let uid = o.get("uid").and_then(Value::as_str).unwrap_or_default();
        if !uid.is_empty() && !refs.iter().any(|r| r["uid"] == uid) {
            let mut r = o.clone();
            // Several owners: none of them is the controller.
            r["controller"] = json!(false);
            r["blockOwnerDeletion"] = json!(false);
            refs.push(r);
        }
    }
    let source_ns = source
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut copy = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": source.pointer("/metadata/name").cloned().unwrap_or_default(),
            "namespace": ns,
            "labels": { LABEL_MANAGED_BY: MANAGED_BY, LABEL_COPIED_FROM: source_ns },
            "ownerReferences": refs,
        },
        "data": source.get("data").cloned().unwrap_or_else(|| json!({})),
    });
    if let Some(t) = source.get("type") {
        copy["type"] = t.clone();
    }
    copy
}

/// Whether `secret` is a copy this operator made (and so may refresh).
fn is_copy(secret: &Value) -> bool {
    let labels = secret.pointer("/metadata/labels");
    labels.and_then(|l| l.get(LABEL_MANAGED_BY)) == Some(&json!(MANAGED_BY))
        && labels.and_then(|l| l.get(LABEL_COPIED_FROM)).is_some()
}

impl Reconciler {
    /// Makes sure the MPI SSH secret exists in `ns` when `objects` mount it: copies (or
    /// refreshes the copy of) the source secret, with `owner` (a non-controller
    /// ownerReference) added to the copy's owners. Returns what was written, or what is
    /// missing. A secret of the same name the user made in `ns` is used as it is.
    pub(super) async fn ensure_mpi_secret(
        &self,
        ns: &str,
        owner: Option<Value>,
        objects: &[Value],
    ) -> Result<Result<Vec<String>, Missing>, ClusterError> {
        let o = &self.render.orchestrators;
        let name = o.mpi_secret();
        if !mounts_secret(objects, name) {
            return Ok(Ok(Vec::new()));
        }
        let secret_ref = |namespace: &str| ObjectRef {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        };
        let live = self.applier.get(&secret_ref(ns)).await?;
        let source_ns = o.mpi_ssh_secret_namespace.as_deref().filter(|s| *s != ns);
        let Some(source_ns) = source_ns else {
            return Ok(match live {
                Some(_) => Ok(Vec::new()),
                None => Err(Missing {
                    reason: crate::status::REASON_MPI_SECRET_MISSING,
                    message: format!(
                        "the MPI SSH secret {name} (mpi.sshSecretName) that TRT-LLM multinode pods mount does not exist in namespace {ns}: create it there (an SSH key pair under the keys private.key and private.key.pub), or set mpi.sshSecretNamespace to a namespace holding it so the operator copies it"
                    ),
                }),
            });
        };
        if live.as_ref().is_some_and(|l| !is_copy(l)) {
            return Ok(Ok(Vec::new()));
        }
        let Some(source) = self.applier.get(&secret_ref(source_ns)).await? else {
            if live.is_some() {
                // The copy still works; it is refreshed once the source is back.
                return Ok(Ok(Vec::new()));
            }
            return Ok(Err(Missing {
                reason: crate::status::REASON_MPI_SECRET_MISSING,
                message: format!(
                    "the MPI SSH secret {source_ns}/{name} (mpi.sshSecretNamespace, mpi.sshSecretName) to copy into namespace {ns} does not exist: create it (an SSH key pair under the keys private.key and private.key.pub; upstream's chart makes it at install), or create {name} in {ns} yourself"
                ),
            }));
        };
        let mut owners: Vec<Value> = live
            .as_ref()
            .and_then(|l| l.pointer("/metadata/ownerReferences"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        owners.extend(owner);
        let copy = secret_copy(&source, ns, &owners);
        let mode = ApplyMode {
            field_manager: crate::api::consts::FIELD_MANAGER_CONTROLLER.to_string(),
            force: true,
            dry_run: false,
        };
        let written = self.applier.ensure(&copy, live.as_ref(), &mode).await?;
        Ok(Ok(match written {
            Some(_) => {
                self.wrote(1);
                vec![format!(
                    "{} {} (copied from {source_ns})",
                    if live.is_some() { "updated" } else { "created" },
                    secret_ref(ns)
                )]
            }
            None => Vec::new(),
        }))
    }

    /// The first Kai queue the PodCliqueSets in `objects` name that does not exist. A queue
    /// this operator may not read (a namespace-scoped install: Queues are cluster-scoped) is
    /// not checked.
    pub(super) async fn missing_kai_queue(
        &self,
        objects: &[Value],
    ) -> Result<Option<Missing>, ClusterError> {
        for queue in kai_queues(objects) {
            let r = ObjectRef {
                api_version: KAI_QUEUE_API_VERSION.into(),
                kind: "Queue".into(),
                namespace: None,
                name: queue.clone(),
            };
            let served = self.applier.resolver.resolve(&r).is_some();
            match self.applier.get(&r).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let why = if served {
                        "does not exist"
                    } else {
                        "cannot exist: the cluster does not serve scheduling.run.ai/v2 Queues (is the Kai scheduler installed?)"
                    };
                    return Ok(Some(Missing {
                        reason: crate::status::REASON_KAI_QUEUE_MISSING,
                        message: format!(
                            "the Kai scheduler queue {queue} (annotation nvidia.com/kai-scheduler-queue, default dynamo) {why}: create the Queue, name an existing one in the annotation, or disable orchestrators.kaiScheduler"
                        ),
                    }));
                }
                Err(ClusterError::Rejected { code: 403, .. }) => {
                    tracing::debug!(%queue, "not allowed to read Kai queues; not checked");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

/// The non-controller ownerReference a secret copy gets for `owner`.
pub(super) fn owner_ref<K: kube::Resource<DynamicType = ()>>(owner: &K) -> Option<Value> {
    owner.uid().map(|uid| {
        json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "name": owner.name_any(),
            "uid": uid,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcs(queue: &str) -> Value {
        json!({
            "kind": "PodCliqueSet",
            "spec": { "template": { "cliques": [
                { "name": "a", "labels": { LABEL_KAI_QUEUE: queue }, "spec": { "podSpec": {
                    "volumes": [{ "name": "s", "secret": { "secretName": "mpi" } }] } } },
            ] } },
        })
    }

    #[test]
    fn finds_mounted_secrets_and_named_queues() {
        assert!(mounts_secret(&[pcs("q")], "mpi"));
        assert!(!mounts_secret(&[pcs("q")], "other"));
        assert_eq!(
            kai_queues(&[
                pcs("b"),
                pcs("a"),
                json!({"kind": "Service", "metadata": {"labels": {LABEL_KAI_QUEUE: "x"}}})
            ]),
            BTreeSet::from(["a".to_string(), "b".to_string()])
        );
    }

    #[test]
    fn a_copy_keeps_type_and_data_and_every_owner_once() {
        let source = json!({
            "metadata": { "name": "mpi", "namespace": "ops", "labels": { "x": "y" }, "resourceVersion": "7" },
            "type": "Opaque",
            "data": { "private.key": "a2V5" },
        });
        let owner = |uid: &str| json!({ "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "name": uid, "uid": uid, "controller": true });
        let copy = secret_copy(&source, "team", &[owner("b"), owner("a"), owner("b")]);
        assert_eq!(copy["metadata"]["namespace"], "team");
        assert_eq!(copy["metadata"]["labels"][LABEL_COPIED_FROM], "ops");
        assert_eq!(copy["metadata"]["labels"][LABEL_MANAGED_BY], MANAGED_BY);
        assert!(copy["metadata"].get("resourceVersion").is_none());
        assert_eq!(
            (&copy["type"], &copy["data"]),
            (&source["type"], &source["data"])
        );
        let refs = copy["metadata"]["ownerReferences"].as_array().unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(
            (refs[0]["uid"].as_str(), refs[1]["uid"].as_str()),
            (Some("b"), Some("a"))
        );
        assert!(refs.iter().all(|r| r["controller"] == false));
        assert!(is_copy(&copy));
        assert!(!is_copy(&source));
    }
}
