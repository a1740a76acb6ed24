//! Strips the fields the API server owns, so a diff shows only what a user or the renderer
//! decides. The list follows what kubectl diff users asked to hide (managedFields,
//! generation bumps, last-applied noise; see research cli-anchors §1.4).

use serde_json::Value;

/// The annotation client-side `kubectl apply` writes; server-side apply never does, so it is
/// pure noise when comparing with what we would apply.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `metadata` fields that the API server sets and that change without anyone asking for it.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// A copy of `obj` without server-owned fields: `metadata.managedFields`, `resourceVersion`,
/// `generation`, `uid`, `creationTimestamp`, `selfLink`, the top-level `status`, and the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation (dropping an `annotations`
/// map that ends up empty, since the server omits empty maps too). Anything that is not an
/// object is returned unchanged.
pub fn normalize(obj: &Value) -> Value {
    let mut out = obj.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    map.remove("status");
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_METADATA {
            meta.remove(*field);
        }
        let empty = match meta.get_mut("annotations") {
            Some(Value::Object(annotations)) => {
                annotations.remove(LAST_APPLIED_ANNOTATION);
                annotations.is_empty()
            }
            Some(Value::Null) => true,
            _ => false,
        };
        if empty {
            meta.remove("annotations");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_server_owned_fields_and_status() {
        let live = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "uid": "0b1c",
                "resourceVersion": "42",
                "generation": 3,
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "selfLink": "/apis/apps/v1/namespaces/default/deployments/web",
                "managedFields": [{"manager": "dynamoctl"}],
                "labels": {"app": "web"},
                "annotations": {
                    LAST_APPLIED_ANNOTATION: "{}",
                    "keep": "me"
                }
            },
            "spec": {"replicas": 2},
            "status": {"replicas": 2}
        });
        assert_eq!(
            normalize(&live),
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": "web",
                    "namespace": "default",
                    "labels": {"app": "web"},
                    "annotations": {"keep": "me"}
                },
                "spec": {"replicas": 2}
            })
        );
    }

    #[test]
    fn drops_annotations_left_empty() {
        let obj =
            json!({"metadata": {"name": "a", "annotations": {LAST_APPLIED_ANNOTATION: "{}"}}});
        assert_eq!(normalize(&obj), json!({"metadata": {"name": "a"}}));
        let obj = json!({"metadata": {"name": "a", "annotations": null}});
        assert_eq!(normalize(&obj), json!({"metadata": {"name": "a"}}));
    }

    #[test]
    fn keeps_nested_status_and_non_objects() {
        // Only the top-level status is server-owned; a field named status deeper down is data.
        let obj = json!({"kind": "X", "spec": {"status": "on"}});
        assert_eq!(normalize(&obj), obj);
        assert_eq!(normalize(&json!("text")), json!("text"));
    }
}
