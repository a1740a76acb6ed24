//! Server-side printing (`meta.k8s.io/v1` Table), which `kubectl get` asks for
//! with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Columns follow
//! upstream's printers for the kinds our tools show (Deployment READY/
//! UP-TO-DATE/AVAILABLE, Lease HOLDER, ...) and a CRD's
//! `additionalPrinterColumns`; other kinds get NAME and AGE.

use serde_json::{Value, json};

use crate::registry::ResourceType;

/// Whether the Accept header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| {
        let p: String = first.chars().filter(|c| !c.is_whitespace()).collect();
        p.contains("as=Table") && p.contains("g=meta.k8s.io")
    })
}

/// kubectl's `HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn age(ts: Option<&str>, now: &str) -> String {
    let parse = |s: &str| s.parse::<k8s_openapi::jiff::Timestamp>().ok();
    match (ts.and_then(parse), parse(now)) {
        (Some(t), Some(n)) => human_duration(n.as_second() - t.as_second()),
        _ => "<unknown>".into(),
    }
}

fn col(name: &str, ty: &str, priority: i64) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({ "name": name, "type": ty, "format": format, "description": "", "priority": priority })
}

fn get<'a>(o: &'a Value, ptr: &str) -> Option<&'a Value> {
    o.pointer(ptr).filter(|v| !v.is_null())
}

fn int(o: &Value, ptr: &str) -> i64 {
    get(o, ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn text(o: &Value, ptr: &str) -> String {
    match get(o, ptr) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "<none>".into(),
    }
}

/// A CRD printer column's value: `jsonPath` is a simple `.a.b` path here.
fn json_path(o: &Value, path: &str) -> Value {
    let ptr: String = path
        .trim_start_matches('.')
        .split('.')
        .map(|s| format!("/{s}"))
        .collect();
    get(o, &ptr).cloned().unwrap_or(Value::Null)
}

fn containers(o: &Value) -> (String, String) {
    let cs = get(o, "/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = cs
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let images: Vec<String> = cs
        .iter()
        .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_string))
        .collect();
    (names.join(","), images.join(","))
}

/// Column definitions and a row builder for `rt`.
fn columns(rt: &ResourceType, version: &str) -> Vec<Value> {
    let mut cols = vec![col("Name", "string", 0)];
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("apps", "Deployment") => {
            cols.extend([
                col("Ready", "string", 0),
                col("Up-to-date", "integer", 0),
                col("Available", "integer", 0),
                col("Age", "string", 0),
            ]);
            cols.extend([
                col("Containers", "string", 1),
                col("Images", "string", 1),
                col("Selector", "string", 1),
            ]);
            return cols;
        }
        ("coordination.k8s.io", "Lease") => cols.push(col("Holder", "string", 0)),
        ("", "ConfigMap") => cols.push(col("Data", "integer", 0)),
        ("", "Secret") => cols.extend([col("Type", "string", 0), col("Data", "integer", 0)]),
        ("", "Namespace") => cols.push(col("Status", "string", 0)),
        ("", "Service") => cols.extend([
            col("Type", "string", 0),
            col("Cluster-IP", "string", 0),
            col("External-IP", "string", 0),
            col("Port(s)", "string", 0),
        ]),
        ("", "Pod") => cols.extend([
            col("Ready", "string", 0),
            col("Status", "string", 0),
            col("Restarts", "string", 0),
        ]),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            cols.push(col("Created At", "date", 0));
            return cols;
        }
        _ if rt.custom => {
            let printer = printer_columns(rt, version);
            if !printer.is_empty() {
                for c in &printer {
                    cols.push(col(
                        c["name"].as_str().unwrap_or(""),
                        c["type"].as_str().unwrap_or("string"),
                        c["priority"].as_i64().unwrap_or(0),
                    ));
                }
                // Upstream appends Age only when the CRD declares no date column of its own.
                if !printer
                    .iter()
                    .any(|c| c["jsonPath"] == ".metadata.creationTimestamp")
                {
                    cols.push(col("Age", "date", 0));
                }
                return cols;
            }
        }
        _ => {}
    }
    cols.push(col("Age", "string", 0));
    cols
}

fn printer_columns(rt: &ResourceType, version: &str) -> Vec<Value> {
    rt.printer_columns
        .iter()
        .find(|(v, _)| v == version)
        .map(|(_, c)| c.clone())
        .unwrap_or_default()
}

fn cells(rt: &ResourceType, version: &str, o: &Value, now: &str) -> Vec<Value> {
    let name = json!(text(o, "/metadata/name"));
    let created = get(o, "/metadata/creationTimestamp").and_then(Value::as_str);
    let age_cell = json!(age(created, now));
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("apps", "Deployment") => {
            let (cs, images) = containers(o);
            let selector = get(o, "/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let desired = get(o, "/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            vec![
                name,
                json!(format!("{}/{desired}", int(o, "/status/readyReplicas"))),
                json!(int(o, "/status/updatedReplicas")),
                json!(int(o, "/status/availableReplicas")),
                age_cell,
                json!(cs),
                json!(images),
                json!(selector),
            ]
        }
        ("coordination.k8s.io", "Lease") => vec![
            name,
            json!(
                get(o, "/spec/holderIdentity")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
            age_cell,
        ],
        ("", "ConfigMap") => {
            let n = get(o, "/data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
                + get(o, "/binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
            vec![name, json!(n), age_cell]
        }
        ("", "Secret") => vec![
            name,
            json!(text(o, "/type")),
            json!(
                get(o, "/data")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len())
            ),
            age_cell,
        ],
        ("", "Namespace") => vec![name, json!(text(o, "/status/phase")), age_cell],
        ("", "Service") => {
            let ports = get(o, "/spec/ports")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            format!(
                                "{}/{}",
                                p.get("port").map(|v| v.to_string()).unwrap_or_default(),
                                p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_else(|| "<none>".into());
            let cip = get(o, "/spec/clusterIP")
                .and_then(Value::as_str)
                .unwrap_or("<none>")
                .to_string();
            vec![
                name,
                json!(text(o, "/spec/type")),
                json!(cip),
                json!("<none>"),
                json!(ports),
                age_cell,
            ]
        }
        ("", "Pod") => {
            let total = get(o, "/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let ready = get(o, "/status/containerStatuses")
                .and_then(Value::as_array)
                .map_or(0, |a| {
                    a.iter()
                        .filter(|c| c.get("ready") == Some(&json!(true)))
                        .count()
                });
            let phase = get(o, "/status/phase")
                .and_then(Value::as_str)
                .unwrap_or("Pending")
                .to_string();
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(phase),
                json!("0"),
                age_cell,
            ]
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            vec![name, json!(created.unwrap_or(""))]
        }
        _ if rt.custom && !printer_columns(rt, version).is_empty() => {
            let printer = printer_columns(rt, version);
            let mut row = vec![name];
            for c in &printer {
                let v = json_path(o, c["jsonPath"].as_str().unwrap_or(""));
                row.push(match (c["type"].as_str(), &v) {
                    (Some("date"), Value::String(s)) => json!(age(Some(s), now)),
                    (_, Value::Null) => json!(""),
                    _ => v,
                });
            }
            if !printer
                .iter()
                .any(|c| c["jsonPath"] == ".metadata.creationTimestamp")
            {
                row.push(age_cell);
            }
            row
        }
        _ => vec![name, age_cell],
    }
}

fn row_object(o: &Value, include: &str) -> Value {
    match include {
        "None" => Value::Null,
        "Object" => o.clone(),
        _ => {
            let mut md = o.get("metadata").cloned().unwrap_or(json!({}));
            if let Some(m) = md.as_object_mut() {
                m.remove("managedFields");
            }
            json!({ "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md })
        }
    }
}

/// A Table of `objs` (a list response or a single object).
pub fn table(
    rt: &ResourceType,
    version: &str,
    objs: &[Value],
    list_meta: Value,
    include_object: &str,
    now: &str,
) -> Value {
    let rows: Vec<Value> = objs
        .iter()
        .map(|o| {
            let mut r = json!({ "cells": cells(rt, version, o, now) });
            let obj = row_object(o, include_object);
            if !obj.is_null() {
                r["object"] = obj;
            }
            r
        })
        .collect();
    json!({ "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "columnDefinitions": columns(rt, version), "rows": rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_kubectl() {
        for (s, want) in [
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (50 * 3600, "2d2h"),
            (400 * 86400, "400d"),
        ] {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }

    #[test]
    fn accept_negotiation() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
