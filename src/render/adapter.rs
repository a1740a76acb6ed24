//! Scaling adapters of a graph: which DynamoGraphDeploymentScalingAdapters it should have,
//! the selector of a service's pods, and what an adapter asks of the graph. Pure: the
//! controller (`controller::adapter`) does the reads and writes.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use super::labels::owner_references;
use crate::api::DynamoGraphDeployment;
use crate::api::consts::*;
use crate::api::scaling_adapter::{
    DynamoGraphDeploymentScalingAdapter, ScalingAdapterStatus, adapter_name, enabled,
};

/// Replicas of a service that sets none (the API's default).
const DEFAULT_REPLICAS: i32 = 1;

/// The adapters `dgd` should have, keyed by name: one per service with
/// `scalingAdapter.enabled: true`, controlled by the graph, carrying upstream's labels (so
/// upstream's adapters and ours select alike), seeded with the service's replicas. The seed
/// only matters on creation: afterwards the adapter's replicas are the source of truth.
pub fn adapters(dgd: &DynamoGraphDeployment) -> BTreeMap<String, Value> {
    let graph = dgd.metadata.name.clone().unwrap_or_default();
    let namespace = dgd
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let owner = owner_references(dgd);
    let mut out = BTreeMap::new();
    for (service, spec) in dgd.spec.services.iter().flatten() {
        if !enabled(spec) {
            continue;
        }
        let name = adapter_name(&graph, service);
        let mut metadata = json!({
            "name": name,
            "namespace": namespace,
            "labels": labels(&graph, service),
        });
        if let Some(refs) = &owner {
            metadata["ownerReferences"] = refs.clone();
        }
        let adapter = json!({
            "apiVersion": API_VERSION,
            "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": metadata,
            "spec": {
                "replicas": spec.replicas.unwrap_or(DEFAULT_REPLICAS),
                "dgdRef": { "name": graph, "serviceName": service },
            },
        });
        out.insert(name, adapter);
    }
    out
}

/// Labels of an adapter: upstream's two, plus ours.
fn labels(graph: &str, service: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_GRAPH.to_string(), graph.to_string()),
        (LABEL_COMPONENT.to_string(), service.to_string()),
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
        (LABEL_PART_OF.to_string(), graph.to_string()),
    ])
}

/// The label selector of exactly one service's pods, in the canonical (sorted) string form
/// the scale subresource returns: every rendered pod carries both labels, and no other
/// service's pods carry the same pair.
pub fn pod_selector(graph: &str, service: &str) -> String {
    format!("{LABEL_COMPONENT}={service},{LABEL_GRAPH}={graph}")
}

/// What one adapter needs done, decided from the adapter and its graph.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSync {
    /// Replicas to write into the graph's service (`None`: the graph already has them, or
    /// the adapter has nothing to drive).
    pub graph_replicas: Option<i32>,
    /// The adapter's new status (`None`: unchanged).
    pub status: Option<ScalingAdapterStatus>,
}

/// Decides what an adapter asks of its graph. The adapter drives its service only while the
/// graph exists, has the service and the service still opts in; otherwise it waits (the
/// graph's pass deletes adapters of services that opted out or were removed).
pub fn sync(
    adapter: &DynamoGraphDeploymentScalingAdapter,
    graph: Option<&DynamoGraphDeployment>,
    now: &Time,
) -> AdapterSync {
    let idle = AdapterSync {
        graph_replicas: None,
        status: None,
    };
    let reference = &adapter.spec.dgd_ref;
    let Some(graph) = graph else { return idle };
    let Some(service) = graph
        .spec
        .services
        .as_ref()
        .and_then(|s| s.get(&reference.service_name))
        .filter(|s| enabled(s))
    else {
        return idle;
    };
    let wanted = adapter.spec.replicas;
    let current = service.replicas.unwrap_or(DEFAULT_REPLICAS);
    let old = adapter.status.clone().unwrap_or_default();
    let scaled = current != wanted;
    let status = ScalingAdapterStatus {
        replicas: Some(wanted),
        selector: Some(pod_selector(&reference.name, &reference.service_name)),
        last_scale_time: if scaled {
            Some(now.clone())
        } else {
            old.last_scale_time.clone()
        },
    };
    AdapterSync {
        graph_replicas: scaled.then_some(wanted),
        status: (status != old).then_some(status),
    }
}

/// The adapter controller's whole server-side apply configuration of a graph: the replicas
/// of every service an adapter drives, and nothing else. Always whole, because an apply
/// replaces everything its field manager applied before: naming one service would release
/// the others, and a service that no longer opts in is released by leaving it out.
pub fn replicas_patch(graph: &str, replicas: &BTreeMap<String, i32>) -> Value {
    let services: serde_json::Map<String, Value> = replicas
        .iter()
        .map(|(s, r)| (s.clone(), json!({ "replicas": r })))
        .collect();
    json!({
        "apiVersion": API_VERSION,
        "kind": "DynamoGraphDeployment",
        "metadata": { "name": graph },
        "spec": { "services": services },
    })
}

/// Makes a graph document leave adapter-owned replicas alone: every service (v1alpha1
/// `spec.services`) or component (v1beta1 `spec.components`) that opts in to an adapter and
/// already exists in `live` gets the live replicas (or none, when live has none). Applying
/// the result then changes no replicas, so `dynamoctl apply` never fights the adapter
/// controller or the planner, passes the replica policy, and `diff` shows no drift there.
/// A graph or service that does not exist yet keeps the file's replicas: they seed the
/// adapter. A service that opts out in this document keeps its live replicas once more.
pub fn keep_live_replicas(desired: &mut Value, live: Option<&Value>) {
    let Some(live) = live else { return };
    if desired["kind"] != "DynamoGraphDeployment" {
        return;
    }
    // v1beta1 opts in with a bare `scalingAdapter: {}`.
    let beta = desired["apiVersion"] != API_VERSION;
    if let Some(services) = desired
        .pointer_mut("/spec/services")
        .and_then(Value::as_object_mut)
    {
        for (name, entry) in services.iter_mut() {
            let old = live.pointer("/spec/services").and_then(|s| s.get(name));
            keep_replicas(entry, old, beta);
        }
    } else if let Some(components) = desired
        .pointer_mut("/spec/components")
        .and_then(Value::as_array_mut)
    {
        for entry in components.iter_mut() {
            let name = entry.get("name").cloned();
            let old = live
                .pointer("/spec/components")
                .and_then(Value::as_array)
                .and_then(|l| l.iter().find(|c| c.get("name") == name.as_ref()));
            keep_replicas(entry, old, beta);
        }
    }
}

/// One service or component of [`keep_live_replicas`].
fn keep_replicas(entry: &mut Value, old: Option<&Value>, beta: bool) {
    let opted_in = |e: &Value| {
        e.pointer("/scalingAdapter/enabled") == Some(&Value::Bool(true))
            || (beta && e.get("scalingAdapter").is_some())
    };
    // Opting out keeps the replicas too: the adapter still owns them in that update (the
    // replica policy refuses a change then, as upstream's webhook does); the next apply sets
    // the file's.
    let owned = opted_in(entry) || old.is_some_and(opted_in);
    let (Some(old), true, Some(fields)) = (old, owned, entry.as_object_mut()) else {
        return;
    };
    match old.get("replicas") {
        Some(r) => fields.insert("replicas".into(), r.clone()),
        None => fields.remove("replicas"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_keeps_the_live_replicas_of_adapter_owned_services_only() {
        let live = json!({"kind": "DynamoGraphDeployment", "spec": {"services": {
            "Worker": {"replicas": 7, "scalingAdapter": {"enabled": true}},
            "Frontend": {"replicas": 1},
            "Bare": {"scalingAdapter": {"enabled": true}},
            "Leaving": {"replicas": 8, "scalingAdapter": {"enabled": true}},
        }}});
        let mut desired = json!({"apiVersion": API_VERSION, "kind": "DynamoGraphDeployment", "spec": {"services": {
            "Worker": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "Frontend": {"replicas": 3},
            "Bare": {"replicas": 4, "scalingAdapter": {"enabled": true}},
            "New": {"replicas": 5, "scalingAdapter": {"enabled": true}},
            "Leaving": {"replicas": 1},
        }}});
        keep_live_replicas(&mut desired, Some(&live));
        let s = &desired["spec"]["services"];
        assert_eq!(s["Worker"]["replicas"], json!(7));
        assert_eq!(s["Frontend"]["replicas"], json!(3));
        assert!(s["Bare"].get("replicas").is_none());
        assert_eq!(s["New"]["replicas"], json!(5));
        assert_eq!(s["Leaving"]["replicas"], json!(8));

        // Creation: the file's replicas seed the adapters.
        let before = desired.clone();
        keep_live_replicas(&mut desired, None);
        assert_eq!(desired, before);
    }

    #[test]
    fn v1beta1_components_opt_in_with_an_empty_marker() {
        let live = json!({"kind": "DynamoGraphDeployment", "spec": {"components": [
            {"name": "worker", "replicas": 6, "scalingAdapter": {}},
        ]}});
        let mut desired = json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment", "spec": {"components": [
            {"name": "worker", "replicas": 1, "scalingAdapter": {}},
            {"name": "frontend", "replicas": 2},
        ]}});
        keep_live_replicas(&mut desired, Some(&live));
        assert_eq!(desired["spec"]["components"][0]["replicas"], json!(6));
        assert_eq!(desired["spec"]["components"][1]["replicas"], json!(2));
    }

    fn graph(services: Value) -> DynamoGraphDeployment {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "DynamoGraphDeployment",
            "metadata": {"name": "g", "namespace": "ns", "uid": "u-1"},
            "spec": {"services": services},
        }))
        .unwrap()
    }

    fn adapter(service: &str, replicas: i32, status: Value) -> DynamoGraphDeploymentScalingAdapter {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": {"name": adapter_name("g", service), "namespace": "ns"},
            "spec": {"replicas": replicas, "dgdRef": {"name": "g", "serviceName": service}},
            "status": status,
        }))
        .unwrap()
    }

    fn at(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    #[test]
    fn one_adapter_per_opted_in_service_owned_by_the_graph() {
        let g = graph(json!({
            "Worker": {"replicas": 3, "scalingAdapter": {"enabled": true}},
            "Prefill": {"scalingAdapter": {"enabled": true}},
            "Frontend": {"replicas": 2},
            "Old": {"scalingAdapter": {"disable": true}},
        }));
        let out = adapters(&g);
        assert_eq!(
            out.keys().collect::<Vec<_>>(),
            ["g-prefill", "g-worker"].iter().collect::<Vec<_>>()
        );
        let w = &out["g-worker"];
        assert_eq!(
            w["spec"],
            json!({"replicas": 3, "dgdRef": {"name": "g", "serviceName": "Worker"}})
        );
        assert_eq!(out["g-prefill"]["spec"]["replicas"], json!(1));
        assert_eq!(w["metadata"]["ownerReferences"][0]["uid"], json!("u-1"));
        assert_eq!(
            w["metadata"]["ownerReferences"][0]["controller"],
            json!(true)
        );
        assert_eq!(w["metadata"]["labels"][LABEL_COMPONENT], json!("Worker"));
        assert_eq!(w["metadata"]["labels"][LABEL_GRAPH], json!("g"));
    }

    #[test]
    fn a_new_replica_count_is_written_once_and_stamped() {
        let g = graph(json!({"Worker": {"replicas": 3, "scalingAdapter": {"enabled": true}}}));
        let now = at("2026-01-01T00:00:00Z");
        let out = sync(&adapter("Worker", 5, json!({})), Some(&g), &now);
        assert_eq!(out.graph_replicas, Some(5));
        let status = out.status.unwrap();
        assert_eq!(status.replicas, Some(5));
        assert_eq!(status.last_scale_time, Some(now.clone()));
        assert_eq!(
            status.selector.as_deref(),
            Some("nvidia.com/dynamo-component=Worker,nvidia.com/dynamo-graph-deployment-name=g")
        );

        // Caught up: nothing to write, the scale time stays.
        let g = graph(json!({"Worker": {"replicas": 5, "scalingAdapter": {"enabled": true}}}));
        let settled = adapter("Worker", 5, serde_json::to_value(&status).unwrap());
        let later = at("2026-01-01T01:00:00Z");
        assert_eq!(
            sync(&settled, Some(&g), &later),
            AdapterSync {
                graph_replicas: None,
                status: None
            }
        );
    }

    #[test]
    fn an_adapter_without_a_willing_service_waits() {
        let now = at("2026-01-01T00:00:00Z");
        let a = adapter("Worker", 5, json!({}));
        let idle = AdapterSync {
            graph_replicas: None,
            status: None,
        };
        assert_eq!(sync(&a, None, &now), idle);
        let opted_out = graph(json!({"Worker": {"replicas": 3}}));
        assert_eq!(sync(&a, Some(&opted_out), &now), idle);
        let removed = graph(json!({"Other": {"scalingAdapter": {"enabled": true}}}));
        assert_eq!(sync(&a, Some(&removed), &now), idle);
    }

    #[test]
    fn the_replicas_patch_names_one_field() {
        let replicas = BTreeMap::from([("Worker".to_string(), 4), ("Prefill".to_string(), 2)]);
        assert_eq!(
            replicas_patch("g", &replicas)["spec"],
            json!({"services": {"Prefill": {"replicas": 2}, "Worker": {"replicas": 4}}})
        );
        assert_eq!(
            replicas_patch("g", &BTreeMap::new())["spec"],
            json!({"services": {}})
        );
    }
}
