//! Invariants of multinode rendering over generated graphs, under Grove and under
//! LeaderWorkerSet: object counts and names follow nodeCount and replicas, Services select
//! leader pods of their own component and never a worker pod, each backend's flags are
//! there, and no `$` reaches a program unexpanded (kubelet `$(VAR)` outside a shell, and
//! inside one only names the kubelet can resolve).

use std::collections::{BTreeMap, BTreeSet};

use dynamoctl::manifest::Object;
use dynamoctl::render::{Orchestrators, RenderOptions, render_all};
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
struct Worker {
    backend: &'static str,
    nodes: i32,
    replicas: Option<i32>,
    gpus: i64,
    in_shell: bool,
    dp: bool,
    /// vLLM's `mp` executor (annotation `nvidia.com/vllm-distributed-executor-backend`).
    mp: bool,
}

fn worker() -> impl Strategy<Value = Worker> {
    (
        prop::sample::select(vec!["sglang", "vllm", "trtllm"]),
        2..6i32,
        prop::option::of(0..4i32),
        1..9i64,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(backend, nodes, replicas, gpus, in_shell, dp, mp)| Worker {
                backend,
                nodes,
                replicas,
                gpus,
                in_shell,
                dp,
                mp,
            },
        )
}

impl Worker {
    fn spec(&self) -> Value {
        let mut args: Vec<String> = vec![
            "--model".into(),
            "m".into(),
            "--json".into(),
            r#"{"a": 1}"#.into(),
        ];
        if self.backend == "vllm" {
            let total = self.gpus * i64::from(self.nodes);
            if self.dp {
                args.extend(["--data-parallel-size".into(), total.to_string()]);
            } else {
                args.extend(["--tensor-parallel-size".into(), total.to_string()]);
            }
        }
        let module = format!("dynamo.{}", self.backend);
        let main = if self.in_shell {
            let line = format!("python3 -m {module} --model m");
            let line = args.iter().skip(4).fold(line, |l, a| format!("{l} {a}"));
            json!({ "image": "x:1", "command": ["/bin/sh", "-c"], "args": [line] })
        } else {
            let mut argv = vec!["-m".to_string(), module];
            argv.extend(args);
            json!({ "image": "x:1", "command": ["python3"], "args": argv })
        };
        let mut s = json!({
            "componentType": "worker",
            "multinode": { "nodeCount": self.nodes },
            "resources": { "limits": { "gpu": self.gpus.to_string() } },
            "envs": [{ "name": "HF_HOME", "value": "/m" }],
            "extraPodSpec": { "mainContainer": main },
        });
        if let Some(r) = self.replicas {
            s["replicas"] = json!(r);
        }
        if self.mp {
            s["annotations"] = json!({ "nvidia.com/vllm-distributed-executor-backend": "mp" });
        }
        s
    }
}

fn graph() -> impl Strategy<Value = (Value, BTreeMap<String, Worker>)> {
    (
        prop::collection::btree_map(
            prop::sample::select(vec!["decode", "prefill", "Wide"]),
            worker(),
            1..3,
        ),
        prop::option::of(0..3i32),
    )
        .prop_map(|(workers, frontend_replicas)| {
            let mut services = serde_json::Map::new();
            let mut fe = json!({ "componentType": "frontend" });
            if let Some(r) = frontend_replicas {
                fe["replicas"] = json!(r);
            }
            services.insert("Frontend".into(), fe);
            for (k, w) in &workers {
                services.insert(k.to_string(), w.spec());
            }
            let g = json!({
                "apiVersion": "nvidia.com/v1alpha1",
                "kind": "DynamoGraphDeployment",
                "metadata": { "name": "g", "namespace": "ns" },
                "spec": { "services": services },
            });
            (
                g,
                workers
                    .into_iter()
                    .map(|(k, w)| (k.to_string(), w))
                    .collect(),
            )
        })
}

fn opts(grove: bool) -> RenderOptions {
    RenderOptions {
        orchestrators: Orchestrators {
            grove,
            lws: !grove,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn subset(small: &BTreeMap<String, String>, big: &BTreeMap<String, String>) -> bool {
    small.iter().all(|(k, v)| big.get(k) == Some(v))
}

/// Every pod template rendered: (labels, pod spec).
fn pods(out: &[Value]) -> Vec<(BTreeMap<String, String>, Value)> {
    let mut pods = Vec::new();
    for o in out {
        match o["kind"].as_str() {
            Some("Deployment") => pods.push((
                labels(&o["spec"]["template"]["metadata"]["labels"]),
                o["spec"]["template"]["spec"].clone(),
            )),
            Some("LeaderWorkerSet") => {
                for t in ["leaderTemplate", "workerTemplate"] {
                    let p = &o["spec"]["leaderWorkerTemplate"][t];
                    pods.push((labels(&p["metadata"]["labels"]), p["spec"].clone()));
                }
            }
            Some("PodCliqueSet") => {
                for c in o["spec"]["template"]["cliques"].as_array().unwrap() {
                    pods.push((labels(&c["labels"]), c["spec"]["podSpec"].clone()));
                }
            }
            _ => {}
        }
    }
    pods
}

fn var_like(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// What the kubelet makes of `s`: `$$` is a literal `$`; `$(NAME)` with NAME known becomes
/// its value (here `V`); any other `$(…` up to the first `)` is left exactly as written.
fn kubelet_expand(s: &str, known: &BTreeSet<String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let (Some(inner), Some(end)) = (after.strip_prefix('('), after.find(')')) {
            let name = &inner[..end - 1];
            if known.contains(name) {
                out.push('V');
            } else {
                out.push_str(&rest[i..i + 2 + end]);
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Checks the `$` rule for one container; returns what is wrong.
fn dollar_problem(c: &Value, injected: &BTreeSet<String>) -> Option<String> {
    let strings = |k: &str| -> Vec<String> {
        c[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    };
    let command = strings("command");
    let args = strings("args");
    let shell = command.len() >= 2 && command[1] == "-c";
    let mut known: BTreeSet<String> = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str().map(String::from))
        .collect();
    known.extend(injected.iter().cloned());
    for word in command.iter().chain(&args) {
        let expanded = kubelet_expand(word, &known);
        if !shell && expanded.contains('$') {
            return Some(format!(
                "a `$` outside a shell reaches the program raw: {word}"
            ));
        }
        // `$(NAME)` surviving the kubelet would make the shell run NAME as a command.
        let mut rest = expanded.as_str();
        while let Some(i) = rest.find("$(") {
            let after = &rest[i + 2..];
            if let Some(end) = after.find(')')
                && var_like(&after[..end])
            {
                return Some(format!(
                    "$({}) is not expanded by the kubelet: {word}",
                    &after[..end]
                ));
            }
            rest = after;
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn multinode_graphs_keep_their_invariants((g, workers) in graph(), grove in any::<bool>()) {
        let dgd = serde_json::from_value(g).unwrap();
        let objects = vec![Object::Graph(Box::new(dgd))];
        let out = render_all(&objects, &opts(grove)).expect("generated graphs are valid");
        prop_assert_eq!(&out, &render_all(&objects, &opts(grove)).unwrap(), "deterministic");
        let count = |kind: &str| out.iter().filter(|o| o["kind"] == kind).count();

        if grove {
            prop_assert_eq!(count("PodCliqueSet"), 1);
            prop_assert_eq!(count("DynamoComponentDeployment") + count("Deployment") + count("LeaderWorkerSet"), 0);
            let pcs = out.iter().find(|o| o["kind"] == "PodCliqueSet").unwrap();
            prop_assert_eq!(&pcs["metadata"]["name"], "g");
            let cliques: BTreeMap<String, i64> = pcs["spec"]["template"]["cliques"].as_array().unwrap().iter()
                .map(|c| (c["name"].as_str().unwrap().to_string(), c["spec"]["replicas"].as_i64().unwrap())).collect();
            let groups: BTreeMap<String, i64> = pcs["spec"]["template"]["podCliqueScalingGroups"].as_array().unwrap().iter()
                .map(|c| (c["name"].as_str().unwrap().to_string(), c["replicas"].as_i64().unwrap())).collect();
            prop_assert_eq!(groups.len(), workers.len());
            for (key, w) in &workers {
                let k = key.to_lowercase();
                prop_assert_eq!(cliques[&format!("{k}-ldr")], 1);
                prop_assert_eq!(cliques[&format!("{k}-wkr")], i64::from(w.nodes - 1));
                prop_assert_eq!(groups[&k], i64::from(w.replicas.unwrap_or(1)));
            }
            prop_assert_eq!(cliques.len(), 1 + 2 * workers.len());
        } else {
            prop_assert_eq!(count("Deployment"), 1, "only the frontend is a Deployment");
            for (key, w) in &workers {
                let base = format!("g-{}", key.to_lowercase());
                let replicas = w.replicas.unwrap_or(1);
                for kind in ["LeaderWorkerSet", "PodGroup"] {
                    let names: Vec<&str> = out.iter().filter(|o| o["kind"] == kind)
                        .filter_map(|o| o["metadata"]["name"].as_str())
                        .filter(|n| n.rsplit_once('-').is_some_and(|(b, _)| b == base)).collect();
                    let want: Vec<String> = (0..replicas).map(|i| format!("{base}-{i}")).collect();
                    prop_assert_eq!(names, want.iter().map(String::as_str).collect::<Vec<_>>());
                }
                for o in out.iter().filter(|o| o["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(&format!("{base}-")))) {
                    match o["kind"].as_str() {
                        Some("LeaderWorkerSet") => prop_assert_eq!(o["spec"]["leaderWorkerTemplate"]["size"].as_i64(), Some(i64::from(w.nodes))),
                        Some("PodGroup") => prop_assert_eq!(o["spec"]["minMember"].as_i64(), Some(i64::from(w.nodes))),
                        _ => {}
                    }
                }
            }
        }

        // Services select their own component's serving pods: never a worker pod.
        let pods = pods(&out);
        for s in out.iter().filter(|o| o["kind"] == "Service") {
            let selector = labels(&s["spec"]["selector"]);
            let selected: Vec<&BTreeMap<String, String>> = pods.iter().map(|(l, _)| l).filter(|l| subset(&selector, l)).collect();
            let key = selector.get("nvidia.com/dynamo-component").cloned().unwrap_or_default();
            let scaled_to_zero = !grove && workers.get(&key).is_some_and(|w| w.replicas == Some(0));
            prop_assert!(scaled_to_zero || !selected.is_empty(), "{} selects nothing", s["metadata"]["name"]);
            for l in selected {
                prop_assert_ne!(l.get("role").map(String::as_str), Some("worker"), "{} selects worker pods", s["metadata"]["name"]);
                prop_assert_eq!(l.get("nvidia.com/dynamo-component"), selector.get("nvidia.com/dynamo-component"));
            }
        }

        // Launch flags per backend, and the `$` rule.
        let injected: BTreeSet<String> = if grove {
            ["GROVE_PCSG_NAME", "GROVE_PCSG_INDEX", "GROVE_HEADLESS_SERVICE", "GROVE_PCLQ_POD_INDEX"].iter().map(|s| s.to_string()).collect()
        } else {
            ["LWS_LEADER_ADDRESS", "LWS_WORKER_INDEX", "LWS_GROUP_SIZE"].iter().map(|s| s.to_string()).collect()
        };
        for (l, spec) in &pods {
            let main = spec["containers"].as_array().unwrap().last().unwrap();
            for c in std::iter::once(main).chain(spec["initContainers"].as_array().into_iter().flatten()) {
                if let Some(p) = dollar_problem(c, &injected) {
                    prop_assert!(false, "{}", p);
                }
            }
            let Some(role) = l.get("role") else { continue };
            let w = &workers[&l["nvidia.com/dynamo-component"]];
            let line: String = ["command", "args"].iter().flat_map(|k| main[*k].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_str().map(String::from)).collect::<Vec<_>>().join(" ");
            match (w.backend, role.as_str()) {
                ("sglang", _) => {
                    prop_assert!(line.contains(&format!("--nnodes {}", w.nodes)), "{}", line);
                    prop_assert_eq!(role == "leader", line.contains("--node-rank 0"), "{}", line);
                }
                ("vllm", _) if !w.dp && w.mp => {
                    prop_assert!(line.contains(&format!("--distributed-executor-backend mp --nnodes {} ", w.nodes)), "{}", line);
                    prop_assert_eq!(role == "leader", line.contains("--node-rank 0"), "{}", line);
                    prop_assert_eq!(role == "worker", line.contains("--headless"), "{}", line);
                    let waits = spec["initContainers"].as_array().into_iter().flatten().any(|c| c["name"] == "wait-for-leader-mp");
                    prop_assert_eq!(role == "worker", waits);
                }
                ("vllm", "leader") if !w.dp => prop_assert!(line.starts_with("/bin/sh -c ray start --head") && line.contains("--distributed-executor-backend ray"), "{}", line),
                ("vllm", "worker") if !w.dp => prop_assert!(line.contains("ray start --address="), "{}", line),
                ("vllm", _) => {
                    prop_assert!(line.contains(&format!("--data-parallel-size-local {}", w.gpus)), "{}", line);
                    prop_assert_eq!(role == "leader", line.contains("--data-parallel-start-rank 0"), "{}", line);
                }
                ("trtllm", "leader") => prop_assert!(line.contains(&format!("mpirun --allow-run-as-root --oversubscribe -n {} ", i64::from(w.nodes) * w.gpus)), "{}", line),
                ("trtllm", _) => prop_assert!(line.contains("/usr/sbin/sshd -D"), "{}", line),
                _ => {}
            }
            if role == "worker" {
                prop_assert!(main.get("livenessProbe").is_none() && main.get("startupProbe").is_none());
            }
        }
    }
}

#[test]
fn the_dollar_rule_catches_raw_variables() {
    let injected = BTreeSet::from(["LWS_LEADER_ADDRESS".to_string()]);
    let raw = json!({"command": ["python3"], "args": ["--addr", "$LWS_LEADER_ADDRESS"]});
    assert!(dollar_problem(&raw, &injected).is_some());
    // The kubelet leaves `$((…` alone, so the inner reference reaches the shell (#5001).
    let injected = BTreeSet::from([
        "LWS_LEADER_ADDRESS".to_string(),
        "LWS_WORKER_INDEX".to_string(),
    ]);
    let unexpanded =
        json!({"command": ["/bin/sh", "-c"], "args": ["echo $(( 2 * $(LWS_WORKER_INDEX) ))"]});
    assert!(dollar_problem(&unexpanded, &injected).is_some());
    let arithmetic = json!({"command": ["/bin/sh", "-c"], "args": ["echo $(( 2 * LWS_WORKER_INDEX )) $HOME $(LWS_WORKER_INDEX)"]});
    assert!(dollar_problem(&arithmetic, &injected).is_none());
    let fine = json!({"command": ["python3"], "args": ["--addr", "$(LWS_LEADER_ADDRESS)"]});
    assert!(dollar_problem(&fine, &injected).is_none());
}
