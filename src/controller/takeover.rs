//! Taking over graphs from upstream's Go operator: what it leaves on objects it managed and
//! nothing here would ever clean up. Each step touches only objects that are provably
//! upstream's: its finalizer by name, its extra Services only when the component controls
//! them, its hash annotations only on children this operator renders for the same owner.
//!
//! - `nvidia.com/finalizer` on graphs and components: upstream's cleanup hook. Without its
//!   operator nobody removes it and deletion hangs forever; dynamoctl needs no cleanup
//!   (garbage collection removes the children), so the finalizer is simply dropped.
//! - `<dcd>-p` (and `<dcd>-d`, debug mode) Services: upstream 0.8 created them per component
//!   next to `<dcd>` (`getServiceName`); dynamoctl renders only `<dcd>`. They are looked for
//!   only while the component still carries upstream's finalizer.
//! - `nvidia.com/last-applied-hash` / `nvidia.com/last-applied-generation`: upstream's
//!   change detection (`controller_common/resource.go`); meaningless here.

use kube::api::{Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::reconcile::Reconciler;
use crate::api::DynamoComponentDeployment;
use crate::cluster::{ClusterError, ObjectRef, retry};

/// Upstream's finalizer on graphs and components.
pub const UPSTREAM_FINALIZER: &str = "nvidia.com/finalizer";
/// Upstream's last-applied hash annotation.
pub const UPSTREAM_HASH_ANNOTATIONS: [&str; 2] = [
    "nvidia.com/last-applied-hash",
    "nvidia.com/last-applied-generation",
];
/// Suffixes of the extra Services upstream 0.8 created per component.
const UPSTREAM_SERVICE_SUFFIXES: [&str; 2] = ["-p", "-d"];

impl Reconciler {
    /// Drops upstream's finalizer from a graph or component, if it carries it; returns
    /// whether it did. The patch tests the list entry first, so a concurrent change to the
    /// finalizers fails the patch instead of removing someone else's.
    pub async fn release_upstream_finalizer<K>(&self, obj: &K) -> Result<bool, ClusterError>
    where
        K: Resource<DynamicType = ()>,
    {
        let finalizers = obj.meta().finalizers.clone().unwrap_or_default();
        let Some(at) = finalizers.iter().position(|f| f == UPSTREAM_FINALIZER) else {
            return Ok(false);
        };
        let r = ObjectRef {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            namespace: obj.meta().namespace.clone(),
            name: obj.name_any(),
        };
        let (api, _) = self
            .applier
            .resolver
            .api(&r, r.namespace.as_deref().unwrap_or("default"))?;
        // A merge patch replaces the whole list; the resourceVersion makes it fail (409,
        // retried by the next pass) if the finalizers changed since this copy was read.
        let mut rest = finalizers;
        rest.remove(at);
        let body = json!({
            "metadata": { "finalizers": rest, "resourceVersion": obj.meta().resource_version }
        });
        let (params, patch) = (PatchParams::default(), Patch::Merge(&body));
        self.wrote(1);
        match retry(|| api.patch(&r.name, &params, &patch)).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(self.err(&format!("remove {UPSTREAM_FINALIZER} from {r}"), e)),
        }
    }

    /// Takes a component over from upstream's operator, once: while it still carries
    /// upstream's finalizer (upstream puts it on every component it manages), deletes the
    /// extra Services upstream made for it, then drops the finalizer. Returns whether it
    /// wrote. The Services go first, so a failure is retried while the marker is still there;
    /// components that were never upstream's cost no request here.
    pub async fn take_over_component(
        &self,
        dcd: &DynamoComponentDeployment,
    ) -> Result<bool, ClusterError> {
        if !dcd.finalizers().iter().any(|f| f == UPSTREAM_FINALIZER) {
            return Ok(false);
        }
        let ns = dcd.namespace().unwrap_or_else(|| "default".to_string());
        self.remove_upstream_services(&dcd.name_any(), &ns, dcd.uid().as_deref())
            .await?;
        self.release_upstream_finalizer(dcd).await
    }

    /// Deletes upstream's `<component>-p` / `<component>-d` Services that the component
    /// controls; returns what was deleted.
    async fn remove_upstream_services(
        &self,
        component: &str,
        namespace: &str,
        uid: Option<&str>,
    ) -> Result<Vec<String>, ClusterError> {
        let mut deleted = Vec::new();
        let Some(uid) = uid else {
            return Ok(deleted);
        };
        for suffix in UPSTREAM_SERVICE_SUFFIXES {
            let r = ObjectRef {
                api_version: "v1".into(),
                kind: "Service".into(),
                namespace: Some(namespace.to_string()),
                name: format!("{component}{suffix}"),
            };
            let Some(live) = self.applier.get(&r).await? else {
                continue;
            };
            if controller_uid(&live) == Some(uid) {
                self.wrote(1);
                self.applier.delete(&r, false).await?;
                deleted.push(format!("deleted upstream's {r}"));
            }
        }
        Ok(deleted)
    }

    /// Removes upstream's hash annotations from `live` when it is the same owner's child as
    /// `rendered` (so it is ours now); returns whether it wrote.
    pub(super) async fn drop_upstream_hash(
        &self,
        rendered: &Value,
        live: Option<&Value>,
    ) -> Result<bool, ClusterError> {
        let Some(live) = live else {
            return Ok(false);
        };
        let carries = UPSTREAM_HASH_ANNOTATIONS.iter().any(|a| {
            live.pointer(&format!("/metadata/annotations/{}", a.replace('/', "~1")))
                .is_some()
        });
        if !carries
            || controller_uid(live).is_none()
            || controller_uid(live) != controller_uid(rendered)
        {
            return Ok(false);
        }
        let r = ObjectRef::of(rendered);
        let (api, _) = self
            .applier
            .resolver
            .api(&r, r.namespace.as_deref().unwrap_or("default"))?;
        let nulls: serde_json::Map<String, Value> = UPSTREAM_HASH_ANNOTATIONS
            .iter()
            .map(|a| (a.to_string(), Value::Null))
            .collect();
        let body = json!({ "metadata": { "annotations": nulls } });
        let (params, patch) = (PatchParams::default(), Patch::Merge(&body));
        self.wrote(1);
        retry(|| api.patch(&r.name, &params, &patch))
            .await
            .map_err(|e| self.err(&format!("remove upstream's hash annotations from {r}"), e))?;
        Ok(true)
    }
}

/// The uid of the object's controller (the ownerReference with `controller: true`).
pub(super) fn controller_uid(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))?
        .get("uid")?
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_controller_reference_counts() {
        let owned = json!({"metadata": {"ownerReferences": [
            {"uid": "a", "controller": false}, {"uid": "b", "controller": true}
        ]}});
        assert_eq!(controller_uid(&owned), Some("b"));
        let loose = json!({"metadata": {"ownerReferences": [{"uid": "a"}]}});
        assert_eq!(controller_uid(&loose), None);
        assert_eq!(controller_uid(&json!({"metadata": {}})), None);
    }
}
