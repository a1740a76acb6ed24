//! Graphs and components as the operator keeps them between passes: their metadata parsed
//! (what the controllers' queues, triggers and label lookups read) and the rest as compact
//! JSON text, parsed into the typed object for each pass. Typed, a graph of three services
//! held about 20 KB (every absent field of a pod spec and a container takes room); as text it
//! takes what it says.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::cache::trim_metadata;

/// An object of kind `K` kept as metadata plus JSON text.
pub struct Compact<K> {
    metadata: ObjectMeta,
    json: Arc<str>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Compact<K> {
    fn clone(&self) -> Self {
        Compact {
            metadata: self.metadata.clone(),
            json: self.json.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Compact<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compact")
            .field("metadata", &self.metadata)
            .field("bytes", &self.json.len())
            .finish()
    }
}

impl<K: Resource + Serialize> Compact<K> {
    /// Keeps `obj`, trimmed as every cached object is ([`trim_metadata`]).
    pub fn new(mut obj: K) -> Result<Compact<K>, serde_json::Error> {
        trim_metadata(obj.meta_mut());
        Ok(Compact {
            metadata: obj.meta().clone(),
            json: serde_json::to_string(&obj)?.into(),
            kind: PhantomData,
        })
    }
}

impl<K: DeserializeOwned> Compact<K> {
    /// The typed object. It was serialised from the same type, so it parses; an error names
    /// the object rather than stopping the process.
    pub fn object(&self) -> Result<K, serde_json::Error> {
        serde_json::from_str(&self.json)
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Compact<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Read as `K` (so a malformed object fails exactly as a typed watch fails), then kept.
impl<'de, K: Resource + Serialize + DeserializeOwned> Deserialize<'de> for Compact<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Compact::new(K::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// Written as the JSON it keeps.
impl<K> Serialize for Compact<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::from_str::<serde_json::Value>(&self.json)
            .map_err(S::Error::custom)?
            .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DynamoGraphDeployment;
    use kube::ResourceExt;

    #[test]
    fn a_kept_graph_reads_back_as_it_was_without_what_the_cache_drops() {
        let graph: DynamoGraphDeployment = serde_json::from_value(serde_json::json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeployment",
            "metadata": {
                "name": "g", "namespace": "ns", "labels": {"team": "a"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "me"},
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
            },
            "spec": {"services": {"Frontend": {"componentType": "frontend", "replicas": 2,
                "extraPodSpec": {"mainContainer": {"image": "i"}}}}},
        }))
        .unwrap();
        let kept: Compact<DynamoGraphDeployment> =
            serde_json::from_str(&serde_json::to_string(&graph).unwrap()).unwrap();
        assert_eq!(kept.name_any(), "g");
        assert_eq!(kept.labels().get("team").map(String::as_str), Some("a"));
        let mut expected = graph.clone();
        expected.metadata.managed_fields = None;
        expected
            .metadata
            .annotations
            .as_mut()
            .unwrap()
            .remove("kubectl.kubernetes.io/last-applied-configuration");
        assert_eq!(
            serde_json::to_value(kept.object().unwrap()).unwrap(),
            serde_json::to_value(&expected).unwrap()
        );
        assert_eq!(kept.meta(), &expected.metadata);
        assert_eq!(
            serde_json::to_value(&kept).unwrap(),
            serde_json::to_value(&expected).unwrap()
        );
        assert_eq!(
            <Compact<DynamoGraphDeployment> as Resource>::plural(&()),
            "dynamographdeployments"
        );
    }
}
