//! The operator's permissions: exactly what the controllers and the objects they render use,
//! no wildcards (upstream grants `*/*/*`, ai-dynamo/dynamo#8907). The same rules go into a
//! ClusterRole (cluster-wide) or a Role in the operator's namespace (namespace-scoped).

use serde_json::{Value, json};

const FULL: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const READ: &[&str] = &["get", "list", "watch"];
const STATUS: &[&str] = &["get", "update", "patch"];
const EMIT: &[&str] = &["create", "patch"];

/// `(apiGroup, resources, verbs)`, in the order the Role lists them.
const RULES: &[(&str, &[&str], &[&str])] = &[
    // The two kinds the operator reconciles, and their status.
    (
        "nvidia.com",
        &["dynamographdeployments", "dynamocomponentdeployments"],
        FULL,
    ),
    (
        "nvidia.com",
        &[
            "dynamographdeployments/status",
            "dynamocomponentdeployments/status",
        ],
        STATUS,
    ),
    // Scaling adapters: created, adopted and deleted per graph, their status written; the
    // planner Role grants `/scale`, which the operator must hold to create that Role.
    (
        "nvidia.com",
        &["dynamographdeploymentscalingadapters"],
        FULL,
    ),
    (
        "nvidia.com",
        &["dynamographdeploymentscalingadapters/status"],
        STATUS,
    ),
    (
        "nvidia.com",
        &["dynamographdeploymentscalingadapters/scale"],
        STATUS,
    ),
    // DynamoModels: a finalizer added and removed, status written; their endpoints come
    // from the EndpointSlices of the model Services (read below).
    ("nvidia.com", &["dynamomodels"], FULL),
    ("nvidia.com", &["dynamomodels/status"], STATUS),
    ("nvidia.com", &["dynamomodels/finalizers"], &["update"]),
    // Granted to component pods by the per-graph discovery Role: RBAC lets the operator
    // create that Role only if it holds these itself.
    (
        "nvidia.com",
        &["dynamoworkermetadatas"],
        &[
            "create", "get", "list", "watch", "update", "patch", "delete",
        ],
    ),
    // The children: workloads, Services, ServiceAccounts, PVCs, Ingresses, discovery RBAC.
    ("apps", &["deployments"], FULL),
    ("", &["services", "serviceaccounts"], FULL),
    (
        "",
        &["persistentvolumeclaims"],
        &["get", "list", "watch", "create", "update", "patch"],
    ),
    ("networking.k8s.io", &["ingresses"], FULL),
    // Istio VirtualServices of ingresses with useVirtualService.
    ("networking.istio.io", &["virtualservices"], FULL),
    (
        "rbac.authorization.k8s.io",
        &["roles", "rolebindings"],
        FULL,
    ),
    // Multinode workloads (docs/multinode.md): Grove PodCliqueSets, which Grove expands into
    // PodCliques and scaling groups the operator reads for readiness; LeaderWorkerSets and
    // the Volcano PodGroups that gang their pods.
    ("grove.io", &["podcliquesets"], FULL),
    ("grove.io", &["podcliques", "podcliquescalinggroups"], READ),
    // A service's replicas reach Grove's children through their scale subresources (Grove
    // does not propagate a changed PodCliqueSet template to existing cliques).
    (
        "grove.io",
        &["podcliques/scale", "podcliquescalinggroups/scale"],
        STATUS,
    ),
    ("leaderworkerset.x-k8s.io", &["leaderworkersets"], FULL),
    ("scheduling.volcano.sh", &["podgroups"], FULL),
    // The MPI SSH secret TRT-LLM multinode pods mount: read in the operator's namespace and
    // copied into graph namespaces (never listed or deleted: the copies' owners delete them).
    ("", &["secrets"], &["get", "create", "update", "patch"]),
    // Also granted by the discovery Role; EndpointSlices also find DynamoModels' endpoints.
    ("", &["endpoints"], READ),
    ("discovery.k8s.io", &["endpointslices"], READ),
    // Namespace-scope markers and leader election.
    ("coordination.k8s.io", &["leases"], FULL),
    // Events about the graphs, through either API.
    ("", &["events"], EMIT),
    ("events.k8s.io", &["events"], EMIT),
];

/// The cluster-wide operator's extra rights for the conversion webhook, in a ClusterRole of
/// their own: read and patch exactly the two CRDs (CA bundle, `clientConfig`) and their
/// status (`storedVersions` after storage migration).
pub fn conversion_rules() -> Vec<Value> {
    let names = crate::cluster::conversion::CRD_NAMES;
    vec![
        json!({ "apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
                "resourceNames": names, "verbs": ["get", "patch"] }),
        json!({ "apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions/status"],
                "resourceNames": names, "verbs": ["get", "patch"] }),
    ]
}

/// The webhook's certificate Secret, in a Role in the operator's namespace: `create` cannot
/// be limited to a name, reading and rotating can.
pub fn webhook_secret_rules(secret: &str) -> Vec<Value> {
    vec![
        json!({ "apiGroups": [""], "resources": ["secrets"], "verbs": ["create"] }),
        json!({ "apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret],
                "verbs": ["get", "update"] }),
    ]
}

/// Rules only a ClusterRole can grant (cluster-scoped kinds), in a cluster-wide install only.
/// The Kai scheduler's Queues are cluster-scoped: a namespace-scoped operator cannot read them
/// and skips the check that a graph's queue exists.
const CLUSTER_RULES: &[(&str, &[&str], &[&str])] = &[("scheduling.run.ai", &["queues"], &["get"])];

/// The operator's policy rules, as RBAC writes them.
pub fn rules() -> Vec<Value> {
    RULES
        .iter()
        .map(|(group, resources, verbs)| {
            json!({ "apiGroups": [group], "resources": resources, "verbs": verbs })
        })
        .collect()
}

/// The rules a cluster-wide install adds to [`rules`] in its ClusterRole.
pub fn cluster_rules() -> Vec<Value> {
    CLUSTER_RULES
        .iter()
        .map(|(group, resources, verbs)| {
            json!({ "apiGroups": [group], "resources": resources, "verbs": verbs })
        })
        .collect()
}

/// Every `(apiGroup, resource, verb)` the rules grant, sorted: what tests compare.
pub fn scope_rules(rules: &[Value]) -> Vec<(String, String, String)> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for rule in rules {
        for g in strings(&rule["apiGroups"]) {
            for r in strings(&rule["resources"]) {
                for v in strings(&rule["verbs"]) {
                    out.push((g.clone(), r.clone(), v));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_wildcards_and_no_cluster_only_resources() {
        let granted = scope_rules(&rules());
        assert!(
            granted
                .iter()
                .all(|(g, r, v)| g != "*" && r != "*" && v != "*")
        );
        // Nothing that only makes sense cluster-wide: a Role must be able to hold it all.
        for cluster_only in [
            "namespaces",
            "nodes",
            "customresourcedefinitions",
            "clusterroles",
        ] {
            assert!(
                granted.iter().all(|(_, r, _)| r != cluster_only),
                "{cluster_only}"
            );
        }
        assert!(granted.contains(&(
            "coordination.k8s.io".into(),
            "leases".into(),
            "create".into()
        )));
        for (group, resource) in [
            ("grove.io", "podcliquesets"),
            ("leaderworkerset.x-k8s.io", "leaderworkersets"),
            ("scheduling.volcano.sh", "podgroups"),
            // Rendered for ingresses with useVirtualService, pruned when they lose it.
            ("networking.istio.io", "virtualservices"),
        ] {
            assert!(granted.contains(&(group.into(), resource.into(), "delete".into())));
        }
        for (group, resource, verb) in [
            ("", "secrets", "create"),
            ("grove.io", "podcliques/scale", "patch"),
            ("grove.io", "podcliquescalinggroups/scale", "patch"),
        ] {
            assert!(granted.contains(&(group.into(), resource.into(), verb.into())));
        }
        assert!(granted.iter().all(|(_, r, _)| r != "queues"));
        assert!(!granted.contains(&(
            "nvidia.com".into(),
            "dynamographdeployments/status".into(),
            "delete".into()
        )));
    }
}
