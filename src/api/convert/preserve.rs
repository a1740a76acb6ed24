//! Preserving what one version cannot say, as upstream does: a field with no home in the
//! target version is saved, sparsely, in one private annotation per object and part
//! (`nvidia.com/dgd-spec`, `nvidia.com/dgd-status`, `nvidia.com/dcd-spec`,
//! `nvidia.com/dcd-status`), as a sparse spec of the *source* version wrapped in upstream's
//! envelope `{"version":1,"spec":...}`. On the way back the saved fields are laid over the
//! projection of the live object, and kept only where the result still projects exactly to
//! the live object: saved data never overrides a field the live object represents.
//!
//! Granularity is a component's (or the graph level's) top-level field: a field is saved
//! whole when the projection does not reproduce it, and `null` marks a field that must be
//! absent. Upstream saves finer-grained leaves; both read each other's payloads (ours restore
//! exactly; upstream's restore where they still match, else the projection stands).

use serde_json::{Map, Value, json};

/// DynamoGraphDeployment spec payload.
pub const DGD_SPEC: &str = "nvidia.com/dgd-spec";
/// DynamoGraphDeployment status payload.
pub const DGD_STATUS: &str = "nvidia.com/dgd-status";
/// DynamoComponentDeployment spec payload.
pub const DCD_SPEC: &str = "nvidia.com/dcd-spec";
/// DynamoComponentDeployment status payload.
pub const DCD_STATUS: &str = "nvidia.com/dcd-status";

/// Whether `key` is one of the private conversion annotations. Only conversion code uses it.
pub fn is_private(key: &str) -> bool {
    [DGD_SPEC, DGD_STATUS, DCD_SPEC, DCD_STATUS].contains(&key)
}

/// The fields of `want` that `got` does not reproduce: their wanted value, or `null` for a
/// field `want` does not have.
pub fn diff(want: &Map<String, Value>, got: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in want {
        if got.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in got.keys() {
        if !want.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}

/// `patch` over `base`: a `null` removes the field.
pub fn overlay(base: &Map<String, Value>, patch: &Map<String, Value>) -> Map<String, Value> {
    let mut out = base.clone();
    for (k, v) in patch {
        if v.is_null() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Lays the `saved` fields over `projected` wherever the result still projects (through
/// `project`) to `live`: all at once when that reproduces `live` exactly (a round trip),
/// else field by field, keeping a field when it is invisible to the projection (it only
/// carries what the other version cannot say) or when it makes the projection agree with
/// `live` on more fields and on none fewer (it is not stale). Stale fields are dropped: the
/// live object wins.
pub fn restore(
    projected: Map<String, Value>,
    saved: &Map<String, Value>,
    project: impl Fn(&Map<String, Value>) -> Option<Value>,
    live: &Value,
) -> Map<String, Value> {
    if saved.is_empty() {
        return projected;
    }
    let all = overlay(&projected, saved);
    if project(&all).as_ref() == Some(live) {
        return all;
    }
    let mut accepted = projected;
    let Some(mut current) = project(&accepted) else {
        return accepted;
    };
    let mut pending: Vec<&String> = saved.keys().collect();
    loop {
        let before = pending.len();
        pending.retain(|k| {
            let one = Map::from_iter([((*k).clone(), saved[*k].clone())]);
            let trial = overlay(&accepted, &one);
            let Some(p) = project(&trial) else {
                return true;
            };
            let (now, then) = (agreement(&p, live), agreement(&current, live));
            if p == current || (now.is_superset(&then) && now.len() > then.len()) {
                accepted = trial;
                current = p;
                false
            } else {
                true
            }
        });
        if pending.len() == before || pending.is_empty() {
            return accepted;
        }
    }
}

/// The top-level fields on which two objects agree (a field both lack agrees).
fn agreement(a: &Value, b: &Value) -> std::collections::BTreeSet<String> {
    let empty = Map::new();
    let (a, b) = (
        a.as_object().unwrap_or(&empty),
        b.as_object().unwrap_or(&empty),
    );
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) == b.get(*k))
        .cloned()
        .collect()
}

/// Removes and returns the spec payload under `key` (the sparse spec inside upstream's envelope; an envelope-less payload is read as the
/// spec itself, as upstream reads its legacy payloads). An unreadable payload is ignored.
pub fn take_spec(
    annotations: &mut Option<std::collections::BTreeMap<String, String>>,
    key: &str,
) -> Map<String, Value> {
    let raw = annotations.as_mut().and_then(|a| a.remove(key));
    let Some(parsed) = raw.and_then(|r| serde_json::from_str::<Value>(&r).ok()) else {
        return Map::new();
    };
    match parsed {
        Value::Object(mut m) if m.contains_key("spec") => match m.remove("spec") {
            Some(Value::Object(spec)) => spec,
            _ => Map::new(),
        },
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Removes and returns the status payload under `key`.
pub fn take_status(
    annotations: &mut Option<std::collections::BTreeMap<String, String>>,
    key: &str,
) -> Map<String, Value> {
    let raw = annotations.as_mut().and_then(|a| a.remove(key));
    raw.and_then(|r| serde_json::from_str::<Value>(&r).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

/// Writes a non-empty spec payload under `key`, in upstream's envelope.
pub fn put_spec(
    annotations: &mut Option<std::collections::BTreeMap<String, String>>,
    key: &str,
    spec: Map<String, Value>,
) {
    if !spec.is_empty() {
        let envelope = json!({ "version": 1, "spec": spec });
        annotations
            .get_or_insert_with(Default::default)
            .insert(key.to_string(), envelope.to_string());
    }
}

/// Writes a non-empty status payload under `key` (plain JSON, as upstream writes it).
pub fn put_status(
    annotations: &mut Option<std::collections::BTreeMap<String, String>>,
    key: &str,
    status: Map<String, Value>,
) {
    if !status.is_empty() {
        annotations
            .get_or_insert_with(Default::default)
            .insert(key.to_string(), Value::Object(status).to_string());
    }
}

/// Removes every private annotation (user copies of them included: the keys are reserved).
pub fn scrub(annotations: &mut Option<std::collections::BTreeMap<String, String>>) {
    if let Some(a) = annotations.as_mut() {
        a.retain(|k, _| !is_private(k));
        if a.is_empty() {
            *annotations = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn diff_then_overlay_gives_back_what_was_wanted() {
        let want = map(json!({"a": 1, "b": {"x": 1}, "c": [1]}));
        let got = map(json!({"a": 1, "b": {"x": 2}, "d": true}));
        let d = diff(&want, &got);
        assert_eq!(d, map(json!({"b": {"x": 1}, "c": [1], "d": null})));
        assert_eq!(overlay(&got, &d), want);
    }

    #[test]
    fn restore_keeps_only_fields_that_still_project_to_the_live_object() {
        // The projection keeps `live` only; `ingress` has no home there, `image` does.
        let project = |m: &Map<String, Value>| Some(json!({ "image": m.get("image") }));
        let live = json!({ "image": "new" });
        let projected = map(json!({ "image": "new" }));
        let saved = map(json!({ "image": "old", "ingress": {"enabled": true} }));
        let out = restore(projected, &saved, project, &live);
        assert_eq!(
            out,
            map(json!({ "image": "new", "ingress": {"enabled": true} }))
        );
    }

    #[test]
    fn payloads_are_enveloped_and_private_annotations_scrubbed() {
        let mut ann = Some(std::collections::BTreeMap::from([
            ("keep".to_string(), "1".to_string()),
            (DGD_STATUS.to_string(), "{}".to_string()),
        ]));
        put_spec(&mut ann, DGD_SPEC, map(json!({"pvcs": []})));
        assert_eq!(
            ann.as_ref().unwrap()[DGD_SPEC],
            r#"{"spec":{"pvcs":[]},"version":1}"#
        );
        assert_eq!(take_spec(&mut ann, DGD_SPEC), map(json!({"pvcs": []})));
        scrub(&mut ann);
        assert_eq!(ann.unwrap().keys().collect::<Vec<_>>(), ["keep"]);
        let mut legacy = Some(std::collections::BTreeMap::from([(
            DGD_SPEC.to_string(),
            r#"{"pvcs":[]}"#.to_string(),
        )]));
        assert_eq!(take_spec(&mut legacy, DGD_SPEC), map(json!({"pvcs": []})));
        scrub(&mut legacy);
        assert_eq!(legacy, None);
    }
}
