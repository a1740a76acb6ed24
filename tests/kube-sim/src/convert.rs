//! Conversion for resources that share storage with another API: upstream,
//! `events.k8s.io/v1` Events and core `v1` Events are one stored object seen
//! through two schemas, so an event a controller records through
//! events.k8s.io shows up in `kubectl get events` / `kubectl describe`
//! (which read core events) and vice versa.

use serde_json::{Map, Value, json};

/// (events.k8s.io/v1 field, core/v1 field) pairs that differ only in name.
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// Fields with the same name in both versions.
const EVENT_SAME: &[&str] = &[
    "metadata",
    "reason",
    "type",
    "action",
    "related",
    "reportingInstance",
    "eventTime",
    "series",
];

fn rename(obj: &Value, api_version: &str, to_core: bool) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!("Event"));
    let Some(m) = obj.as_object() else {
        return Value::Object(out);
    };
    for k in EVENT_SAME {
        if let Some(v) = m.get(*k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    for (new, core) in EVENT_FIELDS {
        let (from, to) = if to_core { (new, core) } else { (core, new) };
        if let Some(v) = m.get(*from) {
            out.insert(to.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// Converts an events.k8s.io/v1 Event into the stored core/v1 form (no-op for
/// anything that is not an events.k8s.io Event).
pub fn event_to_core(obj: &Value) -> Value {
    if obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|a| a.starts_with("events.k8s.io/"))
    {
        rename(obj, "v1", true)
    } else {
        obj.clone()
    }
}

/// Converts a stored core/v1 Event into events.k8s.io/v1 (no-op when it already is).
pub fn event_from_core(obj: &Value) -> Value {
    if obj.get("apiVersion").and_then(Value::as_str) == Some("v1") {
        rename(obj, "events.k8s.io/v1", false)
    } else {
        obj.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "hi", "reason": "R", "type": "Normal",
            "reportingController": "c", "reportingInstance": "i", "action": "A", "eventTime": "2026-01-01T00:00:00.000000Z"});
        let core = event_to_core(&v1);
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "hi");
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(event_from_core(&core), v1);
    }
}
