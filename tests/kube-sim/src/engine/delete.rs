//! Deletion: finalizers, propagation policies, deletecollection, and the
//! helpers the garbage collector and kubelet use to act as controllers.

use super::*;

impl State {
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
            self.before_removal(&ctx.rt, &old);
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

    pub(super) fn deleted_response(&self, ctx: &Ctx, obj: &Value) -> Value {
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

    /// Before an object leaves the store: a CRD's objects are deleted first
    /// (DELETED events for their watchers), as the real CRD finalizer does.
    pub(crate) fn before_removal(&mut self, rt: &ResourceType, obj: &Value) {
        if let Some((g, p)) = crd_target(&rt.group, &rt.plural, obj) {
            let keys: Vec<(String, String)> = self
                .store
                .iter(&g, &p, None, None)
                .map(|(k, _)| k.clone())
                .collect();
            for (ns, name) in keys {
                self.store.remove(&g, &p, &ns, &name);
            }
        }
    }

    /// After an object left the store: a deleted CRD's kind stops being served
    /// (its open watches end; see `watch`).
    pub(crate) fn finalize_removal(&mut self, rt: &ResourceType, obj: &Value) {
        if let Some((g, p)) = crd_target(&rt.group, &rt.plural, obj) {
            self.registry.remove(&g, &p);
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

/// For a CRD object (of type `group`/`plural`): the (group, plural) it serves.
pub(crate) fn crd_target(group: &str, plural: &str, obj: &Value) -> Option<(String, String)> {
    if group != "apiextensions.k8s.io" || plural != "customresourcedefinitions" {
        return None;
    }
    Some((
        obj.pointer("/spec/group")?.as_str()?.to_string(),
        obj.pointer("/spec/names/plural")?.as_str()?.to_string(),
    ))
}
