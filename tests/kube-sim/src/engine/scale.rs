//! The `/scale` subresource (autoscaling/v1 Scale) over a kind's replicas path.

use super::*;

impl State {
    pub(super) fn scale_paths(rt: &ResourceType) -> Result<crate::registry::ScaleSpec, ApiError> {
        rt.scale.clone().ok_or_else(status::no_such_resource)
    }

    pub(super) fn scale_view(&self, rt: &ResourceType, obj: &Value) -> Result<Value, ApiError> {
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

    pub(super) fn update_scale(
        &mut self,
        ctx: &Ctx,
        f: impl FnOnce(Value) -> Result<Value, ApiError>,
    ) -> Res {
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
}
