//! The verbs: get, list, create, update, patch (incl. server-side apply), delete,
//! deletecollection, and the status/scale subresources, over the [`Store`].
//!
//! Everything here runs under the simulator's single state lock, so each request
//! is atomic and resourceVersions are strictly increasing, as with etcd.
//! The verbs live in submodules: `read`, `write`, `scale`, `delete`.

mod delete;
pub(crate) use delete::crd_target;
mod read;
mod scale;
mod write;

use std::sync::Arc;

use serde_json::{Value, json};

use crate::fieldset::Scope;
use crate::ownership;
use crate::patch::{self, PatchKind};
use crate::registry::{Registry, ResourceType, from_crd};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{self, ApiError};
use crate::store::Store;
use crate::util::{
    Rng, hex_decode, hex_encode, now_rfc3339, validate_1035, validate_label, validate_subdomain,
};

/// The whole mutable state of the simulated cluster.
#[derive(Debug)]
pub struct State {
    /// Objects, resourceVersions and event history.
    pub store: Store,
    /// Served resource types.
    pub registry: Registry,
    /// Source of uids and generated names.
    pub rng: Rng,
    /// Set while the garbage collector runs, so deletes it issues don't re-enter it.
    pub(crate) gc_running: bool,
    /// How far the simulated clock is ahead of real time; every timestamp the
    /// server writes (creation, deletion, managedFields, conditions) uses it.
    pub clock_offset: std::time::Duration,
}

/// What a request addresses, resolved from its URL and query.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The resource type.
    pub rt: Arc<ResourceType>,
    /// The version in the URL (objects are returned with this apiVersion).
    pub version: String,
    /// Namespace from the URL, if any.
    pub namespace: Option<String>,
    /// Object name from the URL, if any.
    pub name: Option<String>,
    /// `status`, `scale` or None.
    pub subresource: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// Field manager (explicit `fieldManager`, else derived from the User-Agent).
    pub manager: String,
    /// `force=true` (apply only).
    pub force: bool,
    /// `fieldValidation` (`Strict` rejects fields a CRD schema does not declare).
    pub field_validation: Option<String>,
}

/// Options of a list or deletecollection.
#[derive(Debug, Clone, Default)]
pub struct ListOpts {
    /// `labelSelector`.
    pub label: LabelSelector,
    /// `fieldSelector`.
    pub field: FieldSelector,
    /// `limit` (0: no limit).
    pub limit: usize,
    /// `continue` token.
    pub continue_token: Option<String>,
}

/// Options of a delete (query parameters merged with a DeleteOptions body).
#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    /// `Background` (default), `Foreground` or `Orphan`.
    pub propagation: Option<String>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
}

type Res = Result<(u16, Value), ApiError>;

/// The stored object as the client asked for it: `apiVersion` set to the
/// requested version (storage holds the preferred one), converted when the
/// type shares another type's storage (events.k8s.io Events).
pub fn as_version(obj: &Value, rt: &ResourceType, version: &str) -> Value {
    let mut o = if rt.storage.is_some() {
        crate::convert::event_from_core(obj)
    } else {
        obj.clone()
    };
    o["apiVersion"] = json!(rt.api_version(version));
    o
}

/// The form an object of `rt` is stored in.
fn to_storage(rt: &ResourceType, obj: Value) -> Value {
    if rt.storage.is_some() {
        crate::convert::event_to_core(&obj)
    } else {
        obj
    }
}

fn md_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The part of an object whose change bumps `metadata.generation`.
fn spec_part(obj: &Value, rt: &ResourceType) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("apiVersion");
        m.remove("kind");
        if rt.status {
            m.remove("status");
        }
    }
    o
}

/// Equality that ignores managedFields timestamps and resourceVersion, used to
/// detect no-op writes (the real server skips those: no new resourceVersion).
fn same_content(a: &Value, b: &Value) -> bool {
    let norm = |v: &Value| {
        let mut v = v.clone();
        if let Some(md) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            md.remove("resourceVersion");
            if let Some(Value::Array(mf)) = md.get_mut("managedFields") {
                for e in mf.iter_mut() {
                    if let Some(e) = e.as_object_mut() {
                        e.remove("time");
                    }
                }
            }
        }
        v
    };
    norm(a) == norm(b)
}

impl State {
    /// A fresh cluster: built-in kinds, namespaces `default`, `kube-system`, `kube-public`, `kube-node-lease`.
    pub fn new(history_limit: usize, seed: Option<u64>) -> State {
        let mut s = State {
            store: Store::new(history_limit),
            registry: Registry::with_builtins(),
            rng: Rng::new(seed),
            gc_running: false,
            clock_offset: std::time::Duration::ZERO,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = s.new_namespace(ns);
            s.store.put("", "namespaces", obj);
        }
        s
    }

    /// The simulated clock's current time, RFC 3339 with seconds.
    pub fn now(&self) -> String {
        crate::util::rfc3339_at(self.clock_offset)
    }

    fn new_namespace(&mut self, name: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "uid": self.rng.uuid(), "creationTimestamp": self.now(), "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        })
    }

    fn check_namespace(&self, ctx: &Ctx, name: &str) -> Result<String, ApiError> {
        if !ctx.rt.namespaced {
            return Ok(String::new());
        }
        let ns = ctx.namespace.clone().ok_or_else(|| {
            status::method_not_allowed(
                "the server does not allow this method on the requested resource",
            )
        })?;
        match self.store.get("", "namespaces", "", &ns) {
            None => Err(status::not_found("", "namespaces", &ns)),
            Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
                Err(status::forbidden(
                    &ctx.rt.group,
                    &ctx.rt.plural,
                    name,
                    &format!(
                        "unable to create new content in namespace {ns} because it is being terminated"
                    ),
                ))
            }
            Some(_) => Ok(ns),
        }
    }

    fn validate_name(&self, rt: &ResourceType, name: &str, obj: &Value) -> Result<(), ApiError> {
        let res = match rt.plural.as_str() {
            "namespaces" => validate_label(name),
            "services" => validate_1035(name),
            "customresourcedefinitions" => {
                let want = format!(
                    "{}.{}",
                    obj.pointer("/spec/names/plural")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    obj.pointer("/spec/group")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                );
                if name == want {
                    validate_subdomain(name)
                } else {
                    Err(format!(
                        "Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"
                    ))
                }
            }
            _ => validate_subdomain(name),
        };
        res.map_err(|m| status::invalid(&rt.group, &rt.kind, name, "metadata.name", &m))
    }

    fn check_type_meta(&self, ctx: &Ctx, body: &Value) -> Result<(), ApiError> {
        if !body.is_object() {
            return Err(status::bad_request(
                "the body of the request was not a JSON object",
            ));
        }
        check_object_meta(body)?;
        if let Some(kind) = body.get("kind").and_then(Value::as_str)
            && kind != ctx.rt.kind
        {
            return Err(status::bad_request(format!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                ctx.rt.kind
            )));
        }
        if let Some(av) = body.get("apiVersion").and_then(Value::as_str) {
            let want = ctx.rt.api_version(&ctx.version);
            if av != want && !ctx.rt.versions.iter().any(|v| ctx.rt.api_version(v) == av) {
                return Err(status::bad_request(format!(
                    "the API version in the data ({av}) does not match the expected API version ({want})"
                )));
            }
        }
        if let (Some(url_ns), Some(body_ns)) = (
            ctx.namespace.as_deref(),
            md_str(body, "namespace").filter(|n| !n.is_empty()),
        ) && ctx.rt.namespaced
            && url_ns != body_ns
        {
            return Err(status::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        Ok(())
    }

    /// Drops fields a custom resource's schema does not declare (structural
    /// pruning); with `fieldValidation=Strict` they are an error instead.
    fn prune_custom(&self, ctx: &Ctx, obj: &mut Value) -> Result<(), ApiError> {
        let Some(schema) = ctx.rt.schema(&ctx.version) else {
            return Ok(());
        };
        let mut pruned = Vec::new();
        crate::defaults::prune(obj, schema, "", true, &mut pruned);
        if !pruned.is_empty() && ctx.field_validation.as_deref() == Some("Strict") {
            let fields: Vec<String> = pruned
                .iter()
                .map(|p| format!("unknown field \"{}\"", p.trim_start_matches('.')))
                .collect();
            return Err(status::bad_request(format!(
                "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                fields.join(", "),
                kind = ctx.rt.kind,
                v = ctx.version
            )));
        }
        Ok(())
    }

    /// Server-side defaults (built-in kinds, or the CRD schema's `default:`s).
    fn default_fields(ctx: &Ctx, obj: &mut Value) {
        crate::defaults::apply(&ctx.rt, obj, ctx.rt.schema(&ctx.version));
    }

    // ---- shared by the verb modules ---------------------------------------

    fn existing(&self, ctx: &Ctx) -> Result<Arc<Value>, ApiError> {
        let name = ctx.name.as_deref().unwrap_or_default();
        let ns = if ctx.rt.namespaced {
            ctx.namespace.as_deref().unwrap_or_default()
        } else {
            ""
        };
        self.store
            .get(ctx.rt.storage_key().0, ctx.rt.storage_key().1, ns, name)
            .map(|o| {
                if ctx.rt.storage.is_some() {
                    Arc::new(as_version(&o, &ctx.rt, &ctx.version))
                } else {
                    o
                }
            })
            .ok_or_else(|| status::not_found(&ctx.rt.group, &ctx.rt.plural, name))
    }

    fn scope(ctx: &Ctx) -> Scope {
        match ctx.subresource.as_deref() {
            Some("status") => Scope::StatusOnly,
            _ if ctx.rt.status => Scope::NoStatus,
            _ => Scope::All,
        }
    }
}

/// Rejects bodies whose ObjectMeta (or status) has the wrong JSON types, with
/// the decode error the real server gives (it decodes into typed structs).
fn check_object_meta(body: &Value) -> Result<(), ApiError> {
    let bad = |field: &str, want: &str| {
        Err(status::bad_request(format!(
            "json: cannot unmarshal into Go struct field ObjectMeta.metadata.{field} of type {want}"
        )))
    };
    if body
        .get("status")
        .is_some_and(|s| !s.is_object() && !s.is_null())
    {
        return Err(status::bad_request(
            "json: cannot unmarshal into Go struct field .status of type object",
        ));
    }
    let Some(md) = body.get("metadata") else {
        return Ok(());
    };
    let Some(md) = md.as_object() else {
        return Err(status::bad_request(
            "json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta",
        ));
    };
    for f in [
        "name",
        "namespace",
        "generateName",
        "resourceVersion",
        "uid",
    ] {
        if md.get(f).is_some_and(|v| !v.is_string() && !v.is_null()) {
            return bad(f, "string");
        }
    }
    for f in ["labels", "annotations"] {
        if let Some(v) = md.get(f).filter(|v| !v.is_null())
            && !v
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string))
        {
            return bad(f, "map[string]string");
        }
    }
    if let Some(v) = md.get("finalizers").filter(|v| !v.is_null())
        && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    {
        return bad("finalizers", "[]string");
    }
    if let Some(v) = md.get("ownerReferences").filter(|v| !v.is_null())
        && !v.as_array().is_some_and(|a| a.iter().all(Value::is_object))
    {
        return bad("ownerReferences", "[]v1.OwnerReference");
    }
    Ok(())
}

/// Combines the old object and a written body according to the scope:
/// main-resource writes keep the old status (when the kind has a status
/// subresource), status writes keep everything but status.
fn merge_scoped(old: &Value, body: &Value, scope: Scope) -> Value {
    match scope {
        Scope::All => body.clone(),
        Scope::NoStatus => {
            let mut n = body.clone();
            match old.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    n.as_object_mut().map(|m| m.remove("status"));
                }
            }
            n
        }
        Scope::StatusOnly => {
            let mut n = old.clone();
            match body.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    n.as_object_mut().map(|m| m.remove("status"));
                }
            }
            // managedFields travel with the write (apply computes them on the full object).
            if let Some(mf) = body.pointer("/metadata/managedFields") {
                n["metadata"]["managedFields"] = mf.clone();
            }
            n
        }
    }
}

/// The status a CRD gets once accepted: `NamesAccepted` and `Established`.
fn crd_status(obj: &Value, t: &ResourceType) -> Value {
    let now = obj
        .pointer("/metadata/creationTimestamp")
        .cloned()
        .unwrap_or(json!(now_rfc3339()));
    json!({
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "acceptedNames": obj.pointer("/spec/names").cloned().unwrap_or(json!({})),
        "storedVersions": [t.preferred_version()],
    })
}
