//! Invariants of rendering, over generated graphs: names are valid, selectors match their own
//! pods and only those, env lists are sorted and unique, nothing is null, output is stable.

use std::collections::BTreeMap;

use dynamoctl::manifest::Object;
use dynamoctl::render::{RenderOptions, render_all};
use proptest::prelude::*;
use serde_json::{Value, json};

fn env_list() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["HF_HOME", "DYN_NAMESPACE", "A", "B", "LOG"]),
            "[a-z]{0,4}",
        )
            .prop_map(|(n, v)| json!({ "name": n, "value": v })),
        0..4,
    )
}

fn service() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![None, Some("frontend"), Some("worker"), Some("prefill"), Some("decode"), Some("planner"), Some("main")]),
        prop::option::of(0..4i32),
        env_list(),
        prop::option::of(prop::sample::select(vec!["prefill", "decode"])),
        any::<bool>(),
    )
        .prop_map(|(ty, replicas, envs, sub, with_labels)| {
            let mut s = json!({ "envs": envs, "extraPodSpec": { "mainContainer": { "image": "example.com/x:1" } } });
            if let Some(t) = ty { s["componentType"] = json!(t); }
            if let Some(r) = replicas { s["replicas"] = json!(r); }
            if let Some(t) = sub { s["subComponentType"] = json!(t); }
            if with_labels { s["labels"] = json!({ "team": "a" }); }
            s
        })
}

fn graph() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["demo", "g", "vllm-agg"]),
        prop::collection::btree_map(
            prop::sample::select(vec![
                "Frontend", "Worker", "Prefill", "Decode", "Planner", "X1",
            ]),
            service(),
            1..5,
        ),
        env_list(),
    )
        .prop_map(|(name, services, envs)| {
            json!({
                "apiVersion": "nvidia.com/v1alpha1",
                "kind": "DynamoGraphDeployment",
                "metadata": { "name": name, "namespace": "ns" },
                "spec": { "services": services, "envs": envs },
            })
        })
}

fn contains_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(contains_null),
        Value::Object(o) => o.values().any(contains_null),
        _ => false,
    }
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn subset(small: &BTreeMap<String, String>, big: &BTreeMap<String, String>) -> bool {
    small.iter().all(|(k, v)| big.get(k) == Some(v))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn rendered_graphs_keep_their_invariants(g in graph()) {
        let dgd = serde_json::from_value(g).unwrap();
        let objects = vec![Object::Graph(Box::new(dgd))];
        let out = render_all(&objects, &RenderOptions::default()).expect("generated graphs are valid");
        prop_assert_eq!(&out, &render_all(&objects, &RenderOptions::default()).unwrap(), "deterministic");

        let deployments: Vec<&Value> = out.iter().filter(|o| o["kind"] == "Deployment").collect();
        for o in &out {
            prop_assert!(!contains_null(o), "no nulls: {}", o);
            let name = o["metadata"]["name"].as_str().unwrap();
            prop_assert!(name.len() <= 63 && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{}", name);
        }
        for d in &deployments {
            let pod_labels = labels(&d["spec"]["template"]["metadata"]["labels"]);
            prop_assert!(subset(&labels(&d["spec"]["selector"]["matchLabels"]), &pod_labels));
            for c in d["spec"]["template"]["spec"]["containers"].as_array().unwrap() {
                let names: Vec<&str> = c["env"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
                let mut sorted = names.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(&names, &sorted, "env sorted and unique");
            }
        }
        for s in out.iter().filter(|o| o["kind"] == "Service") {
            let selector = labels(&s["spec"]["selector"]);
            let selected: Vec<&str> = deployments
                .iter()
                .filter(|d| subset(&selector, &labels(&d["spec"]["template"]["metadata"]["labels"])))
                .map(|d| d["metadata"]["name"].as_str().unwrap())
                .collect();
            prop_assert_eq!(selected, vec![s["metadata"]["name"].as_str().unwrap()], "a Service selects exactly its own component");
        }
    }
}
