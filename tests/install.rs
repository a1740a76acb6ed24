//! `dynamoctl install`, `uninstall` and `check` against the simulator, and the Helm charts
//! against `dynamoctl install --dry-run` (one source of truth). Real `helm` comes from `HELM`
//! or `.tools/bin`; when missing, the helm tests fail under `CI` and are skipped otherwise.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::cluster::TestCluster;
use common::repo;
use common::sim::{run, text};
use dynamoctl::install::{InstallOptions, manifests, scope_rules};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube_sim::AuditRecord;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// helpers

/// A cluster on the chosen backend (`DYNAMOCTL_TEST_CLUSTER`) whose Deployments become
/// available (the simulator's kubelet after 100 ms; the real node agent).
async fn sim() -> Option<TestCluster> {
    TestCluster::start(true).await
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Runs dynamoctl without any cluster (no kubeconfig at all).
fn offline(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .current_dir(repo())
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("NO_COLOR", "1")
        .output()
        .expect("dynamoctl runs")
}

fn helm() -> Option<PathBuf> {
    let path = std::env::var_os("HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/bin/helm"));
    if path.is_file() {
        return Some(path);
    }
    let msg = format!(
        "helm not found at {} (set HELM or run scripts/install-k8s-tools.sh)",
        path.display()
    );
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("CI is set and {msg}");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {msg}");
    None
}

/// Runs helm in `dir` with an isolated HOME, against `sim` if given, bounded in time.
async fn run_helm(helm: &Path, dir: &Path, sim: Option<&TestCluster>, args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!(
        "dynamoctl-install-helm-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = tokio::process::Command::new(helm);
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env(
            "KUBECONFIG",
            sim.map_or(PathBuf::from("/nonexistent"), |s| {
                s.kubeconfig_path().to_path_buf()
            }),
        )
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("helm finished within 60s")
        .expect("helm starts")
}

fn kubectl() -> Option<PathBuf> {
    let path = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/bin/kubectl"));
    if path.is_file() {
        return Some(path);
    }
    let msg = format!(
        "kubectl not found at {} (set KUBECTL or run scripts/install-k8s-tools.sh)",
        path.display()
    );
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("CI is set and {msg}");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {msg}");
    None
}

/// Runs kubectl against `sim`, bounded in time.
async fn run_tool(bin: &Path, sim: &TestCluster, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .env("KUBECONFIG", sim.kubeconfig_path())
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("tool finished within 60s")
        .expect("tool starts")
}

fn ok(out: &Output) -> String {
    assert_eq!(code(out), 0, "stderr: {}", text(&out.stderr));
    text(&out.stdout)
}

fn parse_yaml(s: &str) -> Vec<Value> {
    dynamoctl::yaml::parse_documents(s)
        .expect("valid YAML")
        .into_iter()
        .map(|d| d.value)
        .collect()
}

fn id(o: &Value) -> (String, String, String) {
    let s = |p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
}

/// Drops what only Helm sets (`helm.sh/chart`, `managed-by: Helm`) and what only dynamoctl
/// sets (`managed-by: dynamoctl`), everywhere labels appear.
fn normalise(mut o: Value) -> Value {
    for p in ["/metadata/labels", "/spec/template/metadata/labels"] {
        if let Some(l) = o.pointer_mut(p).and_then(Value::as_object_mut) {
            l.remove("helm.sh/chart");
            l.remove("app.kubernetes.io/managed-by");
        }
    }
    o
}

fn by_id(objs: Vec<Value>) -> BTreeMap<(String, String, String), Value> {
    objs.into_iter().map(|o| (id(&o), normalise(o))).collect()
}

async fn wait_for(limit: Duration, what: &str, mut f: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn cluster_scoped_write(r: &AuditRecord) -> bool {
    r.resource == "namespaces" || r.namespace.is_empty()
}

/// The configuration text in the operator's ConfigMap in `namespace`.
fn installed_config(sim: &TestCluster, namespace: &str) -> String {
    let map = sim
        .object("", "configmaps", namespace, "dynamo-operator-config")
        .expect("the operator's ConfigMap");
    map["data"]["config.yaml"].as_str().unwrap().to_string()
}

/// The controller process exactly as the installed Deployment would run it: its arguments,
/// with the mounted configuration read from its ConfigMap, except that it binds to 127.0.0.1
/// (command-line flags override the file) and uses the simulator's kubeconfig (the simulator
/// runs no containers).
fn start_operator(
    sim: &TestCluster,
    deployment: &Value,
    health_port: u16,
) -> tokio::process::Child {
    let namespace = deployment["metadata"]["namespace"].as_str().unwrap();
    let config = installed_config(sim, namespace);
    let file = common::sim::temp_file(&format!("operator-config-{namespace}"), &config);
    let mut args: Vec<String> = Vec::new();
    for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
    {
        let a = a.as_str().unwrap();
        if a.starts_with("--config=") {
            args.push(format!("--config={}", file.display()));
        } else {
            args.push(a.to_string());
        }
    }
    args.push(format!(
        "--health-probe-bind-address=127.0.0.1:{health_port}"
    ));
    args.push("--metrics-bind-address=127.0.0.1:0".to_string());
    args.extend(common::local_webhook_args(&config));
    tokio::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(&args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .env("POD_NAME", "dynamo-operator-test")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("operator starts")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn ready(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if s.write_all(b"GET /readyz HTTP/1.0\r\nHost: x\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    buf.starts_with(b"HTTP/1.1 200") || buf.starts_with(b"HTTP/1.0 200")
}

fn check_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check -o json: {e}: {}", text(&out.stdout)))
}

/// Every check that is not `success`, except the RBAC group (the simulator has no
/// SelfSubjectAccessReview, so it is skipped with a warning).
fn not_ok(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for c in report["categories"].as_array().unwrap() {
        for check in c["checks"].as_array().unwrap() {
            if check["result"] != "success" && c["categoryName"] != "rbac" {
                out.push(format!("{}: {}", c["categoryName"], check));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// offline

#[test]
fn dry_run_prints_exactly_the_manifests() {
    let out = offline(&["install", "--dry-run", "-o", "json"]);
    let list: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"], json!(manifests(&InstallOptions::default())));

    let out = offline(&[
        "install",
        "--dry-run",
        "--namespace-scoped",
        "-n",
        "team-a",
        "--image",
        "reg.example.com:5000/op:v2.0.0-beta",
        "--lease-duration",
        "45s",
        "--lease-renew-interval",
        "15s",
        "--replicas",
        "2",
    ]);
    let expected = manifests(&InstallOptions {
        namespace: "team-a".into(),
        namespace_scoped: true,
        lease_duration: Duration::from_secs(45),
        lease_renew_interval: Duration::from_secs(15),
        replicas: 2,
        ..InstallOptions::default().with_image("reg.example.com:5000/op:v2.0.0-beta")
    });
    assert_eq!(parse_yaml(&ok(&out)), expected);
}

#[test]
fn bad_flags_fail_with_exit_2_and_a_clear_message() {
    for (args, message) in [
        (vec!["--image", "Not An/Image"], "invalid image reference"),
        (vec!["--image", "repo:bad/tag"], "invalid image reference"),
        (
            vec!["--lease-duration", "10s", "--lease-renew-interval", "10s"],
            "must be shorter than the lease duration",
        ),
        (vec!["--replicas", "0"], "replicas must be at least 1"),
        (vec!["-n", "Bad_Namespace"], "invalid namespace"),
        (vec!["--lease-duration", "soon"], "invalid duration"),
        (vec!["-o", "yaml"], "--dry-run"),
        (
            vec!["--etcd-address", "etcd at 2379"],
            "--etcd-address (infrastructure.etcdAddress): \"etcd at 2379\" is not an etcd endpoint",
        ),
        (
            vec!["--nats-address", "nats-server:4222"],
            "--nats-address (infrastructure.natsAddress): \"nats-server:4222\" is not a NATS URL",
        ),
        (
            vec!["--ingress-host-suffix", "Example_.com"],
            "--ingress-host-suffix (ingress.hostSuffix): \"Example_.com\" is not a DNS name",
        ),
        (
            vec!["--discovery-backend", "consul"],
            "--discovery-backend (discovery.backend): unsupported value \"consul\"",
        ),
        (
            vec!["--model-express-url", "mx:8001"],
            "--model-express-url (infrastructure.modelExpressURL): \"mx:8001\" is not an http(s):// URL",
        ),
        (
            vec!["--prometheus-endpoint", "prometheus:9090"],
            "--prometheus-endpoint (infrastructure.prometheusEndpoint)",
        ),
        (
            vec!["--ingress-class", "Nginx Plus"],
            "--ingress-class (ingress.controllerClassName)",
        ),
        (
            vec!["--with-etcd", "--etcd-storage", "lots"],
            "--etcd-storage: \"lots\" is not a storage size",
        ),
        (vec!["--etcd-storage", "1Gi"], "--with-etcd"),
        (vec!["--pod-monitors-release", "x"], "--pod-monitors"),
        (
            vec!["--pod-monitors", "--pod-monitors-release", "bad value!"],
            "is not a label value",
        ),
        (
            vec!["--operator-config", "/nonexistent/config.yaml"],
            "--operator-config: cannot read /nonexistent/config.yaml",
        ),
    ] {
        let mut all = vec!["install"];
        all.extend(&args);
        let out = offline(&all);
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_bad_operator_config_file_is_reported_at_its_position() {
    let file = common::sim::temp_file(
        "bad-operator-config",
        "apiVersion: operator.config.dynamo.nvidia.com/v1alpha1\nkind: OperatorConfiguration\ninfrastructure:\n  etcdAdress: http://etcd:2379\n",
    );
    let out = offline(&[
        "install",
        "--dry-run",
        "--operator-config",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "{}:4:3: OperatorConfiguration: infrastructure.etcdAdress: unknown field; did you mean \"etcdAddress\"?",
            file.display()
        )),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    // A good file's keys are kept; a flag overrides one.
    let file = common::sim::temp_file(
        "good-operator-config",
        "infrastructure:\n  etcdAddress: http://etcd-a:2379\n  natsAddress: nats://nats-a:4222\n",
    );
    let out = offline(&[
        "install",
        "--dry-run",
        "-o",
        "json",
        "--operator-config",
        file.to_str().unwrap(),
        "--nats-address",
        "nats://nats-b:4222",
    ]);
    let list: Value = serde_json::from_str(&ok(&out)).unwrap();
    let map = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .unwrap();
    let config =
        dynamoctl::config::parse("c", map["data"]["config.yaml"].as_str().unwrap()).unwrap();
    assert_eq!(
        config.infrastructure.etcd_address.as_deref(),
        Some("http://etcd-a:2379")
    );
    assert_eq!(
        config.infrastructure.nats_address.as_deref(),
        Some("nats://nats-b:4222")
    );
}

// ---------------------------------------------------------------------------------------
// against the simulator

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_write_nothing() {
    let Some(sim) = sim().await else {
        return;
    };
    for args in [
        vec!["install", "--image", "BAD"],
        vec!["install", "--lease-renew-interval", "30s"],
        vec!["install", "--replicas", "-1"],
        // --skip-crds with the CRDs missing.
        vec!["install", "--skip-crds"],
        vec!["install", "--with-etcd", "--etcd-address", "etcd:port"],
        // PodMonitors need the Prometheus Operator's API, which this cluster lacks.
        vec!["install", "--pod-monitors", "--with-etcd"],
    ] {
        let out = run(&sim, &args, &[]).await;
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
    }
    assert!(sim.audit_writes().is_empty(), "{:?}", sim.audit_writes());
    let out = run(&sim, &["install", "--pod-monitors"], &[]).await;
    assert!(
        text(&out.stderr).contains("--pod-monitors: the cluster does not serve monitoring.coreos.com/v1/PodMonitor; install the Prometheus Operator"),
        "{}",
        text(&out.stderr)
    );
    // --skip-crds into a namespace that does not exist, with the CRDs present.
    ok(&run(&sim, &["install"], &[]).await);
    sim.clear_audit();
    let out = run(
        &sim,
        &[
            "install",
            "--namespace-scoped",
            "--skip-crds",
            "-n",
            "nowhere",
        ],
        &[],
    )
    .await;
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("namespace nowhere does not exist"));
    assert!(sim.audit_writes().is_empty(), "{:?}", sim.audit_writes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_wide_install_then_operator_then_check_passes() {
    let Some(sim) = sim().await else {
        return;
    };
    let out = run(&sim, &["check", "--pre", "-o", "json"], &[]).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    assert_eq!(check_json(&out)["success"], true);

    let out = ok(&run(&sim, &["install", "--wait", "--timeout", "30s"], &[]).await);
    assert!(
        out.contains("deployment.apps/dynamo-operator created"),
        "{out}"
    );
    assert!(out.contains("is available"), "{out}");
    let deployment = sim
        .object("apps", "deployments", "dynamo-system", "dynamo-operator")
        .unwrap();
    assert!(
        sim.object(
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            "dynamo-operator"
        )
        .is_some()
    );

    let port = free_port();
    let _operator = start_operator(&sim, &deployment, port);
    wait_for(
        Duration::from_secs(30),
        "the operator's /readyz",
        async || ready(port).await,
    )
    .await;

    // Once the operator holds its leader-election Lease, every check is √.
    let mut report = Value::Null;
    wait_for(Duration::from_secs(30), "every check to pass", async || {
        let out = run(&sim, &["check", "-o", "json"], &[]).await;
        report = check_json(&out);
        code(&out) == 0 && not_ok(&report).is_empty()
    })
    .await;
    assert_eq!(report["success"], true);
    let out = run(&sim, &["check"], &[]).await;
    let table = ok(&out);
    assert!(
        table.starts_with("kubernetes-api\n--------------\n√ can initialize the client\n"),
        "{table}"
    );
    assert!(table.ends_with("Status check results are √\n"), "{table}");

    // The installed operator really runs graphs.
    ok(&run(
        &sim,
        &["apply", "-n", "default", "examples/mocker-agg.yaml"],
        &[],
    )
    .await);
    let name = parse_yaml(&common::sim::read("examples/mocker-agg.yaml"))
        .into_iter()
        .find(|o| o["kind"] == "DynamoGraphDeployment")
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .unwrap();
    wait_for(
        Duration::from_secs(30),
        "the graph's DynamoComponentDeployments",
        async || {
            sim.audit_writes()
                .iter()
                .any(|r| r.resource == "dynamocomponentdeployments" && r.namespace == "default")
        },
    )
    .await;
    assert!(
        sim.object("nvidia.com", "dynamographdeployments", "default", &name)
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_scoped_install_creates_nothing_cluster_scoped_but_crds_and_its_policy() {
    let Some(sim) = sim().await else {
        return;
    };
    // The tenant's namespace exists (a cluster admin made it); the CRDs do not yet.
    let namespaces: Api<Namespace> = Api::all(sim.client());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap(),
        )
        .await
        .unwrap();
    sim.clear_audit();
    ok(&run(
        &sim,
        &[
            "install",
            "--namespace-scoped",
            "-n",
            "team-a",
            "--wait",
            "--timeout",
            "30s",
        ],
        &[],
    )
    .await);
    let writes = sim.audit_writes();
    assert!(!writes.is_empty());
    for w in &writes {
        if w.group == "apiextensions.k8s.io" {
            assert_eq!(w.resource, "customresourcedefinitions");
            continue;
        }
        // The replica policy, bound in team-a only.
        if w.group == "admissionregistration.k8s.io" {
            assert_eq!(w.name, "dynamo-graph-replicas-team-a", "{w:?}");
            continue;
        }
        assert!(!cluster_scoped_write(w), "cluster-scoped write: {w:?}");
        assert_eq!(w.namespace, "team-a", "{w:?}");
    }
    assert!(writes.iter().any(|w| w.resource == "roles"));
    assert!(
        writes
            .iter()
            .all(|w| w.resource != "clusterroles" && w.resource != "clusterrolebindings")
    );
    let binding = sim
        .object(
            "admissionregistration.k8s.io",
            "validatingadmissionpolicybindings",
            "",
            "dynamo-graph-replicas-team-a",
        )
        .unwrap();
    assert_eq!(
        binding["spec"]["matchResources"]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "team-a"
    );

    // A namespace admin re-running with --skip-crds touches no cluster-scoped object at all.
    sim.clear_audit();
    ok(&run(
        &sim,
        &[
            "install",
            "--namespace-scoped",
            "--skip-crds",
            "-n",
            "team-a",
            "--replicas",
            "2",
        ],
        &[],
    )
    .await);
    let writes = sim.audit_writes();
    assert_eq!(writes.len(), 1, "only the Deployment changed: {writes:?}");
    assert_eq!(writes[0].resource, "deployments");
    // It never even reads a cluster-scoped object: discovery tells it the CRDs are served.
    assert!(
        sim.audit()
            .iter()
            .all(|r| r.resource.is_empty() || !r.namespace.is_empty()),
        "{:?}",
        sim.audit()
    );

    // The operator as the Deployment runs it, then check.
    let deployment = sim
        .object("apps", "deployments", "team-a", "dynamo-operator")
        .unwrap();
    let config = dynamoctl::config::parse("c", &installed_config(&sim, "team-a")).unwrap();
    assert_eq!(config.restricted_namespace(), Some("team-a"));
    let port = free_port();
    let _operator = start_operator(&sim, &deployment, port);
    wait_for(
        Duration::from_secs(30),
        "the operator's /readyz",
        async || ready(port).await,
    )
    .await;
    wait_for(
        Duration::from_secs(30),
        "every check to pass (Deployment available, marker held)",
        async || {
            let out = run(&sim, &["check", "-n", "team-a", "-o", "json"], &[]).await;
            code(&out) == 0 && not_ok(&check_json(&out)).is_empty()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_rerun_sends_zero_writes_and_a_change_one() {
    let Some(sim) = sim().await else {
        return;
    };
    ok(&run(&sim, &["install"], &[]).await);
    sim.clear_audit();
    let out = ok(&run(&sim, &["install"], &[]).await);
    assert!(sim.audit_writes().is_empty(), "{:?}", sim.audit_writes());
    // 10 objects, the replica policy and its binding, the adapter and model CRDs, and the
    // conversion webhook's RBAC (4) and Service.
    assert_eq!(out.lines().count(), 19, "{out}");
    assert!(out.lines().all(|l| l.ends_with(" unchanged")), "{out}");

    // An upgrade: only what changed is written.
    let out = ok(&run(&sim, &["install", "--replicas", "3"], &[]).await);
    let writes = sim.audit_writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        (writes[0].resource.as_str(), writes[0].name.as_str()),
        ("deployments", "dynamo-operator")
    );
    assert!(
        out.contains("deployment.apps/dynamo-operator configured"),
        "{out}"
    );
    let d = sim
        .object("apps", "deployments", "dynamo-system", "dynamo-operator")
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_leaves_nothing_behind() {
    let Some(sim) = sim().await else {
        return;
    };
    let mut before_ns: Vec<String> = namespaces(&sim).await;
    ok(&run(&sim, &["install"], &[]).await);
    // No operator runs here to serve conversion: on a real API server the v1alpha1 graph
    // below needs the test's webhook (whose namespace stays).
    if let Some(real) = sim.real() {
        real.conversion_webhook();
        before_ns.push(common::real::WEBHOOK_NAMESPACE.to_string());
        before_ns.sort();
    }
    // A graph blocks --crds, until --force.
    ok(&run(
        &sim,
        &["apply", "-n", "default", "examples/mocker-agg.yaml"],
        &[],
    )
    .await);
    let out = run(&sim, &["uninstall", "--crds"], &[]).await;
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("would delete 1 DynamoGraphDeployment"));
    assert!(
        sim.object("apps", "deployments", "dynamo-system", "dynamo-operator")
            .is_some()
    );

    let out = ok(&run(&sim, &["uninstall", "--crds", "--force"], &[]).await);
    let order: Vec<&str> = out.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        order,
        [
            "service/dynamo-operator-webhook",
            "service/dynamo-operator-metrics",
            "deployment.apps/dynamo-operator",
            "configmap/dynamo-operator-config",
            "rolebinding.rbac.authorization.k8s.io/dynamo-operator-conversion",
            "role.rbac.authorization.k8s.io/dynamo-operator-conversion",
            "validatingadmissionpolicybinding.admissionregistration.k8s.io/dynamo-graph-replicas",
            "validatingadmissionpolicy.admissionregistration.k8s.io/dynamo-graph-replicas",
            "clusterrolebinding.rbac.authorization.k8s.io/dynamo-operator",
            "clusterrole.rbac.authorization.k8s.io/dynamo-operator",
            "clusterrolebinding.rbac.authorization.k8s.io/dynamo-operator-conversion",
            "clusterrole.rbac.authorization.k8s.io/dynamo-operator-conversion",
            "serviceaccount/dynamo-operator",
            "namespace/dynamo-system",
            "customresourcedefinition.apiextensions.k8s.io/dynamographdeployments.nvidia.com",
            "customresourcedefinition.apiextensions.k8s.io/dynamocomponentdeployments.nvidia.com",
            "customresourcedefinition.apiextensions.k8s.io/dynamoworkermetadatas.nvidia.com",
            "customresourcedefinition.apiextensions.k8s.io/dynamographdeploymentscalingadapters.nvidia.com",
            "customresourcedefinition.apiextensions.k8s.io/dynamomodels.nvidia.com",
        ]
    );
    // A real API server finalizes a deleted namespace a little later.
    wait_for(
        Duration::from_secs(60),
        "dynamo-system to be gone",
        async || namespaces(&sim).await == before_ns,
    )
    .await;
    for (g, r) in [
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    ] {
        for name in ["dynamo-operator", "dynamographdeployments.nvidia.com"] {
            assert!(sim.object(g, r, "", name).is_none(), "{r}/{name}");
        }
    }

    // Namespace-scoped: the namespace install did not create stays, nothing else does.
    ok(&run(
        &sim,
        &["install", "--namespace-scoped", "-n", "team-b"],
        &[],
    )
    .await);
    ok(&run(&sim, &["uninstall", "-n", "team-b"], &[]).await);
    for (g, r, name) in [
        ("", "serviceaccounts", "dynamo-operator"),
        ("apps", "deployments", "dynamo-operator"),
        ("", "services", "dynamo-operator-metrics"),
        ("", "configmaps", "dynamo-operator-config"),
        ("rbac.authorization.k8s.io", "roles", "dynamo-operator"),
        (
            "rbac.authorization.k8s.io",
            "rolebindings",
            "dynamo-operator",
        ),
    ] {
        assert!(sim.object(g, r, "team-b", name).is_none(), "{r}/{name}");
    }
    for r in [
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
    ] {
        let name = "dynamo-graph-replicas-team-b";
        assert!(
            sim.object("admissionregistration.k8s.io", r, "", name)
                .is_none(),
            "{r}/{name}"
        );
    }
    assert!(namespaces(&sim).await.contains(&"team-b".to_string()));
}

/// The Prometheus Operator's PodMonitor CRD, as far as the simulator needs it.
fn pod_monitor_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "podmonitors.monitoring.coreos.com" },
        "spec": {
            "group": "monitoring.coreos.com",
            "names": { "kind": "PodMonitor", "listKind": "PodMonitorList", "plural": "podmonitors", "singular": "podmonitor" },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } },
            }],
        },
    })
}

fn check_entry(report: &Value, description: &str) -> Option<Value> {
    report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["checks"].as_array().unwrap().iter())
        .find(|c| c["description"] == description)
        .cloned()
}

/// Bundled etcd and NATS, PodMonitors and the worker-metadata CRD land in the cluster; the
/// configuration points at the bundled services; `check` warns once the PodMonitors' API is
/// gone; uninstall removes it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_infrastructure_and_pod_monitors_install_check_and_uninstall() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let Some(sim) = sim().await else {
        return;
    };
    let crds: Api<CustomResourceDefinition> = Api::all(sim.client());
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(pod_monitor_crd()).unwrap(),
    )
    .await
    .unwrap();
    ok(&run(
        &sim,
        &[
            "install",
            "--with-etcd",
            "--etcd-storage",
            "2Gi",
            "--with-nats",
            "--discovery-backend",
            "etcd",
            "--pod-monitors",
            "--wait",
            "--timeout",
            "30s",
        ],
        &[],
    )
    .await);
    let ns = "dynamo-system";
    let config = dynamoctl::config::parse("c", &installed_config(&sim, ns)).unwrap();
    let r = config.render_options();
    assert_eq!(
        r.etcd_address.as_deref(),
        Some("http://dynamo-platform-etcd.dynamo-system.svc.cluster.local:2379")
    );
    assert_eq!(
        r.nats_address.as_deref(),
        Some("nats://dynamo-platform-nats.dynamo-system.svc.cluster.local:4222")
    );
    assert_eq!(r.discovery_backend.as_deref(), Some("etcd"));
    for component in ["etcd", "nats"] {
        let name = format!("dynamo-platform-{component}");
        let sts = sim.object("apps", "statefulsets", ns, &name).unwrap();
        assert_eq!(sts["spec"]["serviceName"], format!("{name}-headless"));
        assert!(sim.object("", "services", ns, &name).is_some());
        let headless = sim
            .object("", "services", ns, &format!("{name}-headless"))
            .unwrap();
        assert_eq!(headless["spec"]["clusterIP"], "None");
    }
    let etcd = sim
        .object("apps", "statefulsets", ns, "dynamo-platform-etcd")
        .unwrap();
    assert_eq!(
        etcd["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "2Gi"
    );
    for name in ["dynamo-frontend", "dynamo-worker", "dynamo-planner"] {
        let m = sim
            .object("monitoring.coreos.com", "podmonitors", ns, name)
            .unwrap();
        assert_eq!(m["metadata"]["labels"]["release"], "dynamo-platform");
    }
    assert!(
        sim.object(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            "dynamoworkermetadatas.nvidia.com"
        )
        .is_some()
    );

    let description = "PodMonitors are installed and the Prometheus Operator's API is served";
    let out = run(&sim, &["check", "-o", "json"], &[]).await;
    let report = check_json(&out);
    assert_eq!(report["success"], true, "{report}");
    assert_eq!(
        check_entry(&report, description).unwrap()["result"],
        "success"
    );
    assert_eq!(
        check_entry(
            &report,
            "operator configuration dynamo-system/dynamo-operator-config is valid"
        )
        .unwrap()["result"],
        "success"
    );

    // The Prometheus Operator goes away, and with it the PodMonitors: a warning, not a failure.
    crds.delete("podmonitors.monitoring.coreos.com", &Default::default())
        .await
        .unwrap();
    let mut report = Value::Null;
    wait_for(
        Duration::from_secs(30),
        "the PodMonitor API to go",
        async || {
            let out = run(&sim, &["check", "-o", "json"], &[]).await;
            report = check_json(&out);
            check_entry(&report, description).is_some_and(|c| c["result"] == "warning")
        },
    )
    .await;
    assert_eq!(report["success"], true, "{report}");
    let entry = check_entry(&report, description).unwrap();
    assert!(
        entry["error"]
            .as_str()
            .unwrap()
            .contains("does not serve monitoring.coreos.com/v1"),
        "{entry}"
    );
    assert!(entry["hint"].as_str().unwrap().contains("--pod-monitors"));

    // A broken configuration fails check, naming the problem.
    let maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(sim.client(), ns);
    maps.patch(
        "dynamo-operator-config",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(
            json!({"data": {"config.yaml": "infrastructure:\n  natsAddress: nats-server:4222\n"}}),
        ),
    )
    .await
    .unwrap();
    let out = run(&sim, &["check", "-o", "json"], &[]).await;
    assert_eq!(code(&out), 1);
    let entry = check_entry(
        &check_json(&out),
        "operator configuration dynamo-system/dynamo-operator-config is valid",
    )
    .unwrap();
    assert_eq!(entry["result"], "error");
    assert!(
        entry["error"]
            .as_str()
            .unwrap()
            .contains("is not a NATS URL"),
        "{entry}"
    );

    ok(&run(&sim, &["uninstall"], &[]).await);
    for (g, r, name) in [
        ("apps", "statefulsets", "dynamo-platform-etcd"),
        ("apps", "statefulsets", "dynamo-platform-nats"),
        ("", "services", "dynamo-platform-etcd"),
        ("", "services", "dynamo-platform-nats-headless"),
        ("", "configmaps", "dynamo-operator-config"),
    ] {
        assert!(sim.object(g, r, ns, name).is_none(), "{r}/{name}");
    }
}

async fn namespaces(sim: &TestCluster) -> Vec<String> {
    let api: Api<Namespace> = Api::all(sim.client());
    let mut names: Vec<String> = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// the Helm charts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_template_renders_what_install_dry_run_prints() {
    let Some(helm) = helm() else { return };
    let charts = repo().join("charts");
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        ("dynamo-system", vec![], vec![]),
        (
            "dynamo-system",
            vec![
                "--set",
                "dynamo-operator.controllerManager.manager.image.repository=registry.example.com/dynamo-operator",
                "--set",
                "dynamo-operator.controllerManager.manager.image.tag=latest",
                "--set",
                "dynamo-operator.controllerManager.replicas=2",
            ],
            vec![
                "--image",
                "registry.example.com/dynamo-operator:latest",
                "--replicas",
                "2",
            ],
        ),
        (
            "my-namespace",
            vec!["--set", "dynamo-operator.namespaceRestriction.enabled=true"],
            vec!["--namespace-scoped"],
        ),
        (
            "test-namespace",
            vec![
                "--set",
                "dynamo-operator.namespaceRestriction.enabled=true",
                "--set",
                "dynamo-operator.controllerManager.manager.image.tag=v2.0.0-beta",
                "--set",
                "dynamo-operator.namespaceRestriction.lease.duration=45s",
                "--set",
                "dynamo-operator.namespaceRestriction.lease.renewInterval=15s",
            ],
            vec![
                "--namespace-scoped",
                "--image",
                "ghcr.io/dynamoctl/dynamoctl:v2.0.0-beta",
                "--lease-duration",
                "45s",
                "--lease-renew-interval",
                "15s",
            ],
        ),
        // Bundled etcd (with storage) and NATS; the configuration points at them.
        (
            "dynamo-system",
            vec![
                "--set",
                "global.etcd.install=true",
                "--set",
                "global.nats.install=true",
                "--set",
                "etcd.persistence.enabled=true",
                "--set",
                "etcd.persistence.size=2Gi",
            ],
            vec!["--with-etcd", "--etcd-storage", "2Gi", "--with-nats"],
        ),
        // External etcd and NATS win over a bundled one.
        (
            "dynamo-system",
            vec![
                "--set",
                "global.etcd.install=true",
                "--set",
                "dynamo-operator.etcdAddr=http://etcd.example.com:2379",
                "--set",
                "dynamo-operator.natsAddr=nats://nats.example.com:4222",
            ],
            vec![
                "--with-etcd",
                "--etcd-address",
                "http://etcd.example.com:2379",
                "--nats-address",
                "nats://nats.example.com:4222",
            ],
        ),
        // PodMonitors, the default Ingress, discovery, Model Express and Prometheus.
        (
            "dynamo-system",
            vec![
                "--set",
                "dynamo-operator.dynamo.metrics.podMonitors.enabled=true",
                "--set",
                "dynamo-operator.dynamo.ingress.enabled=true",
                "--set",
                "dynamo-operator.dynamo.ingress.className=nginx",
                "--set",
                "dynamo-operator.dynamo.ingress.tlsSecretName=dynamo-tls",
                "--set",
                "dynamo-operator.dynamo.ingressHostSuffix=dynamo.example.com",
                "--set",
                "dynamo-operator.discoveryBackend=etcd",
                "--set",
                "dynamo-operator.modelExpressURL=http://model-express:8001",
                "--set",
                "dynamo-operator.dynamo.metrics.prometheusEndpoint=http://prometheus.monitoring:9090",
            ],
            vec![
                "--pod-monitors",
                "--ingress-class",
                "nginx",
                "--ingress-tls-secret",
                "dynamo-tls",
                "--ingress-host-suffix",
                "dynamo.example.com",
                "--discovery-backend",
                "etcd",
                "--model-express-url",
                "http://model-express:8001",
                "--prometheus-endpoint",
                "http://prometheus.monitoring:9090",
            ],
        ),
        // Namespace-scoped with each: bundled NATS with storage, external etcd, PodMonitors
        // with their own release label, and values YAML would read as other types.
        (
            "team-a",
            vec![
                "--set",
                "dynamo-operator.namespaceRestriction.enabled=true",
                "--set",
                "global.nats.install=true",
                "--set",
                "nats.persistence.enabled=true",
                "--set",
                "nats.persistence.size=5Gi",
                "--set",
                "dynamo-operator.etcdAddr=10.0.0.7:2379",
                "--set",
                "dynamo-operator.dynamo.metrics.podMonitors.enabled=true",
                "--set",
                "dynamo-operator.dynamo.metrics.podMonitors.releaseLabel=kube-prometheus-stack",
                "--set",
                "dynamo-operator.dynamo.ingress.enabled=true",
                "--set-string",
                "dynamo-operator.dynamo.ingress.className=123",
                "--set-string",
                "dynamo-operator.dynamo.ingress.tlsSecretName=yes",
                "--set-string",
                "dynamo-operator.dynamo.ingressHostSuffix=1.2",
                "--set",
                "dynamo-operator.discoveryBackend=kubernetes",
                "--set",
                "dynamo-operator.namespaceRestriction.lease.duration=1m",
            ],
            vec![
                "--namespace-scoped",
                "--with-nats",
                "--nats-storage",
                "5Gi",
                "--etcd-address",
                "10.0.0.7:2379",
                "--pod-monitors",
                "--pod-monitors-release",
                "kube-prometheus-stack",
                "--ingress-class",
                "123",
                "--ingress-tls-secret",
                "yes",
                "--ingress-host-suffix",
                "1.2",
                "--discovery-backend",
                "kubernetes",
                "--lease-duration",
                "60s",
            ],
        ),
        // Settings without an install flag come from --operator-config; its keys install owns
        // are replaced, as the chart never writes them.
        (
            "dynamo-system",
            vec![
                "--set",
                "global.grove.enabled=true",
                "--set",
                "global.kai-scheduler.enabled=false",
                "--set",
                "dynamo-operator.dynamo.groveTerminationDelay=4h",
                "--set",
                "dynamo-operator.etcdAddr=http://etcd-from-file:2379",
                "--set",
                "dynamo-operator.dynamo.istio.enabled=true",
                "--set",
                "dynamo-operator.dynamo.istio.gateway=istio-system/dynamo-gateway",
                "--set",
                "dynamo-operator.dynamo.mpiRun.secretName=mpi-run-ssh-secret",
            ],
            vec![
                "--operator-config",
                "tests/fixtures/install/operator-config.yaml",
            ],
        ),
    ];
    for (ns, helm_args, install_args) in cases {
        let mut args = vec![
            "template",
            "dynamo-platform",
            "./platform",
            "--include-crds",
            "--namespace",
            ns,
        ];
        args.extend(&helm_args);
        let rendered = ok(&run_helm(&helm, &charts, None, &args).await);
        let chart = by_id(parse_yaml(&rendered));

        let mut args = vec!["install", "--dry-run", "-o", "yaml", "-n", ns];
        args.extend(&install_args);
        let mut ours = by_id(parse_yaml(&ok(&offline(&args))));
        // Helm makes the namespace (--create-namespace); it is not a chart object.
        ours.retain(|(kind, _, _), _| kind != "Namespace");

        assert_eq!(
            chart.keys().collect::<Vec<_>>(),
            ours.keys().collect::<Vec<_>>(),
            "{helm_args:?}: same objects"
        );
        for (key, mine) in &ours {
            let theirs = &chart[key];
            if let Some(rules) = mine.get("rules") {
                assert_eq!(
                    scope_rules(theirs["rules"].as_array().unwrap()),
                    scope_rules(rules.as_array().unwrap()),
                    "{key:?}: same RBAC rules"
                );
            }
            if key.0 == "Deployment" {
                let c = |o: &Value| o["spec"]["template"]["spec"]["containers"][0].clone();
                assert_eq!(
                    c(theirs)["args"],
                    c(mine)["args"],
                    "{helm_args:?}: same args"
                );
                assert_eq!(
                    c(theirs)["image"],
                    c(mine)["image"],
                    "{helm_args:?}: same image"
                );
            }
            assert_eq!(theirs, mine, "{key:?} with {helm_args:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_lint_strict_and_chart_metadata() {
    let Some(helm) = helm() else { return };
    let charts = repo().join("charts");
    for chart in ["./platform", "./crds"] {
        ok(&run_helm(
            &helm,
            &charts,
            None,
            &["lint", "--strict", "--with-subcharts", chart],
        )
        .await);
    }
    // Versions follow the crate; the CRDs in both charts are the generated ones (the
    // generated-files test checks their bytes).
    for path in [
        "charts/platform/Chart.yaml",
        "charts/platform/charts/dynamo-operator/Chart.yaml",
        "charts/crds/Chart.yaml",
    ] {
        let chart = &parse_yaml(&common::sim::read(path))[0];
        assert_eq!(chart["apiVersion"], "v2", "{path}");
        assert_eq!(chart["version"], env!("CARGO_PKG_VERSION"), "{path}");
        assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"), "{path}");
    }
    // A bad value fails the render with the reason.
    let out = run_helm(
        &helm,
        &charts,
        None,
        &[
            "template",
            "x",
            "./platform",
            "--set",
            "dynamo-operator.namespaceRestriction.lease.renewInterval=30s",
        ],
    )
    .await;
    assert_ne!(code(&out), 0);
    assert!(
        text(&out.stderr).contains("must be shorter than"),
        "{}",
        text(&out.stderr)
    );
    let out = ok(&run_helm(
        &helm,
        &charts,
        None,
        &[
            "package",
            "./platform",
            "-d",
            std::env::temp_dir().to_str().unwrap(),
        ],
    )
    .await);
    assert!(
        out.contains(&format!(
            "dynamo-platform-{}.tgz",
            env!("CARGO_PKG_VERSION")
        )),
        "{out}"
    );
}

/// The seed's commands, verbatim (with the charts' paths): hybrid mode, then build from
/// source (CRDs chart, then the platform with a custom image).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installs_the_seed_flows() {
    let Some(helm) = helm() else { return };
    let charts = repo().join("charts");
    let Some(sim) = sim().await else {
        return;
    };
    let out = ok(&run_helm(
        &helm,
        &charts,
        Some(&sim),
        &[
            "install",
            "dynamo-platform",
            "./platform/",
            "--namespace",
            "dynamo-system",
            "--create-namespace",
            "--wait",
            "--timeout",
            "30s",
        ],
    )
    .await);
    assert!(
        out.contains("dynamoctl check -n dynamo-system"),
        "NOTES: {out}"
    );
    ok(&run_helm(
        &helm,
        &charts,
        Some(&sim),
        &[
            "install",
            "dynamo-test",
            "./platform/",
            "--namespace",
            "test-namespace",
            "--create-namespace",
            "--set",
            "dynamo-operator.namespaceRestriction.enabled=true",
            "--set",
            "dynamo-operator.controllerManager.manager.image.tag=v2.0.0-beta",
        ],
    )
    .await);
    assert!(
        sim.object(
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            "dynamo-operator"
        )
        .is_some()
    );
    assert!(
        sim.object(
            "rbac.authorization.k8s.io",
            "roles",
            "test-namespace",
            "dynamo-operator"
        )
        .is_some()
    );
    let d = sim
        .object("apps", "deployments", "test-namespace", "dynamo-operator")
        .unwrap();
    let args = &d["spec"]["template"]["spec"]["containers"][0]["args"];
    let config = dynamoctl::config::parse("c", &installed_config(&sim, "test-namespace")).unwrap();
    assert_eq!(config.restricted_namespace(), Some("test-namespace"));
    assert!(
        args.as_array()
            .unwrap()
            .contains(&json!("--operator-version=v2.0.0-beta"))
    );
    // dynamoctl check accepts what Helm installed, in both namespaces.
    for ns in ["dynamo-system", "test-namespace"] {
        let mut report = Value::Null;
        wait_for(Duration::from_secs(30), "check to pass", async || {
            let out = run(&sim, &["check", "-n", ns, "-o", "json"], &[]).await;
            report = check_json(&out);
            code(&out) == 0
        })
        .await;
        assert_eq!(report["success"], true, "{ns}");
        // No operator process runs here (the simulator has no containers): a warning.
        let warnings = not_ok(&report);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("operator holds its Leases")
                    && w.contains("\"result\":\"warning\"")),
            "{warnings:?}"
        );
    }
    // The namespace-scoped Quick Install from the packaged chart, verbatim.
    let pkg = std::env::temp_dir().join(format!("dynamoctl-install-pkg-{}", std::process::id()));
    std::fs::create_dir_all(&pkg).unwrap();
    ok(&run_helm(
        &helm,
        &charts,
        None,
        &["package", "./platform", "-d", pkg.to_str().unwrap()],
    )
    .await);
    let tgz = format!("dynamo-platform-{}.tgz", env!("CARGO_PKG_VERSION"));
    ok(&run_helm(
        &helm,
        &pkg,
        Some(&sim),
        &[
            "install",
            "dynamo-platform",
            &tgz,
            "--namespace",
            "my-namespace",
            "--create-namespace",
            "--set",
            "dynamo-operator.namespaceRestriction.enabled=true",
        ],
    )
    .await);
    assert!(
        sim.object(
            "rbac.authorization.k8s.io",
            "roles",
            "my-namespace",
            "dynamo-operator"
        )
        .is_some()
    );
    ok(&run_helm(
        &helm,
        &charts,
        Some(&sim),
        &["uninstall", "dynamo-platform", "-n", "my-namespace"],
    )
    .await);
    // What is left after helm uninstall: only the CRDs (resource-policy keep) and namespaces.
    ok(&run_helm(
        &helm,
        &charts,
        Some(&sim),
        &["uninstall", "dynamo-test", "-n", "test-namespace"],
    )
    .await);
    ok(&run_helm(
        &helm,
        &charts,
        Some(&sim),
        &["uninstall", "dynamo-platform", "-n", "dynamo-system"],
    )
    .await);
    assert!(
        sim.object(
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            "dynamo-operator"
        )
        .is_none()
    );
    assert!(
        sim.object(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            "dynamographdeployments.nvidia.com"
        )
        .is_some()
    );

    // Building from source: CRDs chart first, then the platform with a custom image.
    let Some(sim) = self::sim().await else {
        return;
    };
    ok(&run_helm(
        &helm,
        &charts,
        Some(&sim),
        &[
            "install",
            "dynamo-crds",
            "./crds/",
            "--namespace",
            "default",
        ],
    )
    .await);
    assert!(
        sim.object(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            "dynamocomponentdeployments.nvidia.com"
        )
        .is_some()
    );
    ok(&run_helm(
        &helm,
        &charts,
        Some(&sim),
        &[
            "install",
            "dynamo-platform",
            "./platform/",
            "--namespace",
            "dynamo-system",
            "--create-namespace",
            "--set",
            "dynamo-operator.controllerManager.manager.image.repository=your-registry.com/dynamo-operator",
            "--set",
            "dynamo-operator.controllerManager.manager.image.tag=latest",
        ],
    )
    .await);
    let d = sim
        .object("apps", "deployments", "dynamo-system", "dynamo-operator")
        .unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "your-registry.com/dynamo-operator:latest"
    );
    // A dynamoctl install over a Helm install upgrades the same objects in place.
    let out = run(
        &sim,
        &[
            "install",
            "--skip-crds",
            "--image",
            "your-registry.com/dynamo-operator:latest",
        ],
        &[],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
}

/// Hybrid mode: a cluster-wide and a namespace-scoped install side by side; a second operator
/// claiming the scoped namespace makes `check` fail with exit 1 and a hint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_installs_coexist_and_check_spots_a_double_claim() {
    let Some(sim) = sim().await else {
        return;
    };
    ok(&run(&sim, &["install", "--wait", "--timeout", "30s"], &[]).await);
    ok(&run(
        &sim,
        &[
            "install",
            "--namespace-scoped",
            "-n",
            "test-namespace",
            "--image",
            "ghcr.io/dynamoctl/dynamoctl:v2.0.0-beta",
            "--wait",
            "--timeout",
            "30s",
        ],
        &[],
    )
    .await);
    // Both operators, as their Deployments run them (the simulator runs no containers).
    let mut operators = Vec::new();
    for ns in ["dynamo-system", "test-namespace"] {
        let d = sim
            .object("apps", "deployments", ns, "dynamo-operator")
            .unwrap();
        let port = free_port();
        operators.push(start_operator(&sim, &d, port));
        wait_for(
            Duration::from_secs(30),
            "the operator's /readyz",
            async || ready(port).await,
        )
        .await;
    }
    wait_for(
        Duration::from_secs(30),
        "the namespace-scope marker",
        async || {
            sim.object(
                "coordination.k8s.io",
                "leases",
                "test-namespace",
                "dynamo-operator-namespace-scope",
            )
            .is_some()
        },
    )
    .await;
    // The seed's observability commands see it.
    if let Some(kubectl) = kubectl() {
        let out = ok(&run_tool(
            &kubectl,
            &sim,
            &[
                "get",
                "lease",
                "-A",
                "--field-selector",
                "metadata.name=dynamo-operator-namespace-scope",
                "-o",
                "name",
            ],
        )
        .await);
        assert_eq!(
            out,
            "lease.coordination.k8s.io/dynamo-operator-namespace-scope\n"
        );
        let out = ok(&run_tool(
            &kubectl,
            &sim,
            &[
                "get",
                "lease",
                "-n",
                "test-namespace",
                "dynamo-operator-namespace-scope",
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
        )
        .await);
        assert_eq!(out, "namespace-restricted-operator-v2.0.0-beta");
    }
    let out = ok(&run(&sim, &["leases", "-A"], &[]).await);
    assert!(out.contains("test-namespace"), "{out}");
    // Graphs on both sides; every check passes from either namespace.
    ok(&run(
        &sim,
        &["apply", "-n", "default", "examples/mocker-agg.yaml"],
        &[],
    )
    .await);
    ok(&run(
        &sim,
        &["apply", "-n", "test-namespace", "examples/mocker-agg.yaml"],
        &[],
    )
    .await);
    for ns in ["dynamo-system", "test-namespace"] {
        let mut report = Value::Null;
        wait_for(Duration::from_secs(30), "check to pass", async || {
            let out = run(&sim, &["check", "-n", ns, "-o", "json"], &[]).await;
            report = check_json(&out);
            code(&out) == 0
        })
        .await;
        // The scoped operator runs another version: a warning, not a failure.
        let expected = usize::from(ns == "test-namespace");
        let left = not_ok(&report);
        assert_eq!(left.len(), expected, "{ns}: {left:?}");
        assert!(
            left.iter()
                .all(|c| c.contains("\"result\":\"warning\"") && c.contains("v2.0.0-beta")),
            "{left:?}"
        );
    }
    // Uninstalling the scoped operator leaves the cluster-wide one untouched.
    drop(operators.pop());
    ok(&run(&sim, &["uninstall", "-n", "test-namespace"], &[]).await);
    assert!(
        sim.object(
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            "dynamo-operator"
        )
        .is_some()
    );
    assert!(
        sim.object("apps", "deployments", "dynamo-system", "dynamo-operator")
            .is_some()
    );

    // A second operator Deployment scoped to the cluster-wide operator's namespace.
    let mut twin = sim
        .object("apps", "deployments", "dynamo-system", "dynamo-operator")
        .unwrap();
    // Its mode as a flag (flags override the shared configuration file).
    twin["spec"]["template"]["spec"]["containers"][0]["args"] = json!([
        "run",
        "controller",
        "--config=/etc/dynamo-operator/config.yaml",
        "--restricted-namespace=dynamo-system",
    ]);
    let twin = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": "other-operator", "namespace": "dynamo-system", "labels": twin["metadata"]["labels"] },
        "spec": twin["spec"],
    });
    let api: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(sim.client(), "dynamo-system");
    api.create(
        &PostParams::default(),
        &serde_json::from_value(twin).unwrap(),
    )
    .await
    .unwrap();
    let out = run(&sim, &["check", "-n", "dynamo-system"], &[]).await;
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let table = text(&out.stdout);
    assert!(
        table.contains("× no namespace claimed by two operators\n    dynamo-system: dynamo-system/dynamo-operator, dynamo-system/other-operator\n    hint: "),
        "{table}"
    );
    assert!(table.ends_with("Status check results are ×\n"), "{table}");
}

/// Before an install `check` fails (exit 1) with a hint per failure, and `check --pre` passes;
/// CRDs that differ from this binary's fail `check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_with_hints_when_something_is_missing_or_stale() {
    let Some(sim) = sim().await else {
        return;
    };
    let out = run(&sim, &["check"], &[]).await;
    assert_eq!(code(&out), 1);
    let table = text(&out.stdout);
    assert!(
        table.contains("× dynamographdeployments.nvidia.com is installed\n    not found\n    hint: run `dynamoctl install`"),
        "{table}"
    );
    assert!(
        table.contains("× operator Deployment dynamo-system/dynamo-operator exists\n"),
        "{table}"
    );
    let report = check_json(&run(&sim, &["check", "-o", "json"], &[]).await);
    assert_eq!(report["success"], false);
    let crds = &report["categories"][1];
    assert_eq!(crds["categoryName"], "dynamo-crds");
    assert_eq!(crds["checks"][0]["result"], "error");
    assert!(
        crds["checks"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("dynamoctl install")
    );
    assert_eq!(code(&run(&sim, &["check", "--pre"], &[]).await), 0);

    // A CRD someone else changed: check fails, check --pre only warns (install upgrades it).
    ok(&run(&sim, &["install"], &[]).await);
    let mut crd = manifests(&InstallOptions::default())[0].clone();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"] = json!("edited");
    let api: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(sim.client());
    api.patch(
        "dynamographdeployments.nvidia.com",
        &kube::api::PatchParams::apply("someone-else").force(),
        &kube::api::Patch::Apply(&crd),
    )
    .await
    .unwrap();
    let out = run(&sim, &["check"], &[]).await;
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("× dynamographdeployments.nvidia.com matches dynamoctl v"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&sim, &["check", "--pre"], &[]).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("‼ dynamographdeployments.nvidia.com is installed"));
    // Re-running install repairs it.
    let out = ok(&run(&sim, &["install"], &[]).await);
    assert!(
        out.contains("customresourcedefinition.apiextensions.k8s.io/dynamographdeployments.nvidia.com configured"),
        "{out}"
    );
}

/// A failure half-way names what was written and what was not, and a re-run finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_half_way_says_what_was_applied() {
    use kube_sim::{FaultConfig, FaultKind, FaultRule};
    let Some(sim) = common::cluster::sim_only("fault injection", true).await else {
        return;
    };
    sim.sim().set_faults(FaultConfig {
        rules: vec![
            FaultRule::new(FaultKind::InternalError, 1.0)
                .verb("patch")
                .resource("deployments"),
        ],
        ..FaultConfig::default()
    });
    let out = run(&sim, &["install"], &[]).await;
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("applied before the failure (12): CustomResourceDefinition dynamographdeployments.nvidia.com, CustomResourceDefinition dynamocomponentdeployments.nvidia.com, CustomResourceDefinition dynamoworkermetadatas.nvidia.com, CustomResourceDefinition dynamographdeploymentscalingadapters.nvidia.com, CustomResourceDefinition dynamomodels.nvidia.com, ValidatingAdmissionPolicy dynamo-graph-replicas, ValidatingAdmissionPolicyBinding dynamo-graph-replicas, Namespace dynamo-system, ServiceAccount dynamo-system/dynamo-operator, ClusterRole dynamo-operator, ClusterRoleBinding dynamo-operator, ConfigMap dynamo-system/dynamo-operator-config"),
        "{err}"
    );
    assert!(
        err.contains("not applied (7): Deployment dynamo-system/dynamo-operator, Service dynamo-system/dynamo-operator-metrics, ClusterRole dynamo-operator-conversion, ClusterRoleBinding dynamo-operator-conversion, Role dynamo-system/dynamo-operator-conversion, RoleBinding dynamo-system/dynamo-operator-conversion, Service dynamo-system/dynamo-operator-webhook"),
        "{err}"
    );
    sim.sim().set_faults(FaultConfig::default());
    let out = ok(&run(&sim, &["install"], &[]).await);
    assert!(
        out.contains("deployment.apps/dynamo-operator created"),
        "{out}"
    );
    assert!(
        out.contains("serviceaccount/dynamo-operator unchanged"),
        "{out}"
    );
}
