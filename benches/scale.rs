//! Scale benchmark of the operator: graphs of 3 services over namespaces, against the API
//! server simulator in this process and `dynamoctl run controller` (release build) as a
//! separate process. Reports the time from controller start to every graph Ready, the
//! controller's peak RSS and CPU time (and the simulator's, to tell who is the bottleneck),
//! the API requests the controller sent to converge, and those it sent at steady state over
//! two resyncs, split into reads, writes, watches and Lease traffic.
//!
//! Run with `cargo bench --bench scale` (1,000 graphs over 100 namespaces); figures go to
//! docs/benchmarks.md. Settings, all optional:
//! - `SCALE_GRAPHS` (1000), `SCALE_NAMESPACES` (100), `SCALE_RESYNC_SECS` (15);
//! - `SCALE_MULTINODE=lws`: the two workers of each graph are multinode (2 nodes each, SGLang)
//!   under LeaderWorkerSet + Volcano; the bench registers those CRDs (so the operator detects
//!   them) and plays the LeaderWorkerSet controller, marking each set Available;
//! - `SCALE_CONTROLLER_WRAP`: a command the controller runs under (a profiler).

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube_sim::{AuditRecord, Options, Simulator};
use serde_json::{Value, json};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A field of `/proc/<pid>/status` in KiB (`VmHWM`: peak RSS).
fn proc_status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat: 12 and 13 after the state field.
    (ticks(11) + ticks(12)) / 100.0
}

/// The controller's requests, split by what they are.
#[derive(Debug, Default)]
struct Split {
    reads: usize,
    writes: usize,
    watches: usize,
    lease: usize,
    /// The reads, by `verb resource`, for the report.
    read_kinds: std::collections::BTreeMap<String, usize>,
    /// The writes, by `verb resource[/subresource]`, for the report.
    write_kinds: std::collections::BTreeMap<String, usize>,
}

fn split(records: &[AuditRecord]) -> Split {
    let mut s = Split::default();
    for r in records
        .iter()
        .filter(|r| r.user_agent.contains("controller"))
    {
        if r.resource == "leases" {
            s.lease += 1;
        } else if r.verb == "watch" {
            s.watches += 1;
        } else if r.is_write() {
            s.writes += 1;
            let sub = if r.subresource.is_empty() {
                String::new()
            } else {
                format!("/{}", r.subresource)
            };
            *s.write_kinds
                .entry(format!("{} {}{sub}", r.verb, r.resource))
                .or_default() += 1;
        } else {
            s.reads += 1;
            *s.read_kinds
                .entry(format!("{} {}", r.verb, r.resource))
                .or_default() += 1;
        }
    }
    s
}

fn crd(group: &str, version: &str, kind: &str, plural: &str) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": format!("{plural}.{group}") },
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": { "kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List") },
            "versions": [{
                "name": version, "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } },
                "subresources": { "status": {} },
            }],
        },
    }))
    .unwrap()
}

fn lws_resource() -> ApiResource {
    ApiResource {
        group: "leaderworkerset.x-k8s.io".into(),
        version: "v1".into(),
        api_version: "leaderworkerset.x-k8s.io/v1".into(),
        kind: "LeaderWorkerSet".into(),
        plural: "leaderworkersets".into(),
    }
}

/// Plays LeaderWorkerSet's controller: every set the operator writes is reported Available
/// with all its replicas ready, once per generation.
async fn lws_controller(client: kube::Client) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &lws_resource());
    let mut done: std::collections::HashMap<(String, String), i64> = Default::default();
    let mut events = watcher(api, watcher::Config::default())
        .applied_objects()
        .boxed();
    while let Some(Ok(lws)) = events.next().await {
        let (ns, name) = (
            lws.metadata.namespace.clone().unwrap_or_default(),
            lws.metadata.name.clone().unwrap_or_default(),
        );
        let generation = lws.metadata.generation.unwrap_or(0);
        if done.get(&(ns.clone(), name.clone())) == Some(&generation) {
            continue;
        }
        let replicas = lws
            .data
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let body = json!({
            "apiVersion": "leaderworkerset.x-k8s.io/v1",
            "kind": "LeaderWorkerSet",
            "status": {
                "replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas,
                "conditions": [{ "type": "Available", "status": "True", "reason": "AllGroupsReady", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z" }],
            },
        });
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &lws_resource());
        let params = PatchParams::apply("lws-controller").force();
        if api
            .patch_status(&name, &params, &Patch::Apply(&body))
            .await
            .is_ok()
        {
            done.insert((ns, name), generation);
        }
    }
}

fn graph(name: &str, ns: &str, multinode: bool) -> dynamoctl::api::DynamoGraphDeployment {
    let service = |ty: &str, sub: Option<&str>| {
        let mut s = json!({"componentType": ty, "replicas": 1, "extraPodSpec": {"mainContainer": {"image": "example.com/dynamo:1"}}});
        if let Some(sub) = sub {
            s["subComponentType"] = json!(sub);
            if multinode {
                s["multinode"] = json!({"nodeCount": 2});
                s["resources"] = json!({"limits": {"gpu": "4"}});
                s["extraPodSpec"]["mainContainer"]["command"] =
                    json!(["python3", "-m", "dynamo.sglang"]);
                s["extraPodSpec"]["mainContainer"]["args"] = json!(["--tp", "8"]);
            }
        }
        s
    };
    serde_json::from_value(json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"services": {
            "Frontend": service("frontend", None),
            "Prefill": service("worker", Some("prefill")),
            "Decode": service("worker", Some("decode")),
        }},
    }))
    .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let graphs = env_usize("SCALE_GRAPHS", 1000);
    let namespaces = env_usize("SCALE_NAMESPACES", 100);
    let resync = Duration::from_secs(env_usize("SCALE_RESYNC_SECS", 15) as u64);
    let multinode = std::env::var("SCALE_MULTINODE").is_ok_and(|v| v == "lws");
    let sim = Simulator::start(Options {
        kubelet: true,
        kubelet_ready_delay: Duration::from_millis(100),
        history_limit: 4_000_000,
        ..Options::default()
    })
    .await;
    let client = sim.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dynamoctl::api::crd::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    if multinode {
        crds.create(
            &PostParams::default(),
            &crd(
                "leaderworkerset.x-k8s.io",
                "v1",
                "LeaderWorkerSet",
                "leaderworkersets",
            ),
        )
        .await
        .unwrap();
        crds.create(
            &PostParams::default(),
            &crd("scheduling.volcano.sh", "v1beta1", "PodGroup", "podgroups"),
        )
        .await
        .unwrap();
        tokio::spawn(lws_controller(client.clone()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let nss: Api<Namespace> = Api::all(client.clone());
    for n in 0..namespaces {
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": format!("team-{n}")}})).unwrap();
        nss.create(&PostParams::default(), &ns).await.unwrap();
    }
    futures::stream::iter(0..graphs)
        .map(|g| {
            let client = client.clone();
            async move {
                let ns = format!("team-{}", g % namespaces);
                Api::namespaced(client, &ns)
                    .create(
                        &PostParams::default(),
                        &graph(&format!("graph-{g}"), &ns, multinode),
                    )
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    sim.clear_audit();

    let sim_cpu_start = cpu_seconds("self");
    let started = Instant::now();
    // `SCALE_CONTROLLER_WRAP` runs the controller under a profiler (e.g. `heaptrack -o
    // /tmp/scale`); the peak RSS reported is then the wrapper's.
    let wrap = std::env::var("SCALE_CONTROLLER_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut controller = match words.next() {
        Some(program) => {
            let mut c = tokio::process::Command::new(program);
            c.args(words).arg(env!("CARGO_BIN_EXE_dynamoctl"));
            c
        }
        None => tokio::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl")),
    };
    let mut controller = controller
        .args(["run", "controller", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .args([
            "--health-probe-bind-address",
            "127.0.0.1:0",
            "--metrics-bind-address",
            "127.0.0.1:0",
        ])
        .arg("--resync")
        .arg(format!("{}s", resync.as_secs()))
        .env("RUST_LOG", "error")
        .kill_on_drop(true)
        .spawn()
        .expect("controller starts");
    let pid = controller.id().unwrap().to_string();
    // Readiness is followed through a watch, not by listing every graph each second: at
    // 10,000 graphs that polling cost the simulator and this process more CPU than the
    // controller's own work (it grows with graphs × seconds).
    let all: Api<dynamoctl::api::DynamoGraphDeployment> = Api::all(client.clone());
    let is_ready = |g: &dynamoctl::api::DynamoGraphDeployment| {
        g.status.as_ref().is_some_and(|s| {
            s.observed_generation == g.metadata.generation
                && s.state.as_deref() == Some("successful")
        })
    };
    let mut ready = std::collections::HashSet::new();
    let mut graph_events = watcher(all, watcher::Config::default())
        .applied_objects()
        .boxed();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3600);
    let converged = loop {
        let event = tokio::time::timeout_at(deadline, graph_events.next()).await;
        let g = match event {
            Ok(Some(Ok(g))) => g,
            Ok(Some(Err(e))) => panic!("watching the graphs failed: {e}"),
            Ok(None) => panic!("the graphs' watch ended"),
            Err(_) => panic!(
                "not converged after an hour: {}/{graphs} Ready",
                ready.len()
            ),
        };
        let key = (g.metadata.namespace.clone(), g.metadata.name.clone());
        if is_ready(&g) {
            ready.insert(key);
        } else {
            ready.remove(&key);
        }
        if ready.len() == graphs {
            break started.elapsed();
        }
    };
    drop(graph_events);
    let controller_cpu = cpu_seconds(&pid);
    let sim_cpu = cpu_seconds("self") - sim_cpu_start;
    let converge = split(&sim.audit());

    // Steady state: let every graph resync at least twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.clear_audit();
    let steady_for = resync * 2 + Duration::from_secs(2);
    let steady_cpu_start = cpu_seconds(&pid);
    tokio::time::sleep(steady_for).await;
    let steady = split(&sim.audit());
    let steady_cpu = cpu_seconds(&pid) - steady_cpu_start;
    let rss = proc_status_kib(&pid, "VmHWM:").unwrap_or(0);
    let rss_now = proc_status_kib(&pid, "VmRSS:").unwrap_or(0);
    controller.kill().await.ok();

    let per = |n: usize| n as f64 / graphs as f64;
    println!(
        "graphs: {graphs} x 3 services{} over {namespaces} namespaces",
        if multinode {
            " (2 multinode, LeaderWorkerSet)"
        } else {
            ""
        }
    );
    println!(
        "converged: all Ready {:.1} s after controller start; CPU: controller {controller_cpu:.1} s, simulator + bench {sim_cpu:.1} s",
        converged.as_secs_f64()
    );
    println!(
        "controller peak RSS: {:.1} MiB (at the end: {:.1} MiB)",
        rss as f64 / 1024.0,
        rss_now as f64 / 1024.0
    );
    let total = converge.reads + converge.writes + converge.watches + converge.lease;
    println!(
        "requests until converged: {total} ({:.1} per graph): reads {} ({:.2} per graph), writes {} ({:.1} per graph), watches {}, Lease {}",
        per(total),
        converge.reads,
        per(converge.reads),
        converge.writes,
        per(converge.writes),
        converge.watches,
        converge.lease
    );
    println!("  reads: {:?}", converge.read_kinds);
    println!("  writes: {:?}", converge.write_kinds);
    println!(
        "steady state over {} s (resync {} s): reads {}, writes {}, watches {}, Lease {}; controller CPU {steady_cpu:.1} s",
        steady_for.as_secs(),
        resync.as_secs(),
        steady.reads,
        steady.writes,
        steady.watches,
        steady.lease
    );
    if steady.reads > 0 {
        println!("  reads: {:?}", steady.read_kinds);
    }
    sim.stop().await;
}
