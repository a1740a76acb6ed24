//! Labels and owner references every rendered child carries.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::consts::*;

/// Kubernetes' recommended labels for a child of `graph`, playing `role` (e.g. `frontend`,
/// `rbac`, `storage`), as instance `instance`.
pub fn recommended(graph: &str, role: &str, instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
        (LABEL_PART_OF.to_string(), graph.to_string()),
        (LABEL_APP_COMPONENT.to_string(), role.to_string()),
        (LABEL_INSTANCE.to_string(), instance.to_string()),
    ])
}

/// The controller ownerReference to `owner` as a one-item list, or none when the owner has no
/// uid yet (rendering offline, before the object exists): the API server rejects references
/// without one.
pub fn owner_references<K: kube::Resource<DynamicType = ()>>(owner: &K) -> Option<Value> {
    owner.controller_owner_ref(&()).map(|r| json!([r]))
}

/// Object metadata with labels, optional annotations and the owner references.
pub fn metadata(
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    owner: Option<&Value>,
) -> Value {
    let mut m = json!({ "name": name, "namespace": namespace, "labels": labels });
    if !annotations.is_empty() {
        m["annotations"] = json!(annotations);
    }
    if let Some(refs) = owner {
        m["ownerReferences"] = refs.clone();
    }
    m
}
