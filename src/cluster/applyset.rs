//! ApplySets (KEP-3659), the way `kubectl apply --prune --applyset` records what one apply
//! owns: a parent Secret lists the group-kinds of its members, members carry a `part-of`
//! label, and members that are no longer applied are deleted. The labels and annotations are
//! kubectl's, so `kubectl` sees the same sets.

use std::collections::BTreeSet;

use base64::Engine;
use kube::api::ListParams;
use serde_json::{Value, json};

use super::{Applier, ApplyMode, ClusterError, ObjectRef};

/// Label on the parent: the set's id.
pub const LABEL_ID: &str = "applyset.kubernetes.io/id";
/// Label on members: the id of their set.
pub const LABEL_PART_OF: &str = "applyset.kubernetes.io/part-of";
/// Annotation on the parent: the tool that manages the set.
pub const ANNOTATION_TOOLING: &str = "applyset.kubernetes.io/tooling";
/// Annotation on the parent: the members' group-kinds.
pub const ANNOTATION_GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
/// Annotation on the parent: namespaces of members besides the parent's.
pub const ANNOTATION_NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";

/// An ApplySet whose parent is the Secret `name` in `namespace`.
#[derive(Clone, Debug)]
pub struct ApplySet {
    /// Parent name.
    pub name: String,
    /// Parent namespace.
    pub namespace: String,
}

impl ApplySet {
    /// The set's id: `applyset-<base64url(sha256("<name>.<namespace>.Secret."))>-v1`.
    pub fn id(&self) -> String {
        let key = format!("{}.{}.Secret.", self.name, self.namespace);
        let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
        format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
        )
    }

    /// `Kind.group` (or just `Kind` for the core group), as the annotation lists them.
    pub fn group_kind(obj: &Value) -> String {
        let r = ObjectRef::of(obj);
        match r.api_version.split_once('/') {
            Some((group, _)) => format!("{}.{group}", r.kind),
            None => r.kind,
        }
    }

    /// `obj` labelled as a member of the set.
    pub fn member(&self, obj: &Value) -> Value {
        let mut out = obj.clone();
        let meta = out["metadata"]
            .as_object_mut()
            .expect("objects have metadata");
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        labels[LABEL_PART_OF] = json!(self.id());
        out
    }

    fn parent(&self, group_kinds: &BTreeSet<String>, namespaces: &BTreeSet<String>) -> Value {
        let mut annotations = json!({
            ANNOTATION_TOOLING: format!("dynamoctl/v{}", env!("CARGO_PKG_VERSION")),
            ANNOTATION_GROUP_KINDS: group_kinds.iter().cloned().collect::<Vec<_>>().join(","),
        });
        let others: Vec<String> = namespaces
            .iter()
            .filter(|n| **n != self.namespace)
            .cloned()
            .collect();
        if !others.is_empty() {
            annotations[ANNOTATION_NAMESPACES] = json!(others.join(","));
        }
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": { LABEL_ID: self.id() },
                "annotations": annotations,
            },
        })
    }

    /// Reads the parent: the group-kinds and namespaces it lists. Refuses a set that another
    /// tool manages (KEP-3659 requires it).
    pub async fn load(
        &self,
        applier: &Applier,
    ) -> Result<(BTreeSet<String>, BTreeSet<String>), ClusterError> {
        let r = ObjectRef {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
        };
        let Some(live) = applier.get(&r).await? else {
            return Ok(Default::default());
        };
        let annotation = |k: &str| {
            live.pointer("/metadata/annotations")
                .and_then(|a| a.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let tooling = annotation(ANNOTATION_TOOLING);
        let id = live
            .pointer("/metadata/labels")
            .and_then(|l| l.get(LABEL_ID))
            .and_then(Value::as_str);
        if id.is_some_and(|id| id != self.id())
            || (!tooling.is_empty() && !tooling.starts_with("dynamoctl/"))
        {
            return Err(ClusterError::Rejected {
                object: r.to_string(),
                code: 409,
                message: format!(
                    "is the parent of an ApplySet managed by {tooling:?}; dynamoctl will not change it (use another --applyset name)"
                ),
            });
        }
        let split = |s: String| {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect::<BTreeSet<_>>()
        };
        let mut namespaces = split(annotation(ANNOTATION_NAMESPACES));
        namespaces.insert(self.namespace.clone());
        Ok((split(annotation(ANNOTATION_GROUP_KINDS)), namespaces))
    }

    /// Writes the parent listing `group_kinds` and `namespaces`.
    pub async fn write_parent(
        &self,
        applier: &Applier,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
        mode: &ApplyMode,
    ) -> Result<(), ClusterError> {
        applier
            .apply(&self.parent(group_kinds, namespaces), mode)
            .await
            .map(|_| ())
    }

    /// Members of the set, of the listed group-kinds in the listed namespaces, that are not in
    /// `keep`: what pruning deletes.
    pub async fn stale_members(
        &self,
        applier: &Applier,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
        keep: &BTreeSet<ObjectRef>,
    ) -> Result<Vec<ObjectRef>, ClusterError> {
        let selector = format!("{LABEL_PART_OF}={}", self.id());
        let mut out = Vec::new();
        for gk in group_kinds {
            let Some((api_version, kind)) = resolve_group_kind(applier, gk) else {
                continue;
            };
            for ns in namespaces {
                let probe = ObjectRef {
                    api_version: api_version.clone(),
                    kind: kind.clone(),
                    namespace: Some(ns.clone()),
                    name: String::new(),
                };
                let (api, scoped_ns) = applier.resolver.api(&probe, ns)?;
                let params = ListParams::default().labels(&selector);
                let list = super::retry(|| api.list(&params)).await.map_err(|e| {
                    ClusterError::from_kube(&format!("list {gk}"), applier.resolver.server(), e)
                })?;
                for item in list.items {
                    let r = ObjectRef {
                        name: item.metadata.name.clone().unwrap_or_default(),
                        namespace: scoped_ns.clone(),
                        ..probe.clone()
                    };
                    if !keep.contains(&r) && !out.contains(&r) {
                        out.push(r);
                    }
                }
                if scoped_ns.is_none() {
                    break; // cluster-scoped: one list covers every namespace
                }
            }
        }
        Ok(out)
    }
}

/// `Kind.group` → (apiVersion, kind) through discovery (the preferred version).
fn resolve_group_kind(applier: &Applier, gk: &str) -> Option<(String, String)> {
    let (kind, group) = gk.split_once('.').unwrap_or((gk, ""));
    applier.resolver.preferred_version(group, kind).map(|v| {
        (
            if group.is_empty() {
                v
            } else {
                format!("{group}/{v}")
            },
            kind.to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_follows_kep_3659() {
        let set = ApplySet {
            name: "my-set".into(),
            namespace: "default".into(),
        };
        let id = set.id();
        assert!(id.starts_with("applyset-") && id.ends_with("-v1"), "{id}");
        // sha256 is 32 bytes: 43 base64url characters without padding.
        assert_eq!(id.len(), "applyset-".len() + 43 + "-v1".len());
        assert!(!id.contains('=') && !id.contains('+') && !id.contains('/'));
        assert_eq!(
            ApplySet::group_kind(&json!({"apiVersion": "apps/v1", "kind": "Deployment"})),
            "Deployment.apps"
        );
        assert_eq!(
            ApplySet::group_kind(&json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            "ConfigMap"
        );
    }
}
