//! The catalogue of served resource types: built-in kinds plus the kinds that
//! CustomResourceDefinitions add at run time.
//!
//! One [`ResourceType`] per (group, plural); a CRD with several served versions
//! serves the same stored objects under each version (no conversion webhooks:
//! only `apiVersion` is rewritten, which is what `conversion.strategy: None` does).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

/// Where a CRD's scale subresource reads and writes replicas.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleSpec {
    /// JSON path of the desired replicas, e.g. `.spec.replicas`.
    pub spec_replicas_path: String,
    /// JSON path of the observed replicas, e.g. `.status.replicas`.
    pub status_replicas_path: String,
    /// Optional JSON path of a label selector string.
    pub label_selector_path: Option<String>,
}

/// A served resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: String,
    /// Served versions; the first is the preferred (and storage) version.
    pub versions: Vec<String>,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Plural resource name used in URLs, e.g. `deployments`.
    pub plural: String,
    /// Singular name, e.g. `deployment`.
    pub singular: String,
    /// Namespaced (true) or cluster-scoped (false).
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: Vec<String>,
    /// Whether the kind has a `/status` subresource (then main-resource writes ignore status).
    pub status: bool,
    /// Scale subresource, if any.
    pub scale: Option<ScaleSpec>,
    /// Whether `metadata.generation` is maintained (bumped on spec changes).
    pub generation: bool,
    /// Whether a completed DELETE answers with the object instead of a Success Status.
    pub return_deleted_object: bool,
    /// Defined by a CRD (true) or built in (false).
    pub custom: bool,
    /// kubectl categories (e.g. `all`).
    pub categories: Vec<String>,
    /// CRD `openAPIV3Schema` per version (empty for built-in kinds).
    pub schemas: Vec<(String, Value)>,
    /// (group, plural) of the type whose storage this one shares, converting
    /// on the way in and out (events.k8s.io Events live with core Events).
    pub storage: Option<(String, String)>,
    /// CRD `additionalPrinterColumns` per version (for `kubectl get` tables).
    pub printer_columns: Vec<(String, Vec<Value>)>,
}

impl ResourceType {
    /// `group/version` or `version` for the core group.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// The preferred version.
    pub fn preferred_version(&self) -> &str {
        &self.versions[0]
    }

    /// The (group, plural) under which objects of this type are stored.
    pub fn storage_key(&self) -> (&str, &str) {
        match &self.storage {
            Some((g, p)) => (g, p),
            None => (&self.group, &self.plural),
        }
    }

    /// The CRD schema of a version, if this is a custom resource with one.
    pub fn schema(&self, version: &str) -> Option<&Value> {
        self.schemas
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, s)| s)
    }
}

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
    short: &[&str],
    status: bool,
    generation: bool,
) -> ResourceType {
    ResourceType {
        group: group.into(),
        versions: vec![version.into()],
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
        status,
        scale: None,
        generation,
        return_deleted_object: false,
        custom: false,
        categories: vec![],
        schemas: vec![],
        storage: None,
        printer_columns: vec![],
    }
}

/// The built-in kinds this simulator serves.
pub fn builtins() -> Vec<ResourceType> {
    let replicas_scale = Some(ScaleSpec {
        spec_replicas_path: ".spec.replicas".into(),
        status_replicas_path: ".status.replicas".into(),
        label_selector_path: Some(".spec.selector".into()),
    });
    let mut v = vec![
        builtin(
            "",
            "v1",
            "Namespace",
            "namespaces",
            false,
            &["ns"],
            true,
            false,
        ),
        builtin(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            true,
            &["cm"],
            false,
            false,
        ),
        builtin("", "v1", "Secret", "secrets", true, &[], false, false),
        builtin("", "v1", "Service", "services", true, &["svc"], true, false),
        builtin(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            &["sa"],
            false,
            false,
        ),
        builtin(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
            &["pvc"],
            true,
            false,
        ),
        builtin("", "v1", "Pod", "pods", true, &["po"], true, false),
        builtin("", "v1", "Event", "events", true, &["ev"], false, false),
        builtin(
            "",
            "v1",
            "Endpoints",
            "endpoints",
            true,
            &["ep"],
            false,
            false,
        ),
        builtin("", "v1", "Node", "nodes", false, &["no"], true, false),
        // Stored only: no controller derives them from Services (tests write their own).
        builtin(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            true,
            &[],
            false,
            false,
        ),
        builtin(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            &["deploy"],
            true,
            true,
        ),
        builtin(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            true,
            &["sts"],
            true,
            true,
        ),
        builtin(
            "apps",
            "v1",
            "DaemonSet",
            "daemonsets",
            true,
            &["ds"],
            true,
            true,
        ),
        builtin(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            true,
            &["rs"],
            true,
            true,
        ),
        builtin("batch", "v1", "Job", "jobs", true, &[], true, true),
        builtin(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            &[],
            false,
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            &[],
            false,
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            &[],
            false,
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            &[],
            false,
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            &[],
            false,
            false,
        ),
        // Stored, not enforced: the real control plane tests what the policies do.
        builtin(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicy",
            "validatingadmissionpolicies",
            false,
            &[],
            true,
            true,
        ),
        builtin(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicyBinding",
            "validatingadmissionpolicybindings",
            false,
            &[],
            false,
            true,
        ),
        builtin(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            true,
            &["ing"],
            true,
            true,
        ),
        builtin(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
            &["pdb"],
            true,
            true,
        ),
        builtin(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            true,
            &["ev"],
            false,
            false,
        ),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            &["crd", "crds"],
            true,
            true,
        ),
    ];
    for r in v.iter_mut() {
        match r.plural.as_str() {
            "deployments" | "statefulsets" | "replicasets" => r.scale = replicas_scale.clone(),
            "pods" => r.return_deleted_object = true,
            "events" if r.group == "events.k8s.io" => {
                r.storage = Some((String::new(), "events".into()))
            }
            _ => {}
        }
        if matches!(
            r.plural.as_str(),
            "pods"
                | "services"
                | "deployments"
                | "statefulsets"
                | "daemonsets"
                | "replicasets"
                | "jobs"
        ) {
            r.categories = vec!["all".into()];
        }
    }
    v
}

/// Builds the resource type a CRD object declares. Returns a message on a malformed CRD.
pub fn from_crd(crd: &Value) -> Result<ResourceType, String> {
    let spec = crd.get("spec").ok_or("spec: Required value")?;
    let group = spec["group"]
        .as_str()
        .ok_or("spec.group: Required value")?
        .to_string();
    let names = &spec["names"];
    let plural = names["plural"]
        .as_str()
        .ok_or("spec.names.plural: Required value")?
        .to_string();
    let kind = names["kind"]
        .as_str()
        .ok_or("spec.names.kind: Required value")?
        .to_string();
    let singular = names["singular"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let namespaced = match spec["scope"].as_str() {
        Some("Namespaced") => true,
        Some("Cluster") => false,
        _ => return Err("spec.scope: Unsupported value: must be Namespaced or Cluster".into()),
    };
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let versions = spec["versions"]
        .as_array()
        .ok_or("spec.versions: Required value")?;
    if versions.is_empty() {
        return Err(
            "spec.versions: Invalid value: must have exactly one version marked as storage version"
                .into(),
        );
    }
    let mut served = Vec::new();
    let mut storage_first = None;
    let mut status = false;
    let mut scale = None;
    let mut schemas = Vec::new();
    let mut printer_columns = Vec::new();
    for ver in versions {
        let name = ver["name"]
            .as_str()
            .ok_or("spec.versions[].name: Required value")?
            .to_string();
        if ver["served"].as_bool() == Some(true) {
            if ver["storage"].as_bool() == Some(true) {
                storage_first = Some(name.clone());
            } else {
                served.push(name.clone());
            }
        }
        if let Some(schema) = ver.pointer("/schema/openAPIV3Schema") {
            schemas.push((name.clone(), schema.clone()));
        }
        if let Some(cols) = ver
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
        {
            printer_columns.push((name.clone(), cols.clone()));
        }
        let sub = &ver["subresources"];
        if sub.get("status").is_some() {
            status = true;
        }
        if let Some(sc) = sub.get("scale") {
            scale = Some(ScaleSpec {
                spec_replicas_path: sc["specReplicasPath"]
                    .as_str()
                    .unwrap_or(".spec.replicas")
                    .into(),
                status_replicas_path: sc["statusReplicasPath"]
                    .as_str()
                    .unwrap_or(".status.replicas")
                    .into(),
                label_selector_path: sc["labelSelectorPath"].as_str().map(str::to_string),
            });
        }
    }
    if let Some(s) = storage_first {
        served.insert(0, s);
    }
    if served.is_empty() {
        return Err("spec.versions: Invalid value: at least one version must be served".into());
    }
    Ok(ResourceType {
        group,
        versions: served,
        kind,
        plural,
        singular,
        namespaced,
        short_names: strs(&names["shortNames"]),
        status,
        scale,
        generation: true,
        return_deleted_object: true,
        custom: true,
        categories: strs(&names["categories"]),
        schemas,
        storage: None,
        printer_columns,
    })
}

/// Lookup of served types by (group, plural).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: BTreeMap<(String, String), Arc<ResourceType>>,
}

impl Registry {
    /// A registry holding the built-in kinds.
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        for t in builtins() {
            r.insert(t);
        }
        r
    }

    /// Adds or replaces a type.
    pub fn insert(&mut self, t: ResourceType) {
        self.types
            .insert((t.group.clone(), t.plural.clone()), Arc::new(t));
    }

    /// Removes a type.
    pub fn remove(&mut self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types.remove(&(group.to_string(), plural.to_string()))
    }

    /// The type served at `group/version` under `plural`, if the version is served.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .get(&(group.to_string(), plural.to_string()))
            .filter(|t| t.versions.iter().any(|v| v == version))
            .cloned()
    }

    /// The type for (group, plural) regardless of version.
    pub fn get(&self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .get(&(group.to_string(), plural.to_string()))
            .cloned()
    }

    /// All types, ordered by (group, plural).
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.types.values()
    }

    /// Whether any type serves `group/version`.
    pub fn serves_group_version(&self, group: &str, version: &str) -> bool {
        self.types
            .values()
            .any(|t| t.group == group && t.versions.iter().any(|v| v == version))
    }
}
