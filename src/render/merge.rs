//! Upstream's merge rules for user overrides (`extraPodSpec`, `mainContainer`): a non-empty
//! value overrides, an empty one (`""`, `0`, `false`, `[]`, `{}`) keeps the default, lists are
//! replaced whole, objects merge key by key. Env lists merge by name instead.

use serde_json::Value;

/// Merges `overlay` over `base` with override-if-non-empty semantics.
pub fn override_non_empty(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (key, value) in o {
                if is_empty(value) {
                    continue;
                }
                match b.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        override_non_empty(existing, value)
                    }
                    _ => {
                        b.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => {
            if !is_empty(overlay) {
                *base = overlay.clone();
            }
        }
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Merges env lists by `name`: entries of `overlay` replace same-named entries of `base`.
/// The result is sorted by name and has each name once.
pub fn env_by_name(base: &[Value], overlay: &[Value]) -> Vec<Value> {
    let mut merged = std::collections::BTreeMap::new();
    for entry in base.iter().chain(overlay) {
        if let Some(name) = entry.get("name").and_then(Value::as_str) {
            merged.insert(name.to_string(), entry.clone());
        }
    }
    merged.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_empty_values_override_and_lists_replace() {
        let mut base = json!({"image": "a", "args": ["x"], "command": ["sh"], "resources": {"limits": {"cpu": "1"}}});
        override_non_empty(
            &mut base,
            &json!({"image": "", "args": ["y", "z"], "resources": {"limits": {"memory": "1Gi"}}, "workingDir": "/w"}),
        );
        assert_eq!(
            base,
            json!({"image": "a", "args": ["y", "z"], "command": ["sh"], "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}, "workingDir": "/w"})
        );
    }

    #[test]
    fn env_merges_by_name_sorted() {
        let merged = env_by_name(
            &[
                json!({"name": "B", "value": "1"}),
                json!({"name": "A", "value": "1"}),
            ],
            &[json!({"name": "B", "value": "2"})],
        );
        assert_eq!(
            merged,
            vec![
                json!({"name": "A", "value": "1"}),
                json!({"name": "B", "value": "2"})
            ]
        );
    }
}
