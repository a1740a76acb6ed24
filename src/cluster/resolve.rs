//! Which API endpoint serves an object: its kind resolved through discovery, cached.

use std::fmt;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

use super::ClusterError;

/// The identity of an object: apiVersion, kind, namespace (none when cluster-scoped), name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// e.g. `apps/v1`.
    pub api_version: String,
    /// e.g. `Deployment`.
    pub kind: String,
    /// The namespace, if any.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectRef {
    /// The identity of a JSON object.
    pub fn of(obj: &Value) -> ObjectRef {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str).map(str::to_string);
        ObjectRef {
            api_version: s("/apiVersion").unwrap_or_default(),
            kind: s("/kind").unwrap_or_default(),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name").unwrap_or_default(),
        }
    }

    /// The group-version-kind.
    pub fn gvk(&self) -> GroupVersionKind {
        let (group, version) = match self.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version.as_str()),
        };
        GroupVersionKind::gvk(group, version, &self.kind)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Resolves kinds to endpoints with one aggregated discovery per refresh.
pub struct Resolver {
    client: Client,
    server: String,
    discovery: Discovery,
}

impl Resolver {
    /// Runs discovery.
    pub async fn new(client: Client, server: &str) -> Result<Resolver, ClusterError> {
        let discovery = Self::discover(&client, server).await?;
        Ok(Resolver {
            client,
            server: server.to_string(),
            discovery,
        })
    }

    async fn discover(client: &Client, server: &str) -> Result<Discovery, ClusterError> {
        super::retry(|| Discovery::new(client.clone()).run_aggregated())
            .await
            .map_err(|e| ClusterError::from_kube("discovery", server, e))
    }

    /// Re-runs discovery, e.g. after CRDs became Established.
    pub async fn refresh(&mut self) -> Result<(), ClusterError> {
        self.discovery = Self::discover(&self.client, &self.server).await?;
        Ok(())
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The server URL, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The endpoint of an object's kind, or `None` when the cluster does not serve it (yet).
    pub fn resolve(&self, r: &ObjectRef) -> Option<(ApiResource, Scope)> {
        self.discovery
            .resolve_gvk(&r.gvk())
            .map(|(ar, caps)| (ar, caps.scope))
    }

    /// The preferred version of `kind` in `group`, if the cluster serves it.
    pub fn preferred_version(&self, group: &str, kind: &str) -> Option<String> {
        let g = self.discovery.get(group)?;
        g.recommended_kind(kind).map(|(ar, _)| ar.version)
    }

    /// An `Api` for the object's kind, scoped to its namespace (or `default_ns` when it names
    /// none and the kind is namespaced).
    pub fn api(
        &self,
        r: &ObjectRef,
        default_ns: &str,
    ) -> Result<(Api<DynamicObject>, Option<String>), ClusterError> {
        let (ar, scope) = self.resolve(r).ok_or_else(|| {
            ClusterError::UnknownKind(format!(
                "{r}: the cluster does not serve {} {} (is its CRD installed?)",
                r.api_version, r.kind
            ))
        })?;
        Ok(match scope {
            Scope::Namespaced => {
                let ns = r
                    .namespace
                    .clone()
                    .unwrap_or_else(|| default_ns.to_string());
                (
                    Api::namespaced_with(self.client.clone(), &ns, &ar),
                    Some(ns),
                )
            }
            Scope::Cluster => (Api::all_with(self.client.clone(), &ar), None),
        })
    }
}
