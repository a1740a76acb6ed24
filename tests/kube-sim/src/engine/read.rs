//! Reads: get and list (selectors, pagination).

use super::*;

impl State {
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
}
