//! OpenAPI v3 schemas as the API server reads them: the structural-schema rules a CRD must
//! follow, and validation of an object against a schema (types, unknown fields, enums, bounds,
//! required fields) plus its CEL rules, so bad input is rejected before anything reaches a
//! cluster, with the same rules the API server would apply.

use serde_json::Value;

/// One problem found in an object: where (path segments from the object root) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Path of the offending node, e.g. `["spec", "services", "Frontend", "replicas"]`.
    pub path: Vec<String>,
    /// What is wrong and, where it helps, what would be right.
    pub message: String,
}

/// Returns the reasons `schema` is not a structural schema (empty when it is). The rules are
/// those of the API server's `apiextensions` validation: every node typed (except int-or-string
/// and preserve-unknown-fields nodes), no `$ref`/`definitions`, `properties` and
/// `additionalProperties` never together, value validations only inside `allOf`/`anyOf`/`oneOf`/`not`,
/// `nullable` only with a type, and `metadata` constrained to name/generateName at the root.
pub fn structural_violations(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check_structural(schema, "", true, &mut out);
    if let Some(meta) = schema.pointer("/properties/metadata") {
        let allowed = ["type", "properties", "description", "nullable"];
        if let Some(map) = meta.as_object() {
            for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
                out.push(format!(
                    ".properties.metadata: {key} is not allowed at the root metadata"
                ));
            }
            if let Some(props) = map.get("properties").and_then(Value::as_object) {
                for key in props
                    .keys()
                    .filter(|k| *k != "name" && *k != "generateName")
                {
                    out.push(format!(".properties.metadata.properties.{key}: only name and generateName may be constrained"));
                }
            }
        }
    }
    out
}

fn check_structural(node: &Value, at: &str, needs_type: bool, out: &mut Vec<String>) {
    let Some(map) = node.as_object() else {
        out.push(format!("{at}: schema node is not an object"));
        return;
    };
    for forbidden in ["$ref", "definitions", "$defs", "$schema"] {
        if map.contains_key(forbidden) {
            out.push(format!(
                "{at}: {forbidden} is not allowed in a structural schema"
            ));
        }
    }
    let int_or_string = map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let ty = map.get("type").and_then(Value::as_str);
    if needs_type && ty.is_none() && !int_or_string && !preserve {
        out.push(format!("{at}: type is missing"));
    }
    if int_or_string && ty.is_some() {
        out.push(format!(
            "{at}: x-kubernetes-int-or-string must not have a type"
        ));
    }
    if preserve && ty.is_some_and(|t| t != "object") {
        out.push(format!(
            "{at}: x-kubernetes-preserve-unknown-fields needs type object"
        ));
    }
    if map.contains_key("nullable") && ty.is_none() && !int_or_string && needs_type {
        out.push(format!("{at}: nullable needs a type"));
    }
    if map.contains_key("properties") && map.contains_key("additionalProperties") {
        out.push(format!(
            "{at}: properties and additionalProperties are mutually exclusive"
        ));
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            check_structural(child, &format!("{at}.properties.{name}"), needs_type, out);
        }
    }
    match map.get("additionalProperties") {
        Some(Value::Object(_)) => check_structural(
            &map["additionalProperties"],
            &format!("{at}.additionalProperties"),
            needs_type,
            out,
        ),
        Some(Value::Bool(false)) | None => {}
        Some(other) => out.push(format!("{at}.additionalProperties: unexpected {other}")),
    }
    match map.get("items") {
        Some(items @ Value::Object(_)) => {
            check_structural(items, &format!("{at}.items"), needs_type, out)
        }
        Some(_) => out.push(format!("{at}.items: must be a single schema")),
        None if ty == Some("array") && needs_type => out.push(format!("{at}: array without items")),
        None => {}
    }
    for junctor in ["allOf", "anyOf", "oneOf", "not"] {
        let Some(sub) = map.get(junctor) else {
            continue;
        };
        let subs: Vec<&Value> = match sub {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for (i, s) in subs.into_iter().enumerate() {
            let here = format!("{at}.{junctor}[{i}]");
            if let Some(m) = s.as_object() {
                for key in [
                    "description",
                    "default",
                    "additionalProperties",
                    "nullable",
                    "title",
                ] {
                    if m.contains_key(key) {
                        out.push(format!("{here}: {key} is not allowed inside {junctor}"));
                    }
                }
                // int-or-string's anyOf [{type: integer}, {type: string}] is the one allowed use of type.
                let allowed_type = int_or_string && junctor == "anyOf";
                if m.contains_key("type") && !allowed_type {
                    out.push(format!("{here}: type is not allowed inside {junctor}"));
                }
            }
            check_structural(s, &here, false, out);
        }
    }
}

/// A custom resource's schema, with its CEL rules compiled once, ready to validate objects.
pub struct ObjectSchema {
    schema: Value,
    cel: kube::core::cel::CompiledSchema,
}

impl ObjectSchema {
    /// Compiles the CEL rules of an openAPIV3Schema.
    pub fn new(schema: Value) -> Self {
        let cel = kube::core::cel::compile_schema(&schema);
        ObjectSchema { schema, cel }
    }

    /// Validates `value` the way the API server would for a custom resource: types, unknown
    /// fields (strict, like `kubectl --validate=strict`), enums, numeric bounds, `required`,
    /// `maxItems`/`maxProperties`, then the CEL rules (`x-kubernetes-validations`). `old`
    /// enables transition rules such as immutability. `null` members are pruned first, as the
    /// API server does for non-nullable fields.
    pub fn validate(&self, value: &Value, old: Option<&Value>) -> Vec<Violation> {
        let value = self.envelope_stripped(value);
        let mut out = Vec::new();
        check_value(&self.schema, &value, &mut Vec::new(), &mut out);
        if out.is_empty() {
            let old = old.map(|o| self.envelope_stripped(o));
            let validator = kube::core::cel::Validator::new();
            if let Err(errors) = validator.validate_compiled(&self.cel, &value, old.as_ref()) {
                for e in errors.into_vec() {
                    out.push(Violation {
                        path: split_field_path(&e.field_path),
                        message: e.message,
                    });
                }
            }
        }
        out
    }

    /// The API server validates the envelope (apiVersion, kind, metadata) of every object
    /// itself; CRD schemas describe the rest.
    fn envelope_stripped(&self, value: &Value) -> Value {
        let mut value = prune_nulls(value);
        if let Some(map) = value.as_object_mut() {
            let declared = self.schema.get("properties").and_then(Value::as_object);
            for key in ["apiVersion", "kind", "metadata"] {
                if declared.is_none_or(|d| !d.contains_key(key)) {
                    map.remove(key);
                }
            }
        }
        value
    }
}

/// Validates `value` against `schema` once; see [`ObjectSchema::validate`].
pub fn validate(schema: &Value, value: &Value, old: Option<&Value>) -> Vec<Violation> {
    ObjectSchema::new(schema.clone()).validate(value, old)
}

/// Drops `null` object members, recursively.
pub fn prune_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), prune_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(prune_nulls).collect()),
        other => other.clone(),
    }
}

fn split_field_path(path: &str) -> Vec<String> {
    // kube-cel writes `spec.services[Frontend].ingress` style paths.
    path.replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_value(schema: &Value, value: &Value, path: &mut Vec<String>, out: &mut Vec<Violation>) {
    let Some(s) = schema.as_object() else { return };
    let mut fail = |path: &Vec<String>, message: String| {
        out.push(Violation {
            path: path.clone(),
            message,
        })
    };
    if s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !matches!(type_name(value), "integer" | "string") {
            fail(
                path,
                format!("expected an integer or a string, got {}", describe(value)),
            );
        }
        return;
    }
    let preserve = s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if let Some(expected) = s.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let ok = actual == expected || (expected == "number" && actual == "integer");
        if !ok {
            fail(
                path,
                format!("expected {}, got {}", article(expected), describe(value)),
            );
            return;
        }
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
        fail(
            path,
            format!(
                "unsupported value {value}: must be one of {}",
                list.join(", ")
            ),
        );
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), value.as_f64())
        && n < min
    {
        fail(
            path,
            format!("invalid value {value}: must be greater than or equal to {min}"),
        );
    }
    if let (Some(max), Some(n)) = (s.get("maximum").and_then(Value::as_f64), value.as_f64())
        && n > max
    {
        fail(
            path,
            format!("invalid value {value}: must be less than or equal to {max}"),
        );
    }
    if let Value::String(text) = value {
        let length = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            let need = if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {min} characters")
            };
            fail(path, format!("{value} is too short: {need}"));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            fail(
                path,
                format!("is too long: must be at most {max} characters"),
            );
        }
    }
    match value {
        Value::Object(map) => {
            if let Some(max) = s.get("maxProperties").and_then(Value::as_u64)
                && map.len() as u64 > max
            {
                fail(
                    path,
                    format!("has {} entries, at most {max} are allowed", map.len()),
                );
            }
            for name in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(name) {
                    fail(path, format!("required field \"{name}\" is missing"));
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            let additional = s.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in map {
                path.push(key.clone());
                if let Some(child_schema) = props.and_then(|p| p.get(key)) {
                    check_value(child_schema, child, path, out);
                } else if let Some(child_schema) = additional {
                    check_value(child_schema, child, path, out);
                } else if !preserve
                    && (props.is_some() || s.get("type").and_then(Value::as_str) == Some("object"))
                {
                    let message = match props.and_then(|p| closest(key, p.keys())) {
                        Some(near) => format!("unknown field; did you mean \"{near}\"?"),
                        None => "unknown field".to_string(),
                    };
                    out.push(Violation {
                        path: path.clone(),
                        message,
                    });
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                fail(
                    path,
                    format!("has {} items, at most {max} are allowed", items.len()),
                );
            }
            if let Some(item_schema) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    check_value(item_schema, item, path, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// The known field closest to a misspelt one, if any is close (edit distance ≤ 2).
fn closest<'a>(key: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    known
        .map(|k| (edit_distance(&key.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

fn article(ty: &str) -> String {
    match ty {
        "object" | "array" | "integer" => format!("an {ty}"),
        other => format!("a {other}"),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Object(_) => "an object".to_string(),
        Value::Array(_) => "a list".to_string(),
        other => format!("{} {other}", article(type_name(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn structural_rules_catch_untyped_and_ref_nodes() {
        let bad = json!({"type": "object", "properties": {"a": {"description": "x"}, "b": {"$ref": "#/x", "type": "string"}}});
        let v = structural_violations(&bad);
        assert!(
            v.iter()
                .any(|m| m.contains(".properties.a: type is missing")),
            "{v:?}"
        );
        assert!(v.iter().any(|m| m.contains("$ref")), "{v:?}");
        let ok =
            json!({"type": "object", "properties": {"q": {"x-kubernetes-int-or-string": true}}});
        assert!(structural_violations(&ok).is_empty());
    }

    #[test]
    fn values_are_checked_strictly() {
        let schema = json!({"type": "object", "properties": {
            "n": {"type": "integer", "minimum": 0},
            "e": {"type": "string", "enum": ["a", "b"]},
            "m": {"type": "object", "additionalProperties": {"type": "string"}}
        }});
        let v = validate(
            &schema,
            &json!({"n": -1, "e": "c", "m": {"k": 1}, "x": true}),
            None,
        );
        let paths: Vec<String> = v.iter().map(|v| v.path.join(".")).collect();
        assert_eq!(paths, ["e", "m.k", "n", "x"], "{v:?}");
        assert!(
            validate(
                &schema,
                &json!({"n": 3, "e": "a", "m": {"k": "v"}, "z": null}),
                None
            )
            .is_empty()
        );
    }

    #[test]
    fn cel_rules_of_the_graph_crd_hold_including_transitions() {
        let crd = crate::api::crd::all().remove(0);
        let schema = serde_json::to_value(
            crd.spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref()
                .unwrap(),
        )
        .unwrap();
        let compiled = ObjectSchema::new(schema);
        let graph = |backend: &str, services: Value| {
            json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "metadata": {"name": "g"},
                   "spec": {"backendFramework": backend, "services": services}})
        };
        let one = json!({"Frontend": {"componentType": "frontend", "extraPodSpec": {"mainContainer": {"image": "x"}}}});
        assert!(
            compiled
                .validate(&graph("vllm", one.clone()), None)
                .is_empty()
        );
        let changed = compiled.validate(
            &graph("vllm", one.clone()),
            Some(&graph("sglang", one.clone())),
        );
        assert_eq!(
            changed
                .iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>(),
            ["spec.backendFramework is immutable"]
        );
        let none = compiled.validate(&graph("vllm", json!({})), None);
        assert_eq!(
            none.iter().map(|v| v.message.as_str()).collect::<Vec<_>>(),
            ["spec.services must contain at least one service"]
        );
        let ingress = json!({"Frontend": {"ingress": {"enabled": true}}});
        let missing_host = compiled.validate(&graph("vllm", ingress), None);
        assert_eq!(missing_host.len(), 1);
        assert_eq!(
            missing_host[0].path,
            ["spec", "services", "Frontend", "ingress"]
        );
    }
}
