//! What the operator does around a multinode graph besides applying it, in the simulator:
//! copying the MPI SSH secret into the graph's namespace (and failing clearly without it),
//! requiring the Kai scheduler queue, scaling Grove's children through their `/scale`
//! subresources, and following their status through watches rather than resyncs. The
//! foreign kinds get minimal CRDs; their controllers' work (Grove creating children, writing
//! status) is done by the test.

mod common;

use std::time::{Duration, Instant};

use dynamoctl::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use dynamoctl::cluster::{Applier, Resolver};
use dynamoctl::controller::prerequisites::LABEL_COPIED_FROM;
use dynamoctl::controller::{GraphOutcome, Reconciler};
use dynamoctl::render::{Orchestrators, RenderOptions};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube_sim::Simulator;
use serde_json::{Value, json};

const NS: &str = "default";
const OPS: &str = "ops";
const SECRET: &str = "mpi-run-ssh-secret";

/// `(group, version, kind, plural, namespaced)` of the foreign kinds.
const FOREIGN: &[(&str, &str, &str, &str, bool)] = &[
    (
        "grove.io",
        "v1alpha1",
        "PodCliqueSet",
        "podcliquesets",
        true,
    ),
    ("grove.io", "v1alpha1", "PodClique", "podcliques", true),
    (
        "grove.io",
        "v1alpha1",
        "PodCliqueScalingGroup",
        "podcliquescalinggroups",
        true,
    ),
    (
        "leaderworkerset.x-k8s.io",
        "v1",
        "LeaderWorkerSet",
        "leaderworkersets",
        true,
    ),
    (
        "scheduling.volcano.sh",
        "v1beta1",
        "PodGroup",
        "podgroups",
        true,
    ),
    ("scheduling.run.ai", "v2", "Queue", "queues", false),
];

fn crd(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": format!("{plural}.{group}") },
        "spec": {
            "group": group,
            "scope": if namespaced { "Namespaced" } else { "Cluster" },
            "names": { "kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List") },
            "versions": [{
                "name": version, "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } },
                // Grove's PodClique and PodCliqueScalingGroup CRDs have scale subresources.
                "subresources": { "status": {}, "scale": { "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas" } },
            }],
        },
    })
}

fn api(sim: &Simulator, kind: &str) -> Api<DynamicObject> {
    let (group, version, kind, plural, namespaced) = *FOREIGN.iter().find(|f| f.2 == kind).unwrap();
    let ar = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    };
    if namespaced {
        Api::namespaced_with(sim.client(), NS, &ar)
    } else {
        Api::all_with(sim.client(), &ar)
    }
}

async fn cluster() -> Simulator {
    let sim = common::sim::with_crds(true).await;
    let crds: Api<CustomResourceDefinition> = Api::all(sim.client());
    for (group, version, kind, plural, namespaced) in FOREIGN {
        let crd = serde_json::from_value(crd(group, version, kind, plural, *namespaced)).unwrap();
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(sim.client());
    let ops = serde_json::from_value(json!({ "metadata": { "name": OPS } })).unwrap();
    namespaces
        .create(&PostParams::default(), &ops)
        .await
        .unwrap();
    sim
}

async fn reconciler(sim: &Simulator, orchestrators: Orchestrators) -> Reconciler {
    let applier = Applier {
        resolver: Resolver::new(sim.client(), &sim.url()).await.unwrap(),
        default_namespace: NS.into(),
    };
    let opts = RenderOptions {
        orchestrators,
        ..Default::default()
    };
    Reconciler::new(applier, opts)
}

fn grove() -> Orchestrators {
    Orchestrators {
        grove: true,
        mpi_ssh_secret_namespace: Some(OPS.into()),
        ..Default::default()
    }
}

/// A graph with a frontend and a TRT-LLM (MPI) multinode decode service.
fn graph(name: &str, decode_replicas: i32) -> Value {
    json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": { "name": name, "namespace": NS },
        "spec": {
            "services": {
                "Frontend": { "componentType": "frontend" },
                "decode": {
                    "componentType": "worker",
                    "replicas": decode_replicas,
                    "multinode": { "nodeCount": 2 },
                    "resources": { "limits": { "gpu": "4" } },
                    "extraPodSpec": { "mainContainer": { "image": "x:1", "command": ["python3", "-m", "dynamo.trtllm"], "args": ["--model-path", "m"] } },
                },
            },
        },
    })
}

async fn apply_graph(sim: &Simulator, name: &str, decode_replicas: i32) -> DynamoGraphDeployment {
    let dgds: Api<DynamoGraphDeployment> = Api::namespaced(sim.client(), NS);
    dgds.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(graph(name, decode_replicas)),
    )
    .await
    .unwrap()
}

async fn current(sim: &Simulator, name: &str) -> DynamoGraphDeployment {
    Api::<DynamoGraphDeployment>::namespaced(sim.client(), NS)
        .get(name)
        .await
        .unwrap()
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

fn ready_condition(dgd: &DynamoGraphDeployment) -> (String, String, String) {
    let c = dgd
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .expect("a Ready condition");
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

/// A Secret `SECRET` in `ns` holding `key` as its private key.
fn key_secret(ns: &str, key: &str) -> Value {
    let bytes = |s: String| k8s_openapi::ByteString(s.into_bytes());
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(SECRET.into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(
            [
                ("private.key".to_string(), bytes(key.to_string())),
                ("private.key.pub".to_string(), bytes(format!("{key}.pub"))),
            ]
            .into(),
        ),
        ..Default::default()
    };
    let mut v = serde_json::to_value(secret).unwrap();
    v["apiVersion"] = "v1".into();
    v["kind"] = "Secret".into();
    v
}

async fn source_secret(sim: &Simulator, key: &str) {
    let secrets: Api<Secret> = Api::namespaced(sim.client(), OPS);
    let s = key_secret(OPS, key);
    secrets
        .patch(
            SECRET,
            &PatchParams::apply("admin").force(),
            &Patch::Apply(&s),
        )
        .await
        .unwrap();
}

fn copied_key(secret: &Secret) -> String {
    String::from_utf8(secret.data.as_ref().unwrap()["private.key"].0.clone()).unwrap()
}

async fn pcs_names(sim: &Simulator) -> Vec<String> {
    api(sim, "PodCliqueSet")
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mpi_secret_is_copied_into_the_graph_namespace_and_goes_with_its_graphs() {
    let sim = cluster().await;
    let r = reconciler(&sim, grove()).await;
    let secrets: Api<Secret> = Api::namespaced(sim.client(), NS);

    // No source secret: a clear failure on the graph, and nothing applied.
    let dgd = apply_graph(&sim, "a", 1).await;
    let outcome = r.reconcile_graph(&dgd, &now()).await.unwrap();
    let GraphOutcome::Blocked(message) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        message.contains("ops/mpi-run-ssh-secret") && message.contains("mpi.sshSecretNamespace"),
        "{message}"
    );
    let (status, reason, _) = ready_condition(&current(&sim, "a").await);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "MPISecretMissing")
    );
    assert!(pcs_names(&sim).await.is_empty());

    // With it, the graph is applied and the secret copied, owned by the graph.
    source_secret(&sim, "key-1").await;
    let outcome = r
        .reconcile_graph(&current(&sim, "a").await, &now())
        .await
        .unwrap();
    assert!(matches!(outcome, GraphOutcome::Pending(_)), "{outcome:?}");
    assert_eq!(pcs_names(&sim).await, vec!["a"]);
    let copy = secrets.get(SECRET).await.unwrap();
    assert_eq!(copied_key(&copy), "key-1");
    assert_eq!(
        copy.metadata.labels.as_ref().unwrap()[LABEL_COPIED_FROM],
        OPS
    );
    let owners = |s: &Secret| -> Vec<String> {
        let mut o: Vec<String> = s
            .metadata
            .owner_references
            .iter()
            .flatten()
            .map(|o| o.name.clone())
            .collect();
        o.sort();
        o
    };
    assert_eq!(owners(&copy), vec!["a"]);

    // A second graph shares the copy; a new key reaches it on the next pass.
    source_secret(&sim, "key-2").await;
    let b = apply_graph(&sim, "b", 1).await;
    r.reconcile_graph(&b, &now()).await.unwrap();
    let copy = secrets.get(SECRET).await.unwrap();
    assert_eq!(copied_key(&copy), "key-2");
    assert_eq!(owners(&copy), vec!["a", "b"]);

    // An unchanged world: no write at all.
    r.reconcile_graph(&current(&sim, "b").await, &now())
        .await
        .unwrap();
    let before = sim.audit_writes().len();
    r.reconcile_graph(&current(&sim, "b").await, &now())
        .await
        .unwrap();
    let writes = sim.audit_writes();
    assert!(writes.len() == before, "{:#?}", &writes[before..]);

    // The copy goes with the last graph that mounts it.
    let dgds: Api<DynamoGraphDeployment> = Api::namespaced(sim.client(), NS);
    dgds.delete("a", &DeleteParams::default()).await.unwrap();
    assert_eq!(owners(&secrets.get(SECRET).await.unwrap()), vec!["b"]);
    dgds.delete("b", &DeleteParams::default()).await.unwrap();
    assert!(secrets.get_opt(SECRET).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_own_secret_is_used_as_it_is_and_without_a_source_namespace_it_must_exist() {
    let sim = cluster().await;
    let secrets: Api<Secret> = Api::namespaced(sim.client(), NS);
    // No namespace to copy from: the secret must be where the graph runs.
    let r = reconciler(
        &sim,
        Orchestrators {
            grove: true,
            ..Default::default()
        },
    )
    .await;
    let dgd = apply_graph(&sim, "g", 1).await;
    let GraphOutcome::Blocked(message) = r.reconcile_graph(&dgd, &now()).await.unwrap() else {
        panic!("blocked")
    };
    assert!(
        message.contains("does not exist in namespace default"),
        "{message}"
    );

    let mine = key_secret(NS, "mine");
    secrets
        .patch(
            SECRET,
            &PatchParams::apply("me").force(),
            &Patch::Apply(&mine),
        )
        .await
        .unwrap();
    let outcome = r
        .reconcile_graph(&current(&sim, "g").await, &now())
        .await
        .unwrap();
    assert!(matches!(outcome, GraphOutcome::Pending(_)), "{outcome:?}");

    // With a source namespace too, the user's secret is not overwritten.
    source_secret(&sim, "theirs").await;
    let r = reconciler(&sim, grove()).await;
    r.reconcile_graph(&current(&sim, "g").await, &now())
        .await
        .unwrap();
    let live = secrets.get(SECRET).await.unwrap();
    assert_eq!(copied_key(&live), "mine");
    assert!(live.metadata.owner_references.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multinode_component_without_the_secret_says_so_in_its_status() {
    let sim = cluster().await;
    let r = reconciler(
        &sim,
        Orchestrators {
            lws: true,
            mpi_ssh_secret_namespace: Some(OPS.into()),
            ..Default::default()
        },
    )
    .await;
    let dgd = apply_graph(&sim, "g", 1).await;
    r.reconcile_graph(&dgd, &now()).await.unwrap();
    let dcds: Api<DynamoComponentDeployment> = Api::namespaced(sim.client(), NS);
    let decode = dcds.get("g-decode").await.unwrap();
    assert!(!r.reconcile_component(&decode, &now()).await.unwrap());
    let decode = dcds.get("g-decode").await.unwrap();
    let c = &decode.status.unwrap().conditions.unwrap()[0];
    assert_eq!(
        (c.type_.as_str(), c.status.as_str(), c.reason.as_str()),
        ("Available", "False", "MPISecretMissing")
    );
    assert!(
        api(&sim, "LeaderWorkerSet")
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    source_secret(&sim, "k").await;
    let decode = dcds.get("g-decode").await.unwrap();
    r.reconcile_component(&decode, &now()).await.unwrap();
    assert_eq!(
        api(&sim, "LeaderWorkerSet")
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let copy: Api<Secret> = Api::namespaced(sim.client(), NS);
    let owners = copy
        .get(SECRET)
        .await
        .unwrap()
        .metadata
        .owner_references
        .unwrap();
    assert_eq!(owners[0].kind, "DynamoComponentDeployment");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grove_graph_under_kai_needs_its_queue() {
    let sim = cluster().await;
    source_secret(&sim, "k").await;
    let r = reconciler(
        &sim,
        Orchestrators {
            kai: true,
            ..grove()
        },
    )
    .await;
    let dgd = apply_graph(&sim, "g", 1).await;
    let GraphOutcome::Blocked(message) = r.reconcile_graph(&dgd, &now()).await.unwrap() else {
        panic!("blocked")
    };
    assert!(
        message.contains("queue dynamo") && message.contains("does not exist"),
        "{message}"
    );
    let (_, reason, _) = ready_condition(&current(&sim, "g").await);
    assert_eq!(reason, "KaiQueueMissing");
    assert!(pcs_names(&sim).await.is_empty(), "nothing applied");

    let queue = json!({ "apiVersion": "scheduling.run.ai/v2", "kind": "Queue", "metadata": { "name": "dynamo" }, "spec": {} });
    api(&sim, "Queue")
        .create(
            &PostParams::default(),
            &serde_json::from_value(queue).unwrap(),
        )
        .await
        .unwrap();
    let outcome = r
        .reconcile_graph(&current(&sim, "g").await, &now())
        .await
        .unwrap();
    assert!(matches!(outcome, GraphOutcome::Pending(_)), "{outcome:?}");
    assert_eq!(pcs_names(&sim).await, vec!["g"]);
}

/// Creates `kind/name` as Grove would (its spec.replicas from the PodCliqueSet template) and
/// gives it `status`.
async fn grove_child(sim: &Simulator, kind: &str, name: &str, replicas: i64, status: Value) {
    let api = api(sim, kind);
    let obj = json!({
        "apiVersion": "grove.io/v1alpha1", "kind": kind,
        "metadata": { "name": name, "namespace": NS, "labels": { "app.kubernetes.io/part-of": "g" } },
        "spec": { "replicas": replicas },
    });
    let params = PatchParams::apply("grove").force();
    api.patch(name, &params, &Patch::Apply(&obj)).await.unwrap();
    let body = json!({ "apiVersion": "grove.io/v1alpha1", "kind": kind, "status": status });
    api.patch_status(name, &params, &Patch::Apply(&body))
        .await
        .unwrap();
}

async fn replicas_of(sim: &Simulator, kind: &str, name: &str) -> i64 {
    let o = api(sim, kind).get(name).await.unwrap();
    o.data["spec"]["replicas"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grove_children_are_scaled_through_their_scale_subresource() {
    let sim = cluster().await;
    source_secret(&sim, "k").await;
    let r = reconciler(&sim, grove()).await;
    let dgd = apply_graph(&sim, "g", 1).await;
    r.reconcile_graph(&dgd, &now()).await.unwrap();
    grove_child(
        &sim,
        "PodClique",
        "g-0-frontend",
        1,
        json!({ "readyReplicas": 1 }),
    )
    .await;
    grove_child(
        &sim,
        "PodCliqueScalingGroup",
        "g-0-decode",
        1,
        json!({ "availableReplicas": 1 }),
    )
    .await;

    // Scale decode to 3: the scaling group follows through /scale; the frontend (no
    // replicas in the spec: an autoscaler's) is left alone.
    let dgd = apply_graph(&sim, "g", 3).await;
    let outcome = r.reconcile_graph(&dgd, &now()).await.unwrap();
    assert!(matches!(outcome, GraphOutcome::Pending(_)), "{outcome:?}");
    assert_eq!(
        replicas_of(&sim, "PodCliqueScalingGroup", "g-0-decode").await,
        3
    );
    assert_eq!(replicas_of(&sim, "PodClique", "g-0-frontend").await, 1);
    let scales: Vec<_> = sim
        .audit()
        .into_iter()
        .filter(|w| w.subresource == "scale" && w.verb != "get")
        .collect();
    assert_eq!(scales.len(), 1, "{scales:?}");
    assert_eq!(scales[0].resource, "podcliquescalinggroups");

    // Grove catches up: Ready, and the next pass writes nothing.
    grove_child(
        &sim,
        "PodCliqueScalingGroup",
        "g-0-decode",
        3,
        json!({ "availableReplicas": 3 }),
    )
    .await;
    let pcs = api(&sim, "PodCliqueSet").get("g").await.unwrap();
    let generation = pcs.metadata.generation.unwrap();
    let body = json!({ "apiVersion": "grove.io/v1alpha1", "kind": "PodCliqueSet", "status": { "observedGeneration": generation } });
    api(&sim, "PodCliqueSet")
        .patch_status(
            "g",
            &PatchParams::apply("grove").force(),
            &Patch::Apply(&body),
        )
        .await
        .unwrap();
    let outcome = r
        .reconcile_graph(&current(&sim, "g").await, &now())
        .await
        .unwrap();
    assert_eq!(outcome, GraphOutcome::Ready);
    let before = r.writes.load(std::sync::atomic::Ordering::Relaxed);
    r.reconcile_graph(&current(&sim, "g").await, &now())
        .await
        .unwrap();
    assert_eq!(r.writes.load(std::sync::atomic::Ordering::Relaxed), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_follows_grove_children_through_watches_not_resyncs() {
    let sim = cluster().await;
    source_secret(&sim, "k").await;
    let config = common::sim::temp_file(
        "operator-config-grove-watch",
        "orchestrators:\n  grove:\n    enabled: true\n  kaiScheduler:\n    enabled: false\nmpi:\n  sshSecretNamespace: ops\n",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut controller = tokio::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--config"])
        .arg(&config)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        // A resync far beyond the test: only watches can bring the status up to date.
        .args([
            "--health-probe-bind-address",
            &addr,
            "--metrics-bind-address",
            &addr,
        ])
        .args(["--resync", "1h", "--leader-elect=false"])
        .env(
            "RUST_LOG",
            std::env::var("CONTROLLER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    apply_graph(&sim, "g", 1).await;
    let eventually = async |what: &str, check: &dyn Fn(&Value) -> bool| {
        let start = Instant::now();
        loop {
            let g = sim.object("nvidia.com", "dynamographdeployments", NS, "g");
            if g.as_ref().is_some_and(check) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}: {g:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let reason = |g: &Value| {
        g.pointer("/status/conditions/0/reason")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    eventually("the PodCliqueSet", &|_| {
        sim.object("grove.io", "podcliquesets", NS, "g").is_some()
    })
    .await;
    let pcs = sim.object("grove.io", "podcliquesets", NS, "g").unwrap();
    let body = json!({ "apiVersion": "grove.io/v1alpha1", "kind": "PodCliqueSet", "status": { "observedGeneration": pcs["metadata"]["generation"] } });
    api(&sim, "PodCliqueSet")
        .patch_status(
            "g",
            &PatchParams::apply("grove").force(),
            &Patch::Apply(&body),
        )
        .await
        .unwrap();
    // Grove's children appear ready, owned by the PodCliqueSet; nothing touches the graph.
    for (kind, name, status) in [
        ("PodClique", "g-0-frontend", json!({ "readyReplicas": 1 })),
        (
            "PodCliqueScalingGroup",
            "g-0-decode",
            json!({ "availableReplicas": 1 }),
        ),
    ] {
        grove_child(&sim, kind, name, 1, status).await;
    }
    eventually("the graph to be Ready", &|g| {
        reason(g) == "all_resources_are_ready"
    })
    .await;

    // A child that stops being ready is noticed as quickly.
    grove_child(
        &sim,
        "PodCliqueScalingGroup",
        "g-0-decode",
        1,
        json!({ "availableReplicas": 0 }),
    )
    .await;
    eventually("the graph to be not Ready", &|g| {
        reason(g) == "some_resources_are_not_ready"
    })
    .await;
    controller.kill().await.ok();
}
