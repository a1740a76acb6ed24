//! Hides Secret values in a diff the way `kubectl diff` does (kubernetes#96084), so plans are
//! safe to print in CI logs: every value becomes `***`, and a key whose value changes becomes
//! `*** (before)` / `*** (after)` so the change stays visible. The same strings are used by
//! Flux and timoni; scripts may grep for them.

use serde_json::{Map, Value};

/// What every Secret value is replaced with.
pub const MASK: &str = "***";
/// What a changed value is replaced with on the live side.
pub const MASK_BEFORE: &str = "*** (before)";
/// What a changed value is replaced with on the merged side.
pub const MASK_AFTER: &str = "*** (after)";

/// The Secret fields whose values are masked. kubectl masks only `data`; `stringData` holds
/// the same secrets in clear text, so it is masked too.
const SECRET_FIELDS: &[&str] = &["data", "stringData"];

/// Masks `data` and `stringData` of both sides when the object is a core `v1` Secret.
pub(crate) fn mask_secret(live: &mut Option<Value>, merged: &mut Option<Value>) {
    let is_secret = |v: &Option<Value>| {
        v.as_ref().is_some_and(|v| {
            v.get("kind").and_then(Value::as_str) == Some("Secret")
                && v.get("apiVersion").and_then(Value::as_str) == Some("v1")
        })
    };
    if !is_secret(live) && !is_secret(merged) {
        return;
    }
    for field in SECRET_FIELDS {
        let before = live.as_mut().and_then(|v| field_map(v, field));
        let after = merged.as_mut().and_then(|v| field_map(v, field));
        mask_pair(before, after);
    }
}

fn field_map<'a>(object: &'a mut Value, field: &str) -> Option<&'a mut Map<String, Value>> {
    object.get_mut(field).and_then(Value::as_object_mut)
}

/// kubectl's `Masker.run`: compares before masking, so equal values stay `***` on both sides.
fn mask_pair(before: Option<&mut Map<String, Value>>, after: Option<&mut Map<String, Value>>) {
    let mut empty_before = Map::new();
    let mut empty_after = Map::new();
    let before = before.unwrap_or(&mut empty_before);
    let after = after.unwrap_or(&mut empty_after);
    for (key, old) in before.iter_mut() {
        let (b, a) = match after.get(key) {
            Some(new) if new != old => (MASK_BEFORE, Some(MASK_AFTER)),
            Some(_) => (MASK, Some(MASK)),
            None => (MASK, None),
        };
        *old = Value::from(b);
        if let Some(a) = a {
            after.insert(key.clone(), Value::from(a));
        }
    }
    for (key, new) in after.iter_mut() {
        if !before.contains_key(key) {
            *new = Value::from(MASK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(data: Value, string_data: Option<Value>) -> Value {
        let mut s =
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data});
        if let Some(sd) = string_data {
            s["stringData"] = sd;
        }
        s
    }

    #[test]
    fn changed_kept_added_and_removed_keys() {
        let mut live = Some(secret(
            json!({"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}),
            None,
        ));
        let mut merged = Some(secret(
            json!({"same": "YQ==", "changed": "ZA==", "new": "ZQ=="}),
            None,
        ));
        mask_secret(&mut live, &mut merged);
        assert_eq!(
            live.unwrap()["data"],
            json!({"same": "***", "changed": "*** (before)", "gone": "***"})
        );
        assert_eq!(
            merged.unwrap()["data"],
            json!({"same": "***", "changed": "*** (after)", "new": "***"})
        );
    }

    #[test]
    fn one_sided_secrets_and_string_data_are_masked() {
        let mut live = None;
        let mut merged = Some(secret(
            json!({"k": "dg=="}),
            Some(json!({"password": "hunter2"})),
        ));
        mask_secret(&mut live, &mut merged);
        let merged = merged.unwrap();
        assert_eq!(merged["data"], json!({"k": "***"}));
        assert_eq!(merged["stringData"], json!({"password": "***"}));

        let mut live = Some(secret(json!({"k": "dg=="}), None));
        let mut merged = None;
        mask_secret(&mut live, &mut merged);
        assert_eq!(live.unwrap()["data"], json!({"k": "***"}));
    }

    #[test]
    fn other_kinds_are_untouched() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}});
        let mut live = Some(cm.clone());
        let mut merged = Some(cm.clone());
        mask_secret(&mut live, &mut merged);
        assert_eq!(live, Some(cm.clone()));
        assert_eq!(merged, Some(cm));
        // A custom kind that happens to be called Secret is not a core Secret.
        let custom = json!({"apiVersion": "example.com/v1", "kind": "Secret", "data": {"k": "v"}});
        let mut live = Some(custom.clone());
        mask_secret(&mut live, &mut None);
        assert_eq!(live, Some(custom));
    }
}
