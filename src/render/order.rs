//! The order objects are printed and applied in: what others depend on comes first.

use serde_json::Value;

/// Kinds in dependency order; anything not listed sorts after config and before graphs.
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    // unknown kinds go here
    "DynamoGraphDeployment",
    "DynamoComponentDeployment",
    "Deployment",
    "StatefulSet",
    // A LeaderWorkerSet's pods name their Volcano PodGroup, so the group comes first.
    "PodGroup",
    "LeaderWorkerSet",
    "PodCliqueSet",
    "Service",
    "Ingress",
    "VirtualService",
];

const UNKNOWN_KIND_RANK: usize = 10;

/// The rank of a kind in [`KIND_ORDER`].
pub fn kind_rank(kind: &str) -> usize {
    match KIND_ORDER.iter().position(|k| *k == kind) {
        Some(i) if i < UNKNOWN_KIND_RANK => i,
        Some(i) => i + 1,
        None => UNKNOWN_KIND_RANK,
    }
}

/// The sort key of an object: kind rank, kind, namespace, name.
pub fn sort_key(object: &Value) -> (usize, String, String, String) {
    let kind = str_at(object, "/kind");
    (
        kind_rank(&kind),
        kind,
        str_at(object, "/metadata/namespace"),
        str_at(object, "/metadata/name"),
    )
}

fn str_at(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_before_graphs_before_workloads() {
        assert!(kind_rank("Namespace") < kind_rank("ServiceAccount"));
        assert!(kind_rank("ConfigMap") < kind_rank("ComputeDomain"));
        assert!(kind_rank("ComputeDomain") < kind_rank("DynamoGraphDeployment"));
        assert!(kind_rank("DynamoComponentDeployment") < kind_rank("Deployment"));
        assert!(kind_rank("Service") < kind_rank("Ingress"));
        assert!(kind_rank("PodGroup") < kind_rank("LeaderWorkerSet"));
    }
}
