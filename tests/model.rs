//! DynamoModels through `dynamoctl run controller`: a LoRA is loaded over HTTP on every
//! endpoint its base model's EndpointSlices name, its status and conditions say so, a worker
//! that fails keeps it not ready and is retried, and deleting the model unloads the LoRA
//! before the finalizer goes. Workers are small HTTP servers of this test on 127.0.0.1, each
//! behind an EndpointSlice the test writes (no Service controller needed).

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::cluster::{TestCluster, sim_only_with_crds, with_crds};
use common::sim::{run, temp_file, text};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const LIMIT: Duration = Duration::from_secs(60);
/// sha256("Qwen/Qwen3-0.6B")[..8]: the label value and Service suffix of the base model.
const HASH: &str = "fb68f5a6";

/// A request a worker received.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Value,
}

/// A stand-in worker: answers every request with `status` (and body `boom` when not 200),
/// recording it. Stops when dropped.
struct Worker {
    port: u16,
    status: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Worker {
    async fn start(status: u16) -> Worker {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let status = Arc::new(AtomicU16::new(status));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (status.clone(), received.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (s, r) = (s.clone(), r.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (s, r) = (s.clone(), r.clone());
                        async move {
                            let method = req.method().to_string();
                            let path = req.uri().path().to_string();
                            let content_type = req
                                .headers()
                                .get("content-type")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string);
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            r.lock().unwrap().push(Received {
                                method,
                                path,
                                content_type,
                                body,
                            });
                            let code = s.load(Ordering::SeqCst);
                            let text = if code == 200 { "{}" } else { "boom" };
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .status(code)
                                    .body(Full::new(Bytes::from(text)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Worker {
            port,
            status,
            received,
            task,
        }
    }

    fn requests(&self, method: &str) -> Vec<Received> {
        let all = self.received.lock().unwrap().clone();
        all.into_iter().filter(|r| r.method == method).collect()
    }
}

fn slices_api() -> ApiResource {
    ApiResource {
        group: "discovery.k8s.io".into(),
        version: "v1".into(),
        api_version: "discovery.k8s.io/v1".into(),
        kind: "EndpointSlice".into(),
        plural: "endpointslices".into(),
    }
}

fn models_api() -> ApiResource {
    ApiResource {
        group: "nvidia.com".into(),
        version: "v1alpha1".into(),
        api_version: "nvidia.com/v1alpha1".into(),
        kind: "DynamoModel".into(),
        plural: "dynamomodels".into(),
    }
}

/// An EndpointSlice of the base model's Service with one ready pod on 127.0.0.1:`port`.
async fn create_slice(cluster: &TestCluster, name: &str, pod: &str, port: u16) {
    let slice: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "labels": {
                "nvidia.com/dynamo-base-model-hash": HASH,
                "kubernetes.io/service-name": format!("dynamo-model-{HASH}"),
                "endpointslice.kubernetes.io/managed-by": "dynamoctl-test",
            },
        },
        "addressType": "IPv4",
        "ports": [{ "name": "system", "port": port, "protocol": "TCP" }],
        "endpoints": [{
            "addresses": ["127.0.0.1"],
            "conditions": { "ready": true },
            "targetRef": { "kind": "Pod", "name": pod, "namespace": "default", "uid": format!("uid-{pod}") },
        }],
    }))
    .unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client(), "default", &slices_api());
    api.create(&PostParams::default(), &slice).await.unwrap();
}

fn model_yaml(name: &str, model_type: &str) -> String {
    format!(
        "apiVersion: nvidia.com/v1alpha1\nkind: DynamoModel\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  modelName: org/{name}\n  baseModelName: Qwen/Qwen3-0.6B\n  modelType: {model_type}\n  source:\n    uri: hf://org/{name}@abc\n"
    )
}

/// Why the tests with workers run on the simulator only.
const LOOPBACK: &str =
    "workers on 127.0.0.1 (a real API server refuses EndpointSlices with loopback addresses)";

/// `dynamoctl run controller` against `cluster` (killed when dropped), with short leases.
fn spawn(cluster: &TestCluster, pod: &str, extra: &[&str]) -> Child {
    let addr = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--kubeconfig"])
        .arg(cluster.kubeconfig_path())
        .args(["--health-probe-bind-address", &addr])
        .args(["--metrics-bind-address", &addr, "--resync", "2s"])
        .args(["--namespace-scope-lease-duration", "3s"])
        .args(["--namespace-scope-lease-renew-interval", "1s"])
        .args(["--leader-election-lease-duration", "3s"])
        .args(["--leader-election-renew-deadline", "2s"])
        .args(["--leader-election-retry-period", "500ms"])
        .args(extra)
        .env("POD_NAME", pod)
        .env(
            "RUST_LOG",
            std::env::var("CONTROLLER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .kill_on_drop(true)
        .spawn()
        .expect("controller starts")
}

/// The cluster with the DynamoModel CRD, and the operator running against it; `sim_only`
/// for tests that need workers (see [`LOOPBACK`]).
async fn start(sim_only: bool) -> Option<(TestCluster, Child)> {
    let cluster = if sim_only {
        sim_only_with_crds(LOOPBACK, false).await?
    } else {
        with_crds(false).await?
    };
    let out = run(
        &cluster,
        &["apply", "crds/nvidia.com_dynamomodels.yaml"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let controller = spawn(&cluster, "operator", &[]);
    Some((cluster, controller))
}

async fn apply(cluster: &TestCluster, file: &str, yaml: &str) {
    let path = temp_file(file, yaml);
    let out = run(cluster, &["apply", path.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn model(cluster: &TestCluster, name: &str) -> Option<Value> {
    model_in(cluster, "default", name)
}

fn model_in(cluster: &TestCluster, ns: &str, name: &str) -> Option<Value> {
    cluster.object("nvidia.com", "dynamomodels", ns, name)
}

fn condition(model: &Value, type_: &str) -> Option<Value> {
    model
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn loads_of(worker: &Worker, lora: &str) -> usize {
    worker
        .requests("POST")
        .iter()
        .filter(|r| r.body["lora_name"] == lora)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lora_is_loaded_on_every_endpoint_and_unloaded_when_deleted() {
    let Some((cluster, _controller)) = start(true).await else {
        return;
    };
    let (a, b) = (Worker::start(200).await, Worker::start(200).await);
    create_slice(&cluster, "model-a", "worker-0", a.port).await;
    create_slice(&cluster, "model-b", "worker-1", b.port).await;
    apply(&cluster, "lora.yaml", &model_yaml("my-lora", "lora")).await;

    eventually("the LoRA loaded on both endpoints", || {
        model(&cluster, "my-lora")
            .is_some_and(|m| condition(&m, "EndpointsReady").is_some_and(|c| c["status"] == "True"))
    })
    .await;
    let m = model(&cluster, "my-lora").unwrap();
    assert_eq!(m["metadata"]["finalizers"], json!(["nvidia.com/finalizer"]));
    assert_eq!(m["status"]["readyEndpoints"], 2);
    assert_eq!(m["status"]["totalEndpoints"], 2);
    assert_eq!(
        m["status"]["endpoints"],
        json!([
            { "address": format!("http://127.0.0.1:{}", a.port), "podName": "worker-0", "ready": true },
            { "address": format!("http://127.0.0.1:{}", b.port), "podName": "worker-1", "ready": true },
        ])
    );
    let ready = condition(&m, "EndpointsReady").unwrap();
    assert_eq!(ready["reason"], "AllEndpointsReady");
    assert_eq!(ready["message"], "All 2 endpoint(s) are ready");
    let services = condition(&m, "ServicesFound").unwrap();
    assert_eq!(
        (&services["status"], &services["reason"]),
        (&json!("True"), &json!("ServicesFound"))
    );
    for worker in [&a, &b] {
        let posts = worker.requests("POST");
        assert!(!posts.is_empty());
        for post in &posts {
            assert_eq!(post.path, "/v1/loras");
            assert_eq!(post.content_type.as_deref(), Some("application/json"));
            assert_eq!(
                post.body,
                json!({ "lora_name": "org/my-lora", "source": { "uri": "hf://org/my-lora@abc" } })
            );
        }
        assert!(worker.requests("DELETE").is_empty());
    }

    // A slice changing (a label here) loads again on every endpoint; an unchanged status is
    // not written.
    cluster.clear_audit();
    let before = (loads_of(&a, "org/my-lora"), loads_of(&b, "org/my-lora"));
    let slices: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), "default", &slices_api());
    let touch = json!({ "metadata": { "labels": { "touched": "yes" } } });
    slices
        .patch("model-a", &PatchParams::default(), &Patch::Merge(&touch))
        .await
        .unwrap();
    eventually("a load after the slice changed", || {
        loads_of(&a, "org/my-lora") > before.0 && loads_of(&b, "org/my-lora") > before.1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let model_writes: Vec<_> = cluster
        .audit_writes()
        .into_iter()
        .filter(|w| w.resource == "dynamomodels")
        .collect();
    assert!(model_writes.is_empty(), "{model_writes:?}");

    // Deleting unloads from each endpoint, then the finalizer goes and so does the model.
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client(), "default", &models_api());
    api.delete("my-lora", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the model deleted", || model(&cluster, "my-lora").is_none()).await;
    for worker in [&a, &b] {
        let deletes = worker.requests("DELETE");
        assert_eq!(deletes.len(), 1, "{deletes:?}");
        assert_eq!(deletes[0].path, "/v1/loras/org/my-lora");
    }
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_without_endpoints_says_so_and_its_deletion_completes() {
    let Some((cluster, _controller)) = start(false).await else {
        return;
    };
    apply(&cluster, "lora.yaml", &model_yaml("lonely", "lora")).await;
    eventually("no services found", || {
        model(&cluster, "lonely").is_some_and(|m| {
            m["metadata"]["finalizers"] == json!(["nvidia.com/finalizer"])
                && condition(&m, "ServicesFound")
                    .is_some_and(|c| c["status"] == "False" && c["reason"] == "NoServicesFound")
                && condition(&m, "EndpointsReady")
                    .is_some_and(|c| c["status"] == "False" && c["reason"] == "NoEndpoints")
        })
    })
    .await;
    let m = model(&cluster, "lonely").unwrap();
    assert_eq!(
        condition(&m, "EndpointsReady").unwrap()["message"],
        "No endpoint slices found for base model Qwen/Qwen3-0.6B"
    );
    assert_eq!(m["status"]["totalEndpoints"], 0);

    // A real API server keeps the base model itself (the CRD's CEL transition rule, no
    // webhook); the simulator evaluates no CEL (`api::model` tests the rule client-side).
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client(), "default", &models_api());
    if cluster.real().is_some() {
        let patch = json!({ "spec": { "baseModelName": "other/model" } });
        let refused = api
            .patch("lonely", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("spec.baseModelName is immutable"),
            "{refused}"
        );
    }

    api.delete("lonely", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the model deleted", || model(&cluster, "lonely").is_none()).await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_worker_keeps_the_lora_not_ready_and_is_retried() {
    let Some((cluster, _controller)) = start(true).await else {
        return;
    };
    // No endpoints yet: both conditions say so.
    apply(&cluster, "lora.yaml", &model_yaml("flaky", "lora")).await;
    eventually("no services found", || {
        model(&cluster, "flaky").is_some_and(|m| {
            condition(&m, "ServicesFound").is_some_and(|c| c["reason"] == "NoServicesFound")
                && condition(&m, "EndpointsReady").is_some_and(|c| c["reason"] == "NoEndpoints")
        })
    })
    .await;

    // A slice appearing is picked up without any change to the model.
    let (good, bad) = (Worker::start(200).await, Worker::start(500).await);
    create_slice(&cluster, "model-good", "worker-0", good.port).await;
    create_slice(&cluster, "model-bad", "worker-1", bad.port).await;
    eventually("the failure reported", || {
        model(&cluster, "flaky").is_some_and(|m| {
            m["status"]["readyEndpoints"] == 1
                && m["status"]["totalEndpoints"] == 2
                && condition(&m, "EndpointsReady").is_some_and(|c| c["reason"] == "NotReady")
        })
    })
    .await;
    let m = model(&cluster, "flaky").unwrap();
    let ready = condition(&m, "EndpointsReady").unwrap();
    assert_eq!(ready["status"], "False");
    let message = ready["message"].as_str().unwrap();
    assert!(
        message.starts_with("Found 1 ready endpoint(s) out of 2 total; ")
            && message.contains(&format!(
                "http://127.0.0.1:{}: load LoRA failed with status 500: boom",
                bad.port
            )),
        "{message}"
    );

    // Retried (every 2 s with --resync 2s) until the worker recovers.
    eventually("a retry", || loads_of(&bad, "org/flaky") >= 2).await;
    bad.status.store(200, Ordering::SeqCst);
    eventually("ready once the worker recovers", || {
        model(&cluster, "flaky").is_some_and(|m| {
            condition(&m, "EndpointsReady")
                .is_some_and(|c| c["status"] == "True" && c["reason"] == "AllEndpointsReady")
                && m["status"]["readyEndpoints"] == 2
        })
    })
    .await;
    // A base model of the same workers: endpoints reported, nothing loaded.
    apply(&cluster, "base.yaml", &model_yaml("base", "base")).await;
    eventually("the base model's endpoints", || {
        model(&cluster, "base").is_some_and(|m| {
            condition(&m, "EndpointsReady").is_some_and(|c| c["reason"] == "EndpointsDiscovered")
        })
    })
    .await;
    let m = model(&cluster, "base").unwrap();
    assert_eq!(m["status"]["totalEndpoints"], 2);
    assert_eq!(m["status"]["readyEndpoints"], 0);
    assert_eq!(loads_of(&good, "org/base") + loads_of(&bad, "org/base"), 0);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_model_is_refused_before_anything_is_sent() {
    let Some(cluster) = with_crds(false).await else {
        return;
    };
    let path = temp_file(
        "bad-model.yaml",
        "apiVersion: nvidia.com/v1alpha1\nkind: DynamoModel\nmetadata:\n  name: bad\nspec:\n  modelName: org/bad\n  modelType: lora\n",
    );
    cluster.clear_audit();
    let out = run(&cluster, &["apply", path.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .contains("DynamoModel default/bad: spec: required field \"baseModelName\" is missing"),
        "{stderr}"
    );
    assert!(cluster.audit_writes().is_empty());
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_hybrid_mode_each_operator_handles_the_models_of_its_own_namespaces() {
    let Some(cluster) = with_crds(false).await else {
        return;
    };
    let out = run(
        &cluster,
        &["apply", "crds/nvidia.com_dynamomodels.yaml"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    apply(
        &cluster,
        "team-b.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-b\n",
    )
    .await;
    let _scoped = spawn(&cluster, "scoped", &["--restricted-namespace", "team-b"]);
    eventually("the namespace-scope marker", || {
        cluster
            .object(
                "coordination.k8s.io",
                "leases",
                "team-b",
                "dynamo-operator-namespace-scope",
            )
            .is_some()
    })
    .await;
    let _wide = spawn(&cluster, "wide", &[]);
    cluster.clear_audit();
    for ns in ["team-b", "default"] {
        let yaml =
            model_yaml("m", "lora").replace("namespace: default", &format!("namespace: {ns}"));
        apply(&cluster, &format!("{ns}-m.yaml"), &yaml).await;
    }
    let handled = |ns: &str| {
        model_in(&cluster, ns, "m").is_some_and(|m| {
            m["metadata"]["finalizers"] == json!(["nvidia.com/finalizer"])
                && condition(&m, "EndpointsReady").is_some_and(|c| c["reason"] == "NoEndpoints")
        })
    };
    eventually("both models handled", || {
        handled("team-b") && handled("default")
    })
    .await;
    let writers = |ns: &str| -> Vec<String> {
        cluster
            .audit_writes()
            .into_iter()
            .filter(|w| w.resource == "dynamomodels" && w.namespace == ns)
            .map(|w| w.user_agent)
            .filter(|ua| {
                ua.contains("run-controller")
                    || ua.contains("cluster-wide")
                    || ua.contains("namespace=")
            })
            .collect()
    };
    let team_b = writers("team-b");
    assert!(!team_b.is_empty());
    assert!(
        team_b.iter().all(|ua| ua.contains("namespace=team-b")),
        "{team_b:?}"
    );
    let default = writers("default");
    assert!(!default.is_empty());
    assert!(
        default.iter().all(|ua| ua.contains("cluster-wide")),
        "{default:?}"
    );
    cluster.stop().await;
}

#[test]
fn render_passes_a_valid_model_through_unchanged() {
    let path = temp_file("render-model.yaml", &model_yaml("my-lora", "lora"));
    let out = common::dynamoctl(&common::repo(), &["render", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let docs = dynamoctl::yaml::parse_documents(&text(&out.stdout)).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(
        docs[0].value,
        json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoModel",
            "metadata": { "name": "my-lora", "namespace": "default" },
            "spec": {
                "modelName": "org/my-lora",
                "baseModelName": "Qwen/Qwen3-0.6B",
                "modelType": "lora",
                "source": { "uri": "hf://org/my-lora@abc" },
            },
        })
    );
}
