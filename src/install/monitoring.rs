//! The PodMonitors (`monitoring.coreos.com/v1`) through which a Prometheus Operator scrapes the
//! components the operator renders: frontends on `http`, every worker type on `system`,
//! planners on `metrics`, every 5 s with upstream's relabelling. Only pods labelled
//! `nvidia.com/metrics-enabled: "true"` (the render's default) are scraped.

use serde_json::{Value, json};

use super::{InstallOptions, labels};
use crate::api::consts::{LABEL_COMPONENT_TYPE, LABEL_METRICS_ENABLED};

/// The PodMonitors' API version.
pub const API_VERSION: &str = "monitoring.coreos.com/v1";
/// The PodMonitors' names, in apply order.
pub const NAMES: [&str; 3] = ["dynamo-frontend", "dynamo-worker", "dynamo-planner"];

/// `(Prometheus label, pod label)` pairs: the pod label's value becomes the series label.
const DYNAMO_NAMESPACE: (&str, &str) = (
    "dynamo_namespace",
    "__meta_kubernetes_pod_label_nvidia_com_dynamo_namespace",
);
const COMPONENT_TYPE: (&str, &str) = (
    "dynamo_component_type",
    "__meta_kubernetes_pod_label_nvidia_com_dynamo_component_type",
);

/// The PodMonitors `opts` asks for (none unless `pod_monitors` is set).
pub fn pod_monitors(opts: &InstallOptions) -> Vec<Value> {
    let Some(release) = &opts.pod_monitors else {
        return Vec::new();
    };
    let mut meta_labels = labels(opts);
    // kube-prometheus-stack's Prometheus selects monitors by `release` (upstream #12003).
    meta_labels.insert("release".into(), release.clone());
    // Cluster-wide: graphs in any namespace; namespace-scoped: only the operator's.
    let namespace_selector = if opts.namespace_scoped {
        json!({ "matchNames": [opts.namespace] })
    } else {
        json!({ "any": true })
    };
    let endpoint = |port: &str, relabel: &[(&str, &str)], honor_labels: bool| {
        let mut e = json!({ "interval": "5s", "path": "/metrics", "port": port });
        if honor_labels {
            // Keeps the labels the runtime sets itself (the frontend's router metrics).
            e["honorLabels"] = json!(true);
        }
        if !relabel.is_empty() {
            e["relabelings"] = relabel
                .iter()
                .map(|(target, source)| {
                    json!({ "action": "replace", "sourceLabels": [source], "targetLabel": target })
                })
                .collect();
        }
        e
    };
    let of_type = |component_type: &str| json!({ "matchLabels": { LABEL_COMPONENT_TYPE: component_type, LABEL_METRICS_ENABLED: "true" } });
    // Upstream 0.8 selects `worker` only; disaggregated graphs' prefill and decode workers
    // serve the same metrics on the same port.
    let workers = json!({ "matchExpressions": [
        { "key": LABEL_COMPONENT_TYPE, "operator": "In", "values": ["worker", "prefill", "decode"] },
        { "key": LABEL_METRICS_ENABLED, "operator": "In", "values": ["true"] },
    ]});
    let specs = [
        (
            endpoint("http", &[DYNAMO_NAMESPACE], true),
            of_type("frontend"),
        ),
        (endpoint("system", &[COMPONENT_TYPE], false), workers),
        (endpoint("metrics", &[], false), of_type("planner")),
    ];
    NAMES
        .iter()
        .zip(specs)
        .map(|(name, (endpoint, selector))| {
            json!({
                "apiVersion": API_VERSION,
                "kind": "PodMonitor",
                "metadata": { "name": name, "namespace": opts.namespace, "labels": meta_labels },
                "spec": {
                    "namespaceSelector": namespace_selector,
                    "podMetricsEndpoints": [endpoint],
                    "selector": selector,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_monitors_with_the_release_label_and_every_worker_type() {
        assert!(pod_monitors(&InstallOptions::default()).is_empty());
        let opts = InstallOptions {
            pod_monitors: Some("kube-prometheus-stack".into()),
            ..InstallOptions::default()
        };
        let m = pod_monitors(&opts);
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[0]["metadata"]["labels"]["release"],
            "kube-prometheus-stack"
        );
        assert_eq!(m[0]["spec"]["namespaceSelector"], json!({"any": true}));
        assert_eq!(m[0]["spec"]["podMetricsEndpoints"][0]["port"], "http");
        assert_eq!(
            m[1]["spec"]["selector"]["matchExpressions"][0]["values"],
            json!(["worker", "prefill", "decode"])
        );
        assert_eq!(m[2]["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
        let scoped = pod_monitors(&InstallOptions {
            namespace: "team-a".into(),
            namespace_scoped: true,
            ..opts
        });
        assert_eq!(
            scoped[1]["spec"]["namespaceSelector"],
            json!({"matchNames": ["team-a"]})
        );
    }
}
