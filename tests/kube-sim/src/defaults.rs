//! Server-side defaulting and CRD structural pruning.
//!
//! The real API server fills defaults (so `kubectl get -o yaml` after an apply
//! shows `strategy`, `imagePullPolicy`, `protocol: TCP`, ...) and, for custom
//! resources, applies `default:` values from the CRD schema and drops fields the
//! schema does not declare. Clients that compare what they rendered with what is
//! live must cope with both, so the simulator does them too, for the kinds and
//! fields listed here (the common ones, not every upstream default).

use serde_json::{Map, Value, json};

use crate::registry::ResourceType;

fn set_default(m: &mut Map<String, Value>, k: &str, v: Value) {
    if m.get(k).is_none_or(Value::is_null) {
        m.insert(k.to_string(), v);
    }
}

fn obj_mut<'a>(v: &'a mut Value, k: &str) -> Option<&'a mut Map<String, Value>> {
    v.get_mut(k).and_then(Value::as_object_mut)
}

fn default_container(c: &mut Value) {
    let image_tag_latest = c.get("image").and_then(Value::as_str).map(|i| {
        let last = i.rsplit('/').next().unwrap_or(i);
        !i.contains('@') && (!last.contains(':') || last.ends_with(":latest"))
    });
    let Some(m) = c.as_object_mut() else { return };
    set_default(m, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(m, "terminationMessagePolicy", json!("File"));
    set_default(
        m,
        "imagePullPolicy",
        json!(if image_tag_latest.unwrap_or(true) {
            "Always"
        } else {
            "IfNotPresent"
        }),
    );
    set_default(m, "resources", json!({}));
    if let Some(ports) = m.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
        }
    }
}

/// PodSpec defaults (also inside workload templates).
pub fn default_pod_spec(spec: &mut Value) {
    for list in ["containers", "initContainers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            cs.iter_mut().for_each(default_container);
        }
    }
    let Some(m) = spec.as_object_mut() else {
        return;
    };
    set_default(m, "restartPolicy", json!("Always"));
    set_default(m, "terminationGracePeriodSeconds", json!(30));
    set_default(m, "dnsPolicy", json!("ClusterFirst"));
    set_default(m, "securityContext", json!({}));
    set_default(m, "schedulerName", json!("default-scheduler"));
}

fn default_template(spec: &mut Map<String, Value>) {
    if let Some(t) = spec.get_mut("template")
        && let Some(ps) = t.get_mut("spec")
    {
        default_pod_spec(ps);
    }
}

/// Applies the built-in defaults for `rt`'s kind, or the CRD schema defaults
/// (`crd_schema`) for custom resources.
pub fn apply(rt: &ResourceType, obj: &mut Value, crd_schema: Option<&Value>) {
    if let Some(schema) = crd_schema {
        schema_defaults(obj, schema);
        return;
    }
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("apps", "Deployment") => {
            if let Some(s) = obj_mut(obj, "spec") {
                set_default(s, "replicas", json!(1));
                set_default(
                    s,
                    "strategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
                );
                set_default(s, "revisionHistoryLimit", json!(10));
                set_default(s, "progressDeadlineSeconds", json!(600));
                default_template(s);
            }
        }
        ("apps", "StatefulSet") => {
            if let Some(s) = obj_mut(obj, "spec") {
                set_default(s, "replicas", json!(1));
                set_default(s, "podManagementPolicy", json!("OrderedReady"));
                set_default(
                    s,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                );
                set_default(s, "revisionHistoryLimit", json!(10));
                set_default(
                    s,
                    "persistentVolumeClaimRetentionPolicy",
                    json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                );
                default_template(s);
            }
        }
        ("apps", "DaemonSet") => {
            if let Some(s) = obj_mut(obj, "spec") {
                set_default(
                    s,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
                );
                set_default(s, "revisionHistoryLimit", json!(10));
                default_template(s);
            }
        }
        ("apps", "ReplicaSet") | ("batch", "Job") => {
            if let Some(s) = obj_mut(obj, "spec") {
                default_template(s);
            }
        }
        ("", "Pod") => {
            if let Some(s) = obj.get_mut("spec") {
                default_pod_spec(s);
            }
        }
        ("", "Service") => {
            if let Some(s) = obj_mut(obj, "spec") {
                set_default(s, "type", json!("ClusterIP"));
                set_default(s, "sessionAffinity", json!("None"));
                let headless_or_external =
                    s.get("type").and_then(Value::as_str) == Some("ExternalName");
                if !headless_or_external {
                    set_default(s, "ipFamilies", json!(["IPv4"]));
                    set_default(s, "ipFamilyPolicy", json!("SingleStack"));
                    set_default(s, "internalTrafficPolicy", json!("Cluster"));
                }
                if let Some(ports) = s.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        set_default(p, "protocol", json!("TCP"));
                        if let Some(port) = p.get("port").cloned() {
                            set_default(p, "targetPort", port);
                        }
                    }
                }
            }
        }
        ("", "Secret") => {
            if let Some(m) = obj.as_object_mut() {
                set_default(m, "type", json!("Opaque"));
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(s) = obj_mut(obj, "spec") {
                set_default(s, "volumeMode", json!("Filesystem"));
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            if let Some(s) = obj_mut(obj, "spec") {
                set_default(s, "conversion", json!({"strategy": "None"}));
            }
        }
        _ => {}
    }
}

/// Applies `default:` values from an OpenAPI v3 schema, recursively.
pub fn schema_defaults(v: &mut Value, schema: &Value) {
    match v {
        Value::Object(m) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    if !m.contains_key(k)
                        && let Some(d) = sub.get("default")
                    {
                        m.insert(k.clone(), d.clone());
                    }
                    if let Some(child) = m.get_mut(k) {
                        schema_defaults(child, sub);
                    }
                }
            }
            if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for child in m.values_mut() {
                    schema_defaults(child, ap);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for it in items.iter_mut() {
                    schema_defaults(it, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// Removes fields a structural schema does not declare; returns their paths
/// (`.spec.foo`), which `fieldValidation=Strict` turns into an error.
pub fn prune(v: &mut Value, schema: &Value, path: &str, root: bool, out: &mut Vec<String>) {
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    let embedded = schema
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true);
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let child_path = format!("{path}.{k}");
                if (root || embedded) && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let sub = props.and_then(|p| p.get(&k)).or(additional);
                match sub {
                    Some(sub) => {
                        if let Some(child) = m.get_mut(&k) {
                            prune(child, sub, &child_path, false, out);
                        }
                    }
                    None if preserve
                        || schema.get("additionalProperties") == Some(&Value::Bool(true)) => {}
                    None => {
                        m.remove(&k);
                        out.push(child_path);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, it) in items.iter_mut().enumerate() {
                    prune(it, item_schema, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_defaults_and_pruning() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "size": {"type": "integer", "default": 1},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "mode": {"type": "string", "default": "a"}}}}
            }}
        }});
        let mut o = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"},
            "spec": {"free": {"any": 1}, "items": [{"name": "i", "junk": 1}], "unknown": true}, "extra": 1});
        let mut pruned = Vec::new();
        prune(&mut o, &schema, "", true, &mut pruned);
        schema_defaults(&mut o, &schema);
        assert_eq!(pruned, [".extra", ".spec.items[0].junk", ".spec.unknown"]);
        assert_eq!(
            o["spec"],
            json!({"free": {"any": 1}, "items": [{"name": "i", "mode": "a"}], "size": 1})
        );
    }
}
