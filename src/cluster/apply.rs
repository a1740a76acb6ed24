//! Server-side apply of rendered and user objects, for real or as a dry run, with retries of
//! transient failures.

use std::time::Duration;

use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use super::{ClusterError, ObjectRef, Resolver};
use crate::api::consts::ANNOTATION_APPLIED_HASH;

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyMode {
    /// The field manager that will own the applied fields.
    pub field_manager: String,
    /// Take over fields owned by other managers.
    pub force: bool,
    /// `dryRun=All`: the server computes the result without storing it.
    pub dry_run: bool,
}

/// A CRD's `spec.conversion` belongs to the operator once the CRD exists: it points the
/// webhook at its Service (or a URL) and injects the CA bundle. Re-applying a CRD file keeps
/// what is live there instead of resetting it (which would break conversion, or be invalid
/// with both `url` and `service`); claiming the same values conflicts with no one.
/// Only a webhook conversion is kept: a CRD from before (no conversion) gets the file's.
pub fn keep_live_conversion(body: &mut Value, live: Option<&Value>) {
    let webhook = |v: Option<&Value>| {
        v.and_then(|v| v.pointer("/spec/conversion"))
            .filter(|c| c["strategy"] == "Webhook" && c.pointer("/webhook/clientConfig").is_some())
            .cloned()
    };
    if webhook(Some(body)).is_some()
        && let Some(live) = webhook(live)
    {
        body["spec"]["conversion"] = live;
    }
}

#[cfg(test)]
mod conversion_tests {
    use serde_json::json;

    #[test]
    fn a_live_webhook_conversion_is_kept_and_nothing_else() {
        let file = json!({"spec": {"conversion": {"strategy": "Webhook",
            "webhook": {"clientConfig": {"service": {"name": "a"}}}}}});
        let live = json!({"spec": {"conversion": {"strategy": "Webhook",
            "webhook": {"clientConfig": {"url": "https://x", "caBundle": "Y2E="}}}}});
        let mut body = file.clone();
        super::keep_live_conversion(&mut body, Some(&live));
        assert_eq!(body, live);
        // A CRD of an earlier install (no conversion) and a new one get the file's.
        for live in [
            None,
            Some(json!({"spec": {"conversion": {"strategy": "None"}}})),
        ] {
            let mut body = file.clone();
            super::keep_live_conversion(&mut body, live.as_ref());
            assert_eq!(body, file);
        }
    }
}

/// Applies objects through a [`Resolver`].
pub struct Applier {
    /// Resolves kinds.
    pub resolver: Resolver,
    /// Namespace of namespaced objects that name none.
    pub default_namespace: String,
}

const ATTEMPTS: u32 = 5;

impl Applier {
    /// The object's identity with the namespace it will really have: namespaced kinds without
    /// one get the default namespace, cluster-scoped kinds none.
    pub fn effective_ref(&self, obj: &Value) -> ObjectRef {
        let mut r = ObjectRef::of(obj);
        match self.resolver.resolve(&r) {
            Some((_, kube::discovery::Scope::Cluster)) => r.namespace = None,
            _ => {
                r.namespace
                    .get_or_insert_with(|| self.default_namespace.clone());
            }
        }
        r
    }

    /// The live object, or `None` when it (or its kind) does not exist.
    pub async fn get(&self, r: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        if self.resolver.resolve(r).is_none() {
            return Ok(None);
        }
        let (api, _) = self.resolver.api(r, &self.default_namespace)?;
        let got = retry(|| api.get_opt(&r.name))
            .await
            .map_err(|e| self.err(r, e))?;
        Ok(got.map(|o| serde_json::to_value(o).expect("object serialises")))
    }

    /// Server-side applies `obj` and returns what the server stored (or would store).
    pub async fn apply(&self, obj: &Value, mode: &ApplyMode) -> Result<Value, ClusterError> {
        let r = ObjectRef::of(obj);
        let (api, ns) = self.resolver.api(&r, &self.default_namespace)?;
        let mut body = obj.clone();
        if let Some(ns) = ns {
            body["metadata"]["namespace"] = Value::String(ns);
        }
        if r.kind == "CustomResourceDefinition" {
            let live = self.get(&r).await?;
            keep_live_conversion(&mut body, live.as_ref());
        }
        let mut params = PatchParams::apply(&mode.field_manager);
        params.force = mode.force;
        params.dry_run = mode.dry_run;
        let patch = Patch::Apply(&body);
        let out: DynamicObject = retry(|| api.patch(&r.name, &params, &patch))
            .await
            .map_err(|e| self.err(&r, e))?;
        Ok(serde_json::to_value(out).expect("object serialises"))
    }

    /// Deletes an object (background propagation); a missing object is not an error.
    pub async fn delete(&self, r: &ObjectRef, dry_run: bool) -> Result<(), ClusterError> {
        let (api, _) = self.resolver.api(r, &self.default_namespace)?;
        let params = DeleteParams {
            dry_run,
            ..DeleteParams::background()
        };
        match retry(|| api.delete(&r.name, &params)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.err(r, e)),
        }
    }

    /// Applies `obj` (stamped with its applied hash) unless `live` is already up to date;
    /// returns the stored object, or `None` when no write was needed.
    pub async fn ensure(
        &self,
        obj: &Value,
        live: Option<&Value>,
        mode: &ApplyMode,
    ) -> Result<Option<Value>, ClusterError> {
        let desired = with_applied_hash(obj);
        if live.is_some_and(|l| up_to_date(&desired, l)) {
            return Ok(None);
        }
        self.apply(&desired, mode).await.map(Some)
    }

    fn err(&self, r: &ObjectRef, e: kube::Error) -> ClusterError {
        ClusterError::from_kube(&r.to_string(), self.resolver.server(), e)
    }
}

/// Retries a request on 429, 5xx and connection failures with exponential backoff (kube's own
/// retry policy covers 429/503/504 but not 500 or dropped connections).
pub async fn retry<T, F, Fut>(mut f: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if attempt < ATTEMPTS && transient(&e) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 429 || s.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// `obj` with the annotation holding the hash of everything else in it.
pub fn with_applied_hash(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(a) = out
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(ANNOTATION_APPLIED_HASH);
    }
    // serde_json's maps are sorted, so the text is canonical.
    let text = serde_json::to_string(&out).expect("object serialises");
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let hash: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let meta = out["metadata"]
        .as_object_mut()
        .expect("objects have metadata");
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    annotations[ANNOTATION_APPLIED_HASH] = Value::String(hash);
    out
}

/// Whether `live` already is what applying `desired` (stamped by [`with_applied_hash`]) would
/// make it: same hash (nothing added or removed since the last apply) and every applied field
/// still in place (nobody edited it by hand).
pub fn up_to_date(desired: &Value, live: &Value) -> bool {
    let hash = |v: &Value| {
        v.pointer("/metadata/annotations")
            .and_then(|a| a.get(ANNOTATION_APPLIED_HASH))
            .cloned()
    };
    hash(desired).is_some() && hash(desired) == hash(live) && is_subset(desired, live)
}

/// Whether every field of `desired` is present in `live` with the same value: then applying
/// `desired` would change nothing, and the write can be skipped. Lists must match item by item.
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d
            .iter()
            .all(|(k, v)| l.get(k).is_some_and(|lv| is_subset(v, lv))),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(a, b)| is_subset(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::is_subset;
    use serde_json::json;

    #[test]
    fn subset_ignores_server_added_fields_but_not_changes() {
        let desired = json!({"spec": {"replicas": 2, "template": {"containers": [{"name": "main", "image": "a"}]}}});
        let live = json!({"spec": {"replicas": 2, "progressDeadlineSeconds": 600, "template": {"containers": [{"name": "main", "image": "a", "terminationMessagePath": "/dev/termination-log"}]}}, "status": {}});
        assert!(is_subset(&desired, &live));
        let changed = json!({"spec": {"replicas": 3}});
        assert!(!is_subset(&changed, &live));
        let more_items =
            json!({"spec": {"template": {"containers": [{"name": "main"}, {"name": "side"}]}}});
        assert!(!is_subset(&more_items, &live));
    }
}
