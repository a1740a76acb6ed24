//! Where a reconcile reads the live state of the cluster: the operator's watch caches for the
//! kinds it watches, the API server (a GET or a LIST) otherwise — for `apply --reconcile` and
//! `diff`, which hold no caches, and for the few kinds the operator does not watch (claims,
//! the MPI SSH secret, Kai queues).

use kube::Resource;
use kube::api::ListParams;
use serde_json::Value;

use super::cache::{Caches, typed_item};
use crate::cluster::{Applier, ClusterError, ObjectRef, retry};

/// A reader of live objects.
#[derive(Clone, Copy)]
pub struct Live<'a> {
    /// Reads from the API server, and resolves kinds.
    pub applier: &'a Applier,
    /// The operator's watch caches, if this process has them.
    pub caches: Option<&'a Caches>,
}

impl<'a> Live<'a> {
    /// A reader that always asks the API server.
    pub fn uncached(applier: &'a Applier) -> Live<'a> {
        Live {
            applier,
            caches: None,
        }
    }

    /// The live object, or `None` when it (or its kind) does not exist.
    pub async fn get(&self, r: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        if let Some(cached) = self
            .caches
            .and_then(|c| c.get(r, &self.applier.default_namespace))
        {
            return Ok(cached);
        }
        self.applier.get(r).await
    }

    /// The objects of `api_version`/`kind` in `ns` carrying every label of `labels`, with
    /// their apiVersion and kind; none when the cluster does not serve the kind.
    pub async fn list(
        &self,
        (api_version, kind): (&str, &str),
        ns: &str,
        labels: &[(&str, &str)],
    ) -> Result<Vec<Value>, ClusterError> {
        if let Some(cached) = self
            .caches
            .and_then(|c| c.list(api_version, kind, ns, labels))
        {
            return Ok(cached);
        }
        let probe = ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: Some(ns.into()),
            name: String::new(),
        };
        let Ok((api, _)) = self.applier.resolver.api(&probe, ns) else {
            return Ok(Vec::new());
        };
        let selector: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let params = ListParams::default().labels(&selector.join(","));
        let live = retry(|| api.list(&params)).await.map_err(|e| {
            ClusterError::from_kube(&format!("list {kind}"), self.applier.resolver.server(), e)
        })?;
        Ok(live
            .items
            .into_iter()
            .map(|mut o| {
                o.meta_mut().managed_fields = None;
                typed_item(
                    serde_json::to_value(o).expect("object serialises"),
                    api_version,
                    kind,
                )
            })
            .collect())
    }

    /// `r` read from the API server, never from a cache: what a deletion is decided on, since
    /// a cache may lag behind.
    pub async fn fresh(&self, r: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        self.applier.get(r).await
    }
}
