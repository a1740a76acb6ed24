//! The verbs: get, list, create, update, patch (incl. server-side apply), delete,
//! deletecollection, and the status/scale subresources, over the [`Store`].
//!
//! Everything here runs under the simulator's single state lock, so each request
//! is atomic and resourceVersions are strictly increasing, as with etcd.

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

    // ---- reads ------------------------------------------------------------

    /// GET one object (or its status/scale view).
    pub fn get(&self, ctx: &Ctx) -> Res {
        let name = ctx.name.as_deref().unwrap_or_default();
        let ns = ctx.namespace.as_deref().unwrap_or_default();
        let obj = self
            .store
            .get(
                ctx.rt.storage_key().0,
                ctx.rt.storage_key().1,
                if ctx.rt.namespaced { ns } else { "" },
                name,
            )
            .ok_or_else(|| status::not_found(&ctx.rt.group, &ctx.rt.plural, name))?;
        if ctx.subresource.as_deref() == Some("scale") {
            return Ok((200, self.scale_view(&ctx.rt, &obj)?));
        }
        Ok((200, as_version(&obj, &ctx.rt, &ctx.version)))
    }

    /// LIST with selectors and pagination. Pages are cut from the current state
    /// (the real server serves every page from the first page's snapshot).
    pub fn list(&self, ctx: &Ctx, opts: &ListOpts) -> Res {
        let ns = if ctx.rt.namespaced {
            ctx.namespace.as_deref()
        } else {
            None
        };
        let mut after = None;
        if let Some(tok) = &opts.continue_token {
            let decoded = hex_decode(tok).ok_or_else(|| {
                status::bad_request("continue key is not valid: illegal base64 data")
            })?;
            let (rv, rest) = decoded
                .split_once(':')
                .ok_or_else(|| status::bad_request("continue key is not valid"))?;
            let rv: u64 = rv
                .parse()
                .map_err(|_| status::bad_request("continue key is not valid"))?;
            if rv < self.store.compacted_rv() {
                return Err(status::expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                ));
            }
            let (kns, kname) = rest
                .split_once('/')
                .ok_or_else(|| status::bad_request("continue key is not valid"))?;
            after = Some((kns.to_string(), kname.to_string()));
        }
        let mut items = Vec::new();
        let mut last_key = None;
        let mut remaining = 0usize;
        for (k, o) in self.store.iter(
            ctx.rt.storage_key().0,
            ctx.rt.storage_key().1,
            ns,
            after.as_ref(),
        ) {
            let converted;
            let o = if ctx.rt.storage.is_some() {
                converted = Arc::new(as_version(o, &ctx.rt, &ctx.version));
                &converted
            } else {
                o
            };
            if !opts.label.matches(o) || !opts.field.matches(o) {
                continue;
            }
            if opts.limit > 0 && items.len() >= opts.limit {
                remaining += 1;
                continue;
            }
            let mut item = as_version(o, &ctx.rt, &ctx.version);
            if !ctx.rt.custom
                && let Some(m) = item.as_object_mut()
            {
                // Typed lists from the real server carry no per-item apiVersion/kind
                // (only custom resources, served as unstructured, do).
                m.remove("apiVersion");
                m.remove("kind");
            }
            items.push(item);
            last_key = Some(k.clone());
        }
        let rv = self.store.current_rv();
        let mut meta = json!({ "resourceVersion": rv.to_string() });
        if remaining > 0
            && let Some((kns, kname)) = last_key
        {
            meta["continue"] = json!(hex_encode(&format!("{rv}:{kns}/{kname}")));
            meta["remainingItemCount"] = json!(remaining);
        }
        Ok((
            200,
            json!({ "kind": format!("{}List", ctx.rt.kind), "apiVersion": ctx.rt.api_version(&ctx.version), "metadata": meta, "items": items }),
        ))
    }

    // ---- create -----------------------------------------------------------

    /// POST: create an object.
    pub fn create(&mut self, ctx: &Ctx, body: Value) -> Res {
        if ctx.subresource.is_some() {
            return Err(status::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
        self.check_type_meta(ctx, &body)?;
        let mut obj = body;
        self.prune_custom(ctx, &mut obj)?;
        let name = match md_str(&obj, "name").filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => match md_str(&obj, "generateName").filter(|n| !n.is_empty()) {
                Some(prefix) => format!("{prefix}{}", self.rng.name_suffix()),
                None => {
                    return Err(status::invalid(
                        &ctx.rt.group,
                        &ctx.rt.kind,
                        "",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    ));
                }
            },
        };
        self.validate_name(&ctx.rt, &name, &obj)?;
        if md_str(&obj, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
            // What etcd storage answers upstream (a 500, famously).
            return Err(status::internal(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        let ns = self.check_namespace(ctx, &name)?;
        if self
            .store
            .get(ctx.rt.storage_key().0, ctx.rt.storage_key().1, &ns, &name)
            .is_some()
        {
            return Err(status::already_exists(&ctx.rt.group, &ctx.rt.plural, &name));
        }
        if obj.get("metadata").is_none_or(|m| !m.is_object()) {
            obj["metadata"] = json!({});
        }
        {
            let md = obj["metadata"]
                .as_object_mut()
                .expect("metadata is an object");
            md.insert("name".into(), json!(name));
            if ctx.rt.namespaced {
                md.insert("namespace".into(), json!(ns));
            } else {
                md.remove("namespace");
            }
            for k in [
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
                "managedFields",
            ] {
                md.remove(k);
            }
            md.insert("uid".into(), json!(self.rng.uuid()));
            md.insert("creationTimestamp".into(), json!(self.now()));
            if ctx.rt.generation {
                md.insert("generation".into(), json!(1));
            } else {
                md.remove("generation");
            }
        }
        obj["apiVersion"] = json!(ctx.rt.api_version(ctx.rt.preferred_version()));
        obj["kind"] = json!(ctx.rt.kind);
        if ctx.rt.status
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        let scope = if ctx.rt.status {
            Scope::NoStatus
        } else {
            Scope::All
        };
        Self::default_fields(ctx, &mut obj);
        ownership::record_update(
            None,
            &mut obj,
            &ctx.manager,
            scope,
            ctx.rt.schema(&ctx.version),
            &self.now(),
        );
        self.defaults_on_create(&ctx.rt, &mut obj)?;
        self.commit_create(ctx, obj)
    }

    /// Server-set fields on create (namespace phase, CRD conditions).
    fn defaults_on_create(&mut self, rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
        match (rt.group.as_str(), rt.plural.as_str()) {
            ("", "namespaces") => {
                let name = md_str(obj, "name").unwrap_or_default().to_string();
                obj["status"] = json!({"phase": "Active"});
                if obj.pointer("/spec/finalizers").is_none() {
                    obj["spec"]["finalizers"] = json!(["kubernetes"]);
                }
                obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            }
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                let t = from_crd(obj).map_err(|m| {
                    status::invalid(
                        &rt.group,
                        &rt.kind,
                        md_str(obj, "name").unwrap_or_default(),
                        "spec",
                        &m,
                    )
                })?;
                obj["status"] = crd_status(obj, &t);
            }
            _ => {}
        }
        Ok(())
    }

    fn commit_create(&mut self, ctx: &Ctx, obj: Value) -> Res {
        if ctx.dry_run {
            // A dry-run create is never stored, so it has no resourceVersion.
            return Ok((201, as_version(&obj, &ctx.rt, &ctx.version)));
        }
        let (g, p) = ctx.rt.storage_key();
        let stored = self.store.put(g, p, to_storage(&ctx.rt, obj));
        self.after_write(&ctx.rt, &stored);
        Ok((201, as_version(&stored, &ctx.rt, &ctx.version)))
    }

    /// Side effects of a stored write: CRDs start (or change) serving their kind.
    fn after_write(&mut self, rt: &ResourceType, obj: &Value) {
        if rt.group == "apiextensions.k8s.io"
            && rt.plural == "customresourcedefinitions"
            && obj.pointer("/metadata/deletionTimestamp").is_none()
            && let Ok(t) = from_crd(obj)
        {
            self.registry.insert(t);
        }
    }

    // ---- update / patch -----------------------------------------------------

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

    /// PUT: replace an object (or its status / scale).
    pub fn update(&mut self, ctx: &Ctx, body: Value) -> Res {
        if ctx.subresource.as_deref() == Some("scale") {
            return self.update_scale(ctx, |_| Ok(body));
        }
        self.check_type_meta(ctx, &body)?;
        let old = self.existing(ctx)?;
        let name = ctx.name.as_deref().unwrap_or_default();
        if let Some(n) = md_str(&body, "name")
            && n != name
        {
            return Err(status::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        if let Some(rv) = md_str(&body, "resourceVersion")
            && !rv.is_empty()
            && Some(rv) != md_str(&old, "resourceVersion")
        {
            return Err(status::conflict_stale(&ctx.rt.group, &ctx.rt.plural, name));
        }
        if let Some(uid) = md_str(&body, "uid").filter(|u| !u.is_empty())
            && Some(uid) != md_str(&old, "uid")
        {
            return Err(status::conflict_precondition(
                &ctx.rt.group,
                &ctx.rt.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    md_str(&old, "uid").unwrap_or_default()
                ),
            ));
        }
        let mut body = body;
        self.prune_custom(ctx, &mut body)?;
        let new = merge_scoped(&old, &body, Self::scope(ctx));
        self.finish_update(ctx, &old, new, None)
    }

    /// PATCH with any of the four patch types.
    pub fn patch(&mut self, ctx: &Ctx, kind: PatchKind, body: Value) -> Res {
        if ctx.subresource.as_deref() == Some("scale") {
            if kind == PatchKind::Apply {
                return Err(status::bad_request(
                    "server-side apply is not supported on the scale subresource by this simulator",
                ));
            }
            return self.update_scale(ctx, |mut scale| {
                patch::apply_patch(kind, &mut scale, &body)?;
                Ok(scale)
            });
        }
        if kind == PatchKind::Apply {
            return self.apply(ctx, body);
        }
        if kind == PatchKind::Strategic && ctx.rt.custom {
            // Upstream: custom resources have no strategic-merge metadata, so the
            // server does not accept that patch type for them.
            return Err(status::unsupported_media_type(
                "application/strategic-merge-patch+json",
            ));
        }
        let old = self.existing(ctx)?;
        let mut patched = as_version(&old, &ctx.rt, &ctx.version);
        patch::apply_patch(kind, &mut patched, &body)?;
        self.check_type_meta(ctx, &patched)?;
        self.prune_custom(ctx, &mut patched)?;
        if let Some(rv) = md_str(&patched, "resourceVersion")
            && Some(rv) != md_str(&old, "resourceVersion")
        {
            return Err(status::conflict_stale(
                &ctx.rt.group,
                &ctx.rt.plural,
                ctx.name.as_deref().unwrap_or_default(),
            ));
        }
        let new = merge_scoped(&old, &patched, Self::scope(ctx));
        self.finish_update(ctx, &old, new, None)
    }

    /// Server-side apply (PATCH with `application/apply-patch+yaml`).
    fn apply(&mut self, ctx: &Ctx, body: Value) -> Res {
        let name = ctx.name.clone().unwrap_or_default();
        if !body.is_object() {
            return Err(status::bad_request(
                "error decoding YAML: the applied configuration must be an object",
            ));
        }
        if body
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
            || body
                .get("kind")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            return Err(status::bad_request("invalid object type: /, Kind="));
        }
        self.check_type_meta(ctx, &body)?;
        let mut body = body;
        self.prune_custom(ctx, &mut body)?;
        if body
            .pointer("/metadata/managedFields")
            .is_some_and(|v| !v.is_null())
        {
            return Err(status::bad_request("metadata.managedFields must be nil"));
        }
        if let Some(n) = md_str(&body, "name")
            && n != name
        {
            return Err(status::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        let scope = Self::scope(ctx);
        let now = self.now();
        match self.existing(ctx).ok() {
            None => {
                if scope == Scope::StatusOnly {
                    return Err(status::not_found(&ctx.rt.group, &ctx.rt.plural, &name));
                }
                if md_str(&body, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
                    // A resourceVersion precondition cannot hold for an object that does not exist.
                    return Err(status::conflict_stale(&ctx.rt.group, &ctx.rt.plural, &name));
                }
                let mut applied = body;
                applied["metadata"]["name"] = json!(name);
                let mut merged = ownership::apply(
                    None,
                    &applied,
                    &ctx.manager,
                    ctx.force,
                    scope,
                    ctx.rt.schema(&ctx.version),
                    &now,
                )?;
                // Create through the normal path, keeping the Apply ownership.
                let managed = merged.pointer("/metadata/managedFields").cloned();
                merged["metadata"]
                    .as_object_mut()
                    .map(|m| m.remove("managedFields"));
                let (code, created) = self.create_with_managed(ctx, merged, managed)?;
                Ok((code, as_version(&created, &ctx.rt, &ctx.version)))
            }
            Some(old) => {
                if let Some(rv) = md_str(&body, "resourceVersion")
                    && Some(rv) != md_str(&old, "resourceVersion")
                {
                    return Err(status::conflict_stale(&ctx.rt.group, &ctx.rt.plural, &name));
                }
                let live = as_version(&old, &ctx.rt, &ctx.version);
                let merged = ownership::apply(
                    Some(&live),
                    &body,
                    &ctx.manager,
                    ctx.force,
                    scope,
                    ctx.rt.schema(&ctx.version),
                    &now,
                )?;
                let mf = merged.pointer("/metadata/managedFields").cloned();
                let new = merge_scoped(&old, &merged, scope);
                self.finish_update(ctx, &old, new, Some(mf.unwrap_or(Value::Null)))
            }
        }
    }

    fn create_with_managed(&mut self, ctx: &Ctx, obj: Value, managed: Option<Value>) -> Res {
        // Validate and fill like POST, then restore the Apply managedFields.
        let ctx2 = Ctx {
            dry_run: true,
            ..ctx.clone()
        };
        let (_, mut created) = self.create(&ctx2, obj)?;
        match managed {
            Some(m) => created["metadata"]["managedFields"] = m,
            None => {
                created["metadata"]
                    .as_object_mut()
                    .map(|m| m.remove("managedFields"));
            }
        }
        created["apiVersion"] = json!(ctx.rt.api_version(ctx.rt.preferred_version()));
        self.commit_create(ctx, created)
    }

    /// Common tail of PUT/PATCH/apply: immutable metadata, managedFields,
    /// generation, no-op detection, finalizer-driven removal, storing.
    /// `managed`: the managedFields an apply computed (None: record an Update).
    fn finish_update(
        &mut self,
        ctx: &Ctx,
        old: &Arc<Value>,
        mut new: Value,
        managed: Option<Value>,
    ) -> Res {
        let rt = ctx.rt.clone();
        new["apiVersion"] = json!(rt.api_version(rt.preferred_version()));
        new["kind"] = json!(rt.kind);
        if new.get("metadata").is_none_or(|m| !m.is_object()) {
            new["metadata"] = json!({});
        }
        for k in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "resourceVersion",
        ] {
            match old["metadata"].get(k) {
                Some(v) => new["metadata"][k] = v.clone(),
                None => {
                    new["metadata"].as_object_mut().map(|m| m.remove(k));
                }
            }
        }
        // Defaults before ownership: an Update manager owns the defaulted fields
        // it caused (as upstream), an Apply manager only what it applied.
        Self::default_fields(ctx, &mut new);
        let scope = Self::scope(ctx);
        match managed {
            Some(Value::Null) => {
                new["metadata"]
                    .as_object_mut()
                    .map(|m| m.remove("managedFields"));
            }
            Some(mf) => new["metadata"]["managedFields"] = mf,
            None => {
                let old_v = as_version(old, &rt, &ctx.version);
                let mut nv = as_version(&new, &rt, &ctx.version);
                ownership::record_update(
                    Some(&old_v),
                    &mut nv,
                    &ctx.manager,
                    scope,
                    rt.schema(&ctx.version),
                    &self.now(),
                );
                match nv.pointer("/metadata/managedFields") {
                    Some(mf) => new["metadata"]["managedFields"] = mf.clone(),
                    None => {
                        new["metadata"]
                            .as_object_mut()
                            .map(|m| m.remove("managedFields"));
                    }
                }
            }
        }
        if rt.generation && spec_part(old, &rt) != spec_part(&new, &rt) {
            let g = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            new["metadata"]["generation"] = json!(g + 1);
        }
        if rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions" {
            let t = from_crd(&new).map_err(|m| {
                status::invalid(
                    &rt.group,
                    &rt.kind,
                    ctx.name.as_deref().unwrap_or_default(),
                    "spec",
                    &m,
                )
            })?;
            if scope != Scope::StatusOnly {
                new["status"] = crd_status(&new, &t);
            }
        }
        if same_content(old, &new) {
            return Ok((200, as_version(old, &rt, &ctx.version)));
        }
        let terminating = new.pointer("/metadata/deletionTimestamp").is_some();
        if ctx.dry_run {
            return Ok((200, as_version(&new, &rt, &ctx.version)));
        }
        if terminating && finalizers(&new).is_empty() {
            let ns = md_str(&new, "namespace").unwrap_or_default().to_string();
            let name = md_str(&new, "name").unwrap_or_default().to_string();
            let stored = self
                .store
                .remove_with(
                    rt.storage_key().0,
                    rt.storage_key().1,
                    &ns,
                    &name,
                    Some(to_storage(&rt, new)),
                )
                .ok_or_else(|| status::not_found(&rt.group, &rt.plural, &name))?;
            self.finalize_removal(&rt, &stored);
            self.gc();
            return Ok((200, as_version(&stored, &rt, &ctx.version)));
        }
        let stored = self
            .store
            .put(rt.storage_key().0, rt.storage_key().1, to_storage(&rt, new));
        self.after_write(&rt, &stored);
        if terminating {
            self.gc();
        }
        Ok((200, as_version(&stored, &rt, &ctx.version)))
    }

    // ---- scale ----------------------------------------------------------------

    fn scale_paths(rt: &ResourceType) -> Result<crate::registry::ScaleSpec, ApiError> {
        rt.scale.clone().ok_or_else(status::no_such_resource)
    }

    fn scale_view(&self, rt: &ResourceType, obj: &Value) -> Result<Value, ApiError> {
        let sc = Self::scale_paths(rt)?;
        let get = |p: &str| obj.pointer(&p.replace('.', "/")).cloned();
        let selector = sc
            .label_selector_path
            .as_deref()
            .and_then(get)
            .map(|s| match s {
                Value::String(s) => s,
                Value::Object(_) => s
                    .get("matchLabels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            });
        let md = &obj["metadata"];
        let mut status = json!({ "replicas": get(&sc.status_replicas_path).and_then(|v| v.as_i64()).unwrap_or(0) });
        if let Some(s) = selector {
            status["selector"] = json!(s);
        }
        Ok(json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": { "name": md["name"], "namespace": md["namespace"], "uid": md["uid"], "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"] },
            "spec": { "replicas": get(&sc.spec_replicas_path).and_then(|v| v.as_i64()).unwrap_or(0) },
            "status": status,
        }))
    }

    fn update_scale(&mut self, ctx: &Ctx, f: impl FnOnce(Value) -> Result<Value, ApiError>) -> Res {
        let sc = Self::scale_paths(&ctx.rt)?;
        let old = self.existing(ctx)?;
        let view = self.scale_view(&ctx.rt, &old)?;
        let new_scale = f(view)?;
        if let Some(rv) = md_str(&new_scale, "resourceVersion")
            && Some(rv) != md_str(&old, "resourceVersion")
        {
            return Err(status::conflict_stale(
                &ctx.rt.group,
                &ctx.rt.plural,
                ctx.name.as_deref().unwrap_or_default(),
            ));
        }
        let replicas = new_scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .ok_or_else(|| status::bad_request("spec.replicas: Required value"))?;
        let mut new = (*old).clone();
        let segs: Vec<&str> = sc
            .spec_replicas_path
            .trim_start_matches('.')
            .split('.')
            .collect();
        let mut cur = &mut new;
        for s in &segs[..segs.len() - 1] {
            if cur.get(*s).is_none() {
                cur[*s] = json!({});
            }
            cur = cur.get_mut(*s).expect("just inserted");
        }
        cur[segs[segs.len() - 1]] = json!(replicas);
        let main = Ctx {
            subresource: None,
            ..ctx.clone()
        };
        let (code, obj) = self.finish_update(&main, &old, new, None)?;
        Ok((code, self.scale_view(&ctx.rt, &obj)?))
    }

    // ---- delete -----------------------------------------------------------------

    /// DELETE one object.
    pub fn delete(&mut self, ctx: &Ctx, opts: &DeleteOpts) -> Res {
        let old = self.existing(ctx)?;
        let name = ctx.name.clone().unwrap_or_default();
        if let Some(uid) = &opts.uid
            && Some(uid.as_str()) != md_str(&old, "uid")
        {
            return Err(status::conflict_precondition(
                &ctx.rt.group,
                &ctx.rt.plural,
                &name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    md_str(&old, "uid").unwrap_or_default()
                ),
            ));
        }
        if let Some(rv) = &opts.resource_version
            && Some(rv.as_str()) != md_str(&old, "resourceVersion")
        {
            return Err(status::conflict_precondition(
                &ctx.rt.group,
                &ctx.rt.plural,
                &name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    md_str(&old, "resourceVersion").unwrap_or_default()
                ),
            ));
        }
        let policy = opts.propagation.as_deref().unwrap_or("Background");
        if !matches!(policy, "Background" | "Foreground" | "Orphan") {
            return Err(status::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                "propagationPolicy",
                &format!(
                    "Unsupported value: {policy:?}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                ),
            ));
        }
        let mut fins = finalizers(&old);
        match policy {
            "Foreground" if !fins.iter().any(|f| f == "foregroundDeletion") => {
                fins.push("foregroundDeletion".into())
            }
            "Orphan" if !fins.iter().any(|f| f == "orphan") => fins.push("orphan".into()),
            _ => {}
        }
        let is_namespace = ctx.rt.group.is_empty() && ctx.rt.plural == "namespaces";
        if fins.is_empty() && !is_namespace {
            if ctx.dry_run {
                return Ok((200, self.deleted_response(ctx, &old)));
            }
            let ns = md_str(&old, "namespace").unwrap_or_default().to_string();
            if let Some(last) =
                self.store
                    .remove(ctx.rt.storage_key().0, ctx.rt.storage_key().1, &ns, &name)
            {
                self.finalize_removal(&ctx.rt, &last);
                self.gc();
                return Ok((200, self.deleted_response(ctx, &last)));
            }
            return Err(status::not_found(&ctx.rt.group, &ctx.rt.plural, &name));
        }
        // Graceful: mark for deletion; finalizers (and the GC) finish it later.
        let mut new = (*old).clone();
        if new.pointer("/metadata/deletionTimestamp").is_none() {
            new["metadata"]["deletionTimestamp"] = json!(self.now());
            new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if ctx.rt.generation {
                let g = old
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                new["metadata"]["generation"] = json!(g + 1);
            }
        }
        if !fins.is_empty() {
            new["metadata"]["finalizers"] = json!(fins);
        }
        if is_namespace {
            new["status"]["phase"] = json!("Terminating");
        }
        if ctx.dry_run || same_content(&old, &new) {
            return Ok((200, as_version(&new, &ctx.rt, &ctx.version)));
        }
        let stored = self.store.put(
            ctx.rt.storage_key().0,
            ctx.rt.storage_key().1,
            to_storage(&ctx.rt, new),
        );
        self.gc();
        let current = self
            .store
            .get(
                ctx.rt.storage_key().0,
                ctx.rt.storage_key().1,
                md_str(&stored, "namespace").unwrap_or_default(),
                &name,
            )
            .unwrap_or(stored);
        Ok((200, as_version(&current, &ctx.rt, &ctx.version)))
    }

    fn deleted_response(&self, ctx: &Ctx, obj: &Value) -> Value {
        if ctx.rt.return_deleted_object {
            as_version(obj, &ctx.rt, &ctx.version)
        } else {
            status::success(
                &ctx.rt.group,
                &ctx.rt.plural,
                md_str(obj, "name").unwrap_or_default(),
                md_str(obj, "uid").unwrap_or_default(),
            )
        }
    }

    /// DELETE on a collection: deletes every matching object, returns them as a list.
    pub fn delete_collection(&mut self, ctx: &Ctx, list: &ListOpts, opts: &DeleteOpts) -> Res {
        let (_, listed) = self.list(
            ctx,
            &ListOpts {
                limit: 0,
                continue_token: None,
                ..list.clone()
            },
        )?;
        let mut items = Vec::new();
        for it in listed["items"].as_array().cloned().unwrap_or_default() {
            let c = Ctx {
                name: md_str(&it, "name").map(str::to_string),
                namespace: md_str(&it, "namespace")
                    .map(str::to_string)
                    .or(ctx.namespace.clone()),
                ..ctx.clone()
            };
            match self.delete(&c, opts) {
                Ok((_, v)) if v.get("kind").and_then(Value::as_str) == Some("Status") => {
                    items.push(it)
                }
                Ok((_, v)) => items.push(v),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok((
            200,
            json!({ "kind": format!("{}List", ctx.rt.kind), "apiVersion": ctx.rt.api_version(&ctx.version), "metadata": { "resourceVersion": self.store.current_rv().to_string() }, "items": items }),
        ))
    }

    /// Side effects of an object leaving the store: a deleted CRD stops being
    /// served and its objects are removed (the real CRD finalizer does this).
    pub(crate) fn finalize_removal(&mut self, rt: &ResourceType, obj: &Value) {
        if rt.group == "apiextensions.k8s.io"
            && rt.plural == "customresourcedefinitions"
            && let (Some(g), Some(p)) = (
                obj.pointer("/spec/group").and_then(Value::as_str),
                obj.pointer("/spec/names/plural").and_then(Value::as_str),
            )
        {
            {
                let keys: Vec<(String, String)> = self
                    .store
                    .iter(g, p, None, None)
                    .map(|(k, _)| k.clone())
                    .collect();
                for (ns, name) in keys {
                    self.store.remove(g, p, &ns, &name);
                }
                self.registry.remove(g, p);
            }
        }
    }

    /// Removes an object for the garbage collector / namespace controller,
    /// honouring its finalizers. Returns true when it is gone.
    pub(crate) fn system_delete(
        &mut self,
        group: &str,
        plural: &str,
        ns: &str,
        name: &str,
        policy: &str,
    ) -> bool {
        let Some(rt) = self.registry.get(group, plural) else {
            return self.store.remove(group, plural, ns, name).is_some();
        };
        let ctx = Ctx {
            rt: rt.clone(),
            version: rt.preferred_version().to_string(),
            namespace: if ns.is_empty() {
                None
            } else {
                Some(ns.to_string())
            },
            name: Some(name.to_string()),
            subresource: None,
            dry_run: false,
            manager: "kube-controller-manager".into(),
            force: false,
            field_validation: None,
        };
        let _ = self.delete(
            &ctx,
            &DeleteOpts {
                propagation: Some(policy.into()),
                ..Default::default()
            },
        );
        self.store.get(group, plural, ns, name).is_none()
    }

    /// Writes an object on behalf of a controller (status updates, GC edits).
    pub(crate) fn system_update(
        &mut self,
        group: &str,
        plural: &str,
        new: Value,
        subresource: Option<&str>,
        manager: &str,
    ) -> Result<Value, ApiError> {
        let rt = self
            .registry
            .get(group, plural)
            .ok_or_else(status::no_such_resource)?;
        let ctx = Ctx {
            rt: rt.clone(),
            version: rt.preferred_version().to_string(),
            namespace: md_str(&new, "namespace").map(str::to_string),
            name: md_str(&new, "name").map(str::to_string),
            subresource: subresource.map(str::to_string),
            dry_run: false,
            manager: manager.into(),
            force: false,
            field_validation: None,
        };
        let mut body = new;
        body["metadata"]
            .as_object_mut()
            .map(|m| m.remove("resourceVersion"));
        self.update(&ctx, body).map(|(_, v)| v)
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
