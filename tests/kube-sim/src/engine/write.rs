//! Writes: create, update, patches and server-side apply, and the common
//! tail every write goes through (ownership, generation, no-op detection).

use super::*;

impl State {
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
    pub(super) fn defaults_on_create(
        &mut self,
        rt: &ResourceType,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
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

    pub(super) fn commit_create(&mut self, ctx: &Ctx, obj: Value) -> Res {
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
    pub(super) fn after_write(&mut self, rt: &ResourceType, obj: &Value) {
        if rt.group == "apiextensions.k8s.io"
            && rt.plural == "customresourcedefinitions"
            && obj.pointer("/metadata/deletionTimestamp").is_none()
            && let Ok(t) = from_crd(obj)
        {
            self.registry.insert(t);
        }
        // A dependent written after its owner went (a controller racing the owner's
        // deletion) is collected, as the real garbage collector does when it sees a
        // dependent whose owner it cannot find.
        if self.names_absent_owner(obj) {
            self.gc();
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
    pub(super) fn apply(&mut self, ctx: &Ctx, body: Value) -> Res {
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

    pub(super) fn create_with_managed(
        &mut self,
        ctx: &Ctx,
        obj: Value,
        managed: Option<Value>,
    ) -> Res {
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
    pub(super) fn finish_update(
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
            self.before_removal(&rt, &new);
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
}
