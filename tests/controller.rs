//! `dynamoctl run controller` as a real process against the simulator: a graph's life from
//! creation to pruning, self-healing and zero writes at steady state.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{TestCluster, sim_only_with_crds, with_crds};
use common::sim::{read, run, temp_file, text};
use serde_json::Value;
use tokio::process::{Child, Command};

/// A free port on 127.0.0.1 (bound and released; good enough for a test's own process).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `path` on 127.0.0.1:`port`: the raw response, or None when nothing answers.
async fn http_get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .ok()?
        .ok()?;
    Some(response)
}

/// Starts the controller process (killed when dropped), serving probes and metrics on `port`.
fn start_controller_on(sim: &TestCluster, port: u16, extra: &[&str]) -> Child {
    let addr = format!("127.0.0.1:{port}");
    Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .args([
            "--health-probe-bind-address",
            &addr,
            "--metrics-bind-address",
            &addr,
            "--resync",
            "2s",
        ])
        .args(extra)
        .env(
            "RUST_LOG",
            std::env::var("CONTROLLER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .kill_on_drop(true)
        .spawn()
        .expect("controller starts")
}

/// Starts the controller process (killed when dropped).
fn start_controller(sim: &TestCluster, extra: &[&str]) -> Child {
    start_controller_on(sim, free_port(), extra)
}

/// Polls `check` until it holds or `limit` passes.
async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn graph_ready(sim: &TestCluster, ns: &str, name: &str) -> bool {
    sim.object("nvidia.com", "dynamographdeployments", ns, name)
        .is_some_and(|g| {
            g.pointer("/status/observedGeneration") == g.pointer("/metadata/generation")
                && g.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_lifecycle_under_the_controller() {
    let Some(sim) = with_crds(true).await else {
        return;
    };
    let port = free_port();
    let mut controller = start_controller_on(&sim, port, &[]);
    let out = run(&sim, &["apply", "examples/vllm-disagg.yaml"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let limit = Duration::from_secs(30);
    eventually(limit, "the graph to become Ready", || {
        graph_ready(&sim, "default", "vllm-disagg")
    })
    .await;
    for name in [
        "vllm-disagg-frontend",
        "vllm-disagg-vllmdecodeworker",
        "vllm-disagg-vllmprefillworker",
    ] {
        assert!(
            sim.object("apps", "deployments", "default", name).is_some(),
            "{name}"
        );
    }
    let ready = http_get(port, "/readyz").await.expect("readyz answers");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let metrics = http_get(port, "/metrics").await.expect("metrics answer");
    assert!(
        metrics.contains("dynamoctl_managed_graphs 1\n"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("dynamoctl_reconciles_total{controller=\"graph\"} 0\n"),
        "{metrics}"
    );
    assert!(!metrics.contains("dynamoctl_writes_total 0\n"), "{metrics}");

    // Events say what the operator created, on the graph and on each component.
    let events: kube::Api<k8s_openapi::api::core::v1::Event> =
        kube::Api::namespaced(sim.client(), "default");
    let events = events.list(&Default::default()).await.unwrap().items;
    let about = |name: &str| {
        events.iter().any(|e| {
            e.involved_object.name.as_deref() == Some(name)
                && e.reason.as_deref() == Some("Reconciled")
                && e.message.as_deref().is_some_and(|m| m.contains("created"))
        })
    };
    assert!(about("vllm-disagg"), "{events:?}");
    assert!(about("vllm-disagg-frontend"), "{events:?}");

    // A Deployment deleted by hand comes back.
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(sim.client(), "default");
    api.delete("vllm-disagg-frontend", &Default::default())
        .await
        .unwrap();
    eventually(limit, "the deleted Deployment to be restored", || {
        sim.object("apps", "deployments", "default", "vllm-disagg-frontend")
            .is_some()
    })
    .await;

    // A spec edit rolls through to the Deployment and the graph becomes Ready for it.
    let edited = read("examples/vllm-disagg.yaml").replacen("replicas: 1", "replicas: 2", 1);
    let out = run(
        &sim,
        &["apply", temp_file("scaled", &edited).to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    eventually(limit, "the frontend to scale", || {
        sim.object("apps", "deployments", "default", "vllm-disagg-frontend")
            .is_some_and(|d| d["spec"]["replicas"] == 2)
    })
    .await;
    eventually(limit, "Ready for generation 2", || {
        graph_ready(&sim, "default", "vllm-disagg")
    })
    .await;

    // Converged: several resync periods pass without a single write.
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.clear_audit();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let writes: Vec<_> = sim
        .audit_writes()
        .into_iter()
        .filter(|w| w.user_agent.contains("controller") && w.resource != "leases")
        .collect();
    assert!(writes.is_empty(), "steady state must not write: {writes:?}");
    assert!(
        sim.audit()
            .iter()
            .any(|r| r.user_agent.contains("controller")),
        "the controller kept resyncing"
    );

    // A service removed: its component and workload are pruned.
    let text_all = read("examples/vllm-disagg.yaml");
    let cut = text_all.find("    VllmPrefillWorker:").unwrap();
    let out = run(
        &sim,
        &[
            "apply",
            temp_file("removed", &text_all[..cut]).to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    eventually(
        limit,
        "the removed service's component to be deleted",
        || {
            sim.object(
                "nvidia.com",
                "dynamocomponentdeployments",
                "default",
                "vllm-disagg-vllmprefillworker",
            )
            .is_none()
        },
    )
    .await;
    // A real garbage collector notices owners of a kind created moments ago only after its
    // discovery resync (30 s in kube-controller-manager), as on a fresh cluster here.
    let gc_limit = Duration::from_secs(90);
    eventually(gc_limit, "its Deployment to be garbage collected", || {
        sim.object(
            "apps",
            "deployments",
            "default",
            "vllm-disagg-vllmprefillworker",
        )
        .is_none()
    })
    .await;
    controller.kill().await.ok();
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_graph_fails_validation_without_retry_loop() {
    let Some(sim) = with_crds(true).await else {
        return;
    };
    let mut controller = start_controller(&sim, &[]);
    // Valid for the CRD schema, but multinode is not supported: the controller marks it.
    let graph = "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: big\nspec:\n  services:\n    Worker:\n      componentType: worker\n      multinode:\n        nodeCount: 2\n";
    let api: kube::Api<dynamoctl::api::DynamoGraphDeployment> =
        kube::Api::namespaced(sim.client(), "default");
    let dgd: dynamoctl::api::DynamoGraphDeployment = serde_json::from_value(
        dynamoctl::yaml::parse_documents(graph).unwrap()[0]
            .value
            .clone(),
    )
    .unwrap();
    api.create(&Default::default(), &dgd).await.unwrap();
    eventually(Duration::from_secs(30), "ValidationFailed", || {
        sim.object("nvidia.com", "dynamographdeployments", "default", "big")
            .is_some_and(|g| {
                g.pointer("/status/conditions/0/reason") == Some(&Value::from("ValidationFailed"))
            })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.clear_audit();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let writes: Vec<_> = sim
        .audit_writes()
        .into_iter()
        .filter(|w| w.user_agent.contains("controller") && w.resource != "leases")
        .collect();
    assert!(
        writes.is_empty(),
        "an invalid graph is not retried in a loop: {writes:?}"
    );
    controller.kill().await.ok();
    sim.stop().await;
}

/// Short Lease timings so mode tests run in seconds: marker 3 s / 1 s, election 3 s / 2 s / 0.5 s.
const FAST_LEASES: [&str; 10] = [
    "--namespace-scope-lease-duration",
    "3s",
    "--namespace-scope-lease-renew-interval",
    "1s",
    "--leader-election-lease-duration",
    "3s",
    "--leader-election-renew-deadline",
    "2s",
    "--leader-election-retry-period",
    "500ms",
];

/// Starts a controller process named `pod` (its instance id starts with it).
fn spawn_controller(sim: &TestCluster, pod: &str, extra: &[&str]) -> Child {
    let addr = format!("127.0.0.1:{}", free_port());
    Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .args([
            "--health-probe-bind-address",
            &addr,
            "--metrics-bind-address",
            &addr,
            "--resync",
            "2s",
        ])
        .args(FAST_LEASES)
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

/// Writes (not Lease renewals) by processes whose user agent contains `who`, in `namespace`.
fn writes_by(sim: &TestCluster, who: &str, namespace: Option<&str>) -> Vec<kube_sim::AuditRecord> {
    sim.audit_writes()
        .into_iter()
        .filter(|w| w.user_agent.contains(who) && w.resource != "leases")
        .filter(|w| namespace.is_none_or(|ns| w.namespace == ns))
        .collect()
}

fn ts(record: &kube_sim::AuditRecord) -> k8s_openapi::jiff::Timestamp {
    record.ts.parse().unwrap()
}

fn marker(sim: &TestCluster, ns: &str) -> Option<Value> {
    sim.object(
        "coordination.k8s.io",
        "leases",
        ns,
        "dynamo-operator-namespace-scope",
    )
}

async fn apply_graph(sim: &TestCluster, ns: &str, name: &str, replicas: u32) {
    let graph = format!(
        "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  services:\n    Frontend:\n      componentType: frontend\n      replicas: {replicas}\n      extraPodSpec:\n        mainContainer:\n          image: example.com/dynamo:1\n"
    );
    let file = temp_file(&format!("{ns}-{name}-{replicas}"), &graph);
    let out = run(sim, &["apply", file.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn frontend_replicas(sim: &TestCluster, ns: &str, name: &str) -> Option<Value> {
    sim.object("apps", "deployments", ns, &format!("{name}-frontend"))
        .map(|d| d["spec"]["replicas"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_mode_hands_a_namespace_back_and_forth() {
    let Some(sim) = with_crds(true).await else {
        return;
    };
    let ns_file = temp_file(
        "team-b-ns",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-b\n",
    );
    assert_eq!(
        run(&sim, &["apply", ns_file.to_str().unwrap()], &[])
            .await
            .status
            .code(),
        Some(0)
    );
    let limit = Duration::from_secs(30);
    let mut wide = spawn_controller(&sim, "wide", &[]);
    let mut scoped = spawn_controller(
        &sim,
        "scoped",
        &[
            "--restricted-namespace",
            "team-b",
            "--operator-version",
            "v2.0.0-beta",
        ],
    );
    eventually(limit, "the marker", || marker(&sim, "team-b").is_some()).await;
    let holder = marker(&sim, "team-b").unwrap()["spec"]["holderIdentity"].clone();
    assert_eq!(holder, "namespace-restricted-operator-v2.0.0-beta");
    assert!(
        marker(&sim, "team-b").unwrap()["spec"]["renewTime"].is_string(),
        "renewTime from the first write"
    );

    apply_graph(&sim, "team-b", "g", 1).await;
    apply_graph(&sim, "default", "g", 1).await;
    eventually(limit, "both graphs Ready", || {
        graph_ready(&sim, "team-b", "g") && graph_ready(&sim, "default", "g")
    })
    .await;
    assert!(
        writes_by(&sim, "cluster-wide", Some("team-b")).is_empty(),
        "the cluster-wide operator wrote into team-b"
    );
    assert!(!writes_by(&sim, "namespace=team-b", Some("team-b")).is_empty());
    assert!(!writes_by(&sim, "cluster-wide", Some("default")).is_empty());

    // kill -9: the marker lapses on its own; the cluster-wide operator resumes at expiry.
    scoped.start_kill().unwrap();
    scoped.wait().await.unwrap();
    let renewed: k8s_openapi::jiff::Timestamp =
        marker(&sim, "team-b").unwrap()["spec"]["renewTime"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    let expiry = renewed
        .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(3))
        .unwrap();
    sim.clear_audit();
    apply_graph(&sim, "team-b", "g", 2).await;
    eventually(
        limit,
        "the cluster-wide operator to take team-b over",
        || frontend_replicas(&sim, "team-b", "g") == Some(2.into()),
    )
    .await;
    let first = writes_by(&sim, "cluster-wide", Some("team-b"))
        .first()
        .map(ts)
        .unwrap();
    assert!(
        first >= expiry,
        "no write before the marker expired ({first} < {expiry})"
    );
    let late = first.duration_since(expiry);
    assert!(
        late < k8s_openapi::jiff::SignedDuration::from_millis(1500),
        "resumed {late:?} after expiry"
    );

    // A new namespace-scoped operator: the cluster-wide one backs off again.
    let mut scoped = spawn_controller(&sim, "scoped2", &["--restricted-namespace", "team-b"]);
    eventually(limit, "a live marker again", || {
        marker(&sim, "team-b").is_some_and(|m| {
            m["metadata"]["annotations"]["nvidia.com/dynamo-operator-instance"]
                .as_str()
                .is_some_and(|i| i.starts_with("scoped2"))
        })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    sim.clear_audit();
    apply_graph(&sim, "team-b", "g", 3).await;
    eventually(
        limit,
        "the namespace-scoped operator to roll the change",
        || frontend_replicas(&sim, "team-b", "g") == Some(3.into()),
    )
    .await;
    assert!(
        writes_by(&sim, "cluster-wide", Some("team-b")).is_empty(),
        "the cluster-wide operator backed off"
    );

    // Graceful stop: the marker is deleted and the cluster-wide operator resumes at once.
    let pid = scoped.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(limit, scoped.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "graceful stop exits 0");
    assert!(
        marker(&sim, "team-b").is_none(),
        "the marker is deleted on graceful shutdown"
    );
    let stopped = std::time::Instant::now();
    apply_graph(&sim, "team-b", "g", 4).await;
    eventually(limit, "the cluster-wide operator to resume", || {
        frontend_replicas(&sim, "team-b", "g") == Some(4.into())
    })
    .await;
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "resumed right away, not after the TTL: {:?}",
        stopped.elapsed()
    );
    wide.kill().await.ok();
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_election_fails_over_without_two_writers() {
    let Some(sim) = with_crds(true).await else {
        return;
    };
    let limit = Duration::from_secs(30);
    let a = spawn_controller(&sim, "replica-a", &[]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b = spawn_controller(&sim, "replica-b", &[]);
    apply_graph(&sim, "default", "ha", 1).await;
    eventually(limit, "Ready", || graph_ready(&sim, "default", "ha")).await;
    let lease = || {
        sim.object(
            "coordination.k8s.io",
            "leases",
            "kube-system",
            "dynamo.nvidia.com",
        )
    };
    let holder = lease().unwrap()["spec"]["holderIdentity"]
        .as_str()
        .unwrap()
        .to_string();
    let (leader, standby, mut leader_proc, mut standby_proc) = if holder.starts_with("replica-a") {
        ("replica-a", "replica-b", a, b)
    } else {
        ("replica-b", "replica-a", b, a)
    };
    assert!(
        writes_by(&sim, standby, None).is_empty(),
        "the standby wrote while the leader led"
    );
    leader_proc.start_kill().unwrap();
    leader_proc.wait().await.unwrap();
    let killed = std::time::Instant::now();
    eventually(limit, "the standby to take over", || {
        lease().is_some_and(|l| {
            l["spec"]["holderIdentity"]
                .as_str()
                .is_some_and(|h| h.starts_with(standby))
        })
    })
    .await;
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "took over within the lease duration (+ a retry): {:?}",
        killed.elapsed()
    );
    apply_graph(&sim, "default", "ha", 2).await;
    eventually(limit, "the new leader to roll the change", || {
        frontend_replicas(&sim, "default", "ha") == Some(2.into())
    })
    .await;
    let old = writes_by(&sim, leader, None);
    let new = writes_by(&sim, standby, None);
    assert!(!new.is_empty());
    assert!(
        old.iter().map(ts).max() < new.iter().map(ts).min(),
        "the two replicas' writes never overlap"
    );
    standby_proc.kill().await.ok();
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphs_converge_through_faults_and_cut_watches() {
    use kube_sim::{FaultConfig, FaultKind, FaultRule};
    let Some(sim) = sim_only_with_crds("fault injection", true).await else {
        return;
    };
    sim.sim().set_faults(FaultConfig {
        rules: vec![
            FaultRule::new(FaultKind::InternalError, 0.05).verb("patch"),
            FaultRule::new(FaultKind::InternalError, 0.05).verb("get"),
            FaultRule::new(
                FaultKind::TooManyRequests {
                    retry_after_secs: 0,
                },
                0.05,
            )
            .verb("list"),
            FaultRule::new(
                FaultKind::Unavailable {
                    retry_after_secs: 0,
                },
                0.05,
            )
            .verb("delete"),
        ],
        watch_cut_after: Some(Duration::from_secs(2)),
        ..FaultConfig::default()
    });
    let mut controller = spawn_controller(&sim, "faulty", &[]);
    for i in 0..3 {
        apply_graph(&sim, "default", &format!("f{i}"), 1).await;
    }
    eventually(
        Duration::from_secs(60),
        "every graph Ready despite faults",
        || (0..3).all(|i| graph_ready(&sim, "default", &format!("f{i}"))),
    )
    .await;
    sim.sim().set_faults(FaultConfig::default());
    let dcds: kube::Api<dynamoctl::api::DynamoComponentDeployment> =
        kube::Api::namespaced(sim.client(), "default");
    let names: Vec<String> = dcds
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|d| d.metadata.name)
        .collect();
    assert_eq!(
        names,
        ["f0-frontend", "f1-frontend", "f2-frontend"],
        "no duplicate or lost components"
    );
    assert!(
        sim.audit().iter().any(|r| r.code >= 429),
        "faults were injected"
    );
    controller.kill().await.ok();
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_takes_its_mode_and_wiring_from_its_configuration_file() {
    let Some(sim) = with_crds(true).await else {
        return;
    };
    let ns = temp_file(
        "team-c-ns",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-c\n",
    );
    let out = run(&sim, &["apply", ns.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config = temp_file(
        "operator-config",
        "apiVersion: operator.config.dynamo.nvidia.com/v1alpha1\nkind: OperatorConfiguration\n\
         namespace:\n  restricted: team-c\n  scope:\n    leaseDuration: 3s\n    leaseRenewInterval: 1s\n\
         leaderElection:\n  enabled: false\n\
         infrastructure:\n  etcdAddress: http://etcd.team-c:2379\n  natsAddress: nats://nats.team-c:4222\n",
    );
    let mut controller = start_controller(
        &sim,
        &["--config", config.to_str().unwrap(), "--leader-elect=false"],
    );
    let limit = Duration::from_secs(30);
    eventually(limit, "the namespace-scope marker in team-c", || {
        marker(&sim, "team-c").is_some()
    })
    .await;
    let duration = marker(&sim, "team-c").unwrap()["spec"]["leaseDurationSeconds"].clone();
    assert_eq!(duration, 3, "the lease timing comes from the file");

    apply_graph(&sim, "team-c", "wired", 1).await;
    eventually(limit, "the graph in team-c to become Ready", || {
        graph_ready(&sim, "team-c", "wired")
    })
    .await;
    let deployment = sim
        .object("apps", "deployments", "team-c", "wired-frontend")
        .unwrap();
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .clone();
    for (name, value) in [
        ("ETCD_ENDPOINTS", "http://etcd.team-c:2379"),
        ("NATS_SERVER", "nats://nats.team-c:4222"),
    ] {
        assert!(
            env.iter().any(|e| e["name"] == name && e["value"] == value),
            "{name} in {env:?}"
        );
    }
    // Restricted to team-c: a graph elsewhere is not its business.
    apply_graph(&sim, "default", "elsewhere", 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(frontend_replicas(&sim, "default", "elsewhere").is_none());
    controller.kill().await.ok();

    // A broken file: exit 2 naming it, before touching the cluster.
    let bad = temp_file("operator-config-bad", "namespace:\n  restricted: Team_C\n");
    let out = Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--config"])
        .arg(&bad)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {}:2:3: OperatorConfiguration: namespace.restricted: \"Team_C\" is not a namespace name: use at most 63 lowercase letters, digits and '-'\n",
            bad.display()
        )
    );
}

/// Sends SIGTERM and waits (bounded) for the process to exit.
async fn terminate(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    tokio::time::timeout(limit, child.wait())
        .await
        .expect("the operator exits after SIGTERM")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_operator_even_when_its_api_server_is_gone_or_hanging() {
    for hanging in [false, true] {
        let Some(sim) = sim_only_with_crds("taking the API server away mid-test", true).await
        else {
            return;
        };
        let addr = sim.sim().addr();
        let mut controller = spawn_controller(
            &sim,
            if hanging { "hanging" } else { "gone" },
            &["--restricted-namespace", "default"],
        );
        apply_graph(&sim, "default", "busy", 2).await;
        let limit = Duration::from_secs(30);
        eventually(limit, "the graph to become Ready", || {
            graph_ready(&sim, "default", "busy")
        })
        .await;
        // Keep it busy, then take the API server away: refused connections, or (worse) a
        // server that accepts and never answers.
        apply_graph(&sim, "default", "busy", 3).await;
        sim.stop().await;
        let _listener = if hanging {
            let listener = std::net::TcpListener::bind(addr).unwrap();
            let accepted: Vec<std::net::TcpStream> = Vec::new();
            let holder = std::sync::Arc::new(std::sync::Mutex::new(accepted));
            let keep = holder.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    keep.lock().unwrap().push(stream);
                }
            });
            Some(holder)
        } else {
            None
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The process's own deadline is 20 s; the bound here only keeps the test finite.
        let status = terminate(&mut controller, Duration::from_secs(40)).await;
        assert!(
            status.code().is_some(),
            "exited by itself, not killed: {status:?} (hanging={hanging})"
        );
    }
}
