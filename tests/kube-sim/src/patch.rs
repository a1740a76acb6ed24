//! The non-apply patch types: JSON merge patch (RFC 7386), JSON patch (RFC 6902)
//! and strategic merge patch.
//!
//! Strategic merge uses the built-in list types of [`builtin_list_kind`]
//! (upstream's `patchMergeKey`s for the fields our manifests use: containers,
//! env, volumes by `name`, volumeMounts by `mountPath`, ports by port number,
//! conditions by `type`, finalizers merged as values); other lists are
//! replaced. The directives `$patch: delete` and `$patch: replace` are
//! honoured, `$setElementOrder/…` and `$retainKeys` are accepted and ignored,
//! `$deleteFromPrimitiveList/<field>` removes values.

use serde_json::Value;

use crate::fieldset::{ListKind, Path, PathElem, builtin_list_kind, item_key};
use crate::status::{self, ApiError};

/// Which patch format a request carries (from its Content-Type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchKind {
    /// Parses a Content-Type header value.
    pub fn from_content_type(ct: &str) -> Option<PatchKind> {
        let base = ct.split(';').next().unwrap_or_default().trim();
        match base {
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml"
            | "application/apply-patch+json"
            | "application/apply-patch+cbor" => Some(PatchKind::Apply),
            _ => None,
        }
    }
}

/// Applies a merge, JSON or strategic patch to `target`.
pub fn apply_patch(kind: PatchKind, target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    match kind {
        PatchKind::Merge => {
            if !patch.is_object() {
                return Err(status::bad_request(
                    "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
                ));
            }
            json_patch::merge(target, patch);
            Ok(())
        }
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| {
                status::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
            // The server's Go json-patch treats a missing path as null in `test`
            // (kube's finalizer helper relies on it: `test /metadata/finalizers == null`
            // on an object without finalizers). Such ops pass here too; the rest
            // are applied in order by json_patch.
            for op in ops.0 {
                if let json_patch::PatchOperation::Test(t) = &op
                    && t.value.is_null()
                    && target.pointer(t.path.as_str()).is_none()
                {
                    continue;
                }
                json_patch::patch(target, std::slice::from_ref(&op))
                    .map_err(|e| ApiError::new(422, "Invalid", e.to_string(), None))?;
            }
            Ok(())
        }
        PatchKind::Strategic => {
            if !patch.is_object() {
                return Err(status::bad_request(
                    "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
                ));
            }
            strategic_merge(target, patch);
            Ok(())
        }
        PatchKind::Apply => Err(status::bad_request(
            "apply patches are handled by server-side apply",
        )),
    }
}

fn is_directive(k: &str) -> bool {
    k == "$patch"
        || k == "$retainKeys"
        || k.starts_with("$setElementOrder/")
        || k.starts_with("$deleteFromPrimitiveList/")
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !is_directive(k))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

/// Strategic merge of `patch` into `target` (a built-in kind's object).
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    merge_at(target, patch, &mut Vec::new());
}

fn merge_at(target: &mut Value, patch: &Value, path: &mut Path) {
    let Some(pm) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = strip_directives(patch);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    for (k, pv) in pm {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(list), Some(del)) = (
                target.get_mut(field).and_then(Value::as_array_mut),
                pv.as_array(),
            ) {
                list.retain(|v| !del.contains(v));
            }
            continue;
        }
        if is_directive(k) {
            continue;
        }
        let t = target.as_object_mut().expect("target is an object");
        if pv.is_null() {
            t.remove(k);
            continue;
        }
        path.push(PathElem::Field(k.clone()));
        match (t.get_mut(k), pv) {
            (Some(Value::Array(tl)), Value::Array(pl)) => match builtin_list_kind(path, pl) {
                ListKind::Map(keys)
                    if pl
                        .iter()
                        .chain(tl.iter())
                        .all(|it| item_key(it, &keys).is_some()) =>
                {
                    merge_keyed_list(tl, pl, &keys, path)
                }
                // patchStrategy "merge" on a primitive list (finalizers): values are added.
                ListKind::Set => {
                    for v in pl {
                        if !tl.contains(v) {
                            tl.push(v.clone());
                        }
                    }
                }
                _ => *tl = pl.iter().map(strip_directives).collect(),
            },
            (Some(tv @ Value::Object(_)), Value::Object(_)) => merge_at(tv, pv, path),
            _ => {
                if pv.get("$patch").and_then(Value::as_str) == Some("delete") {
                    t.remove(k);
                } else {
                    t.insert(k.clone(), strip_directives(pv));
                }
            }
        }
        path.pop();
    }
}

fn merge_keyed_list(target: &mut Vec<Value>, patch: &[Value], keys: &[String], path: &mut Path) {
    for item in patch {
        let key = item_key(item, keys);
        let directive = item.get("$patch").and_then(Value::as_str);
        let pos = target.iter().position(|t| item_key(t, keys) == key);
        match (directive, pos) {
            (Some("delete"), Some(i)) => {
                target.remove(i);
            }
            (Some("delete"), None) => {}
            (Some("replace"), Some(i)) => target[i] = strip_directives(item),
            (_, Some(i)) => {
                path.push(key.clone().expect("every item has its keys"));
                merge_at(&mut target[i], item, path);
                path.pop();
            }
            (_, None) => target.push(strip_directives(item)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merges_named_lists_and_replaces_others() {
        let mut t = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}], "args": ["x"]}});
        let p = json!({"spec": {"containers": [{"name": "a", "image": "2"}, {"name": "b", "$patch": "delete"}, {"name": "c", "image": "3"}], "args": ["y"]}});
        strategic_merge(&mut t, &p);
        assert_eq!(
            t,
            json!({"spec": {"containers": [{"name": "a", "image": "2"}, {"name": "c", "image": "3"}], "args": ["y"]}})
        );
    }

    #[test]
    fn json_patch_test_of_null_passes_on_missing_paths() {
        let mut t = json!({"metadata": {"name": "x"}});
        let p = json!([{"op": "test", "path": "/metadata/finalizers", "value": null}, {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}]);
        apply_patch(PatchKind::Json, &mut t, &p).unwrap();
        assert_eq!(t["metadata"]["finalizers"], json!(["f"]));
        let p = json!([{"op": "test", "path": "/metadata/name", "value": null}]);
        assert_eq!(
            apply_patch(PatchKind::Json, &mut t, &p).unwrap_err().code,
            422
        );
    }

    #[test]
    fn merge_patch_replaces_lists() {
        let mut t = json!({"a": [{"name": "x", "v": 1}], "b": 1});
        apply_patch(
            PatchKind::Merge,
            &mut t,
            &json!({"a": [{"name": "y"}], "b": null}),
        )
        .unwrap();
        assert_eq!(t, json!({"a": [{"name": "y"}]}));
    }
}
