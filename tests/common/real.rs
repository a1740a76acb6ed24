//! The real control plane (`tests/control-plane`: etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler built from upstream's Go modules) for tests that must hold on a real API server.
//!
//! `DYNAMOCTL_TEST_KUBECONFIG` points at the admin kubeconfig of a control plane that is already
//! running (`scripts/kube-control-plane.sh up DIR` writes `DIR/kubeconfig`; `.ci/run` starts one
//! for the whole run). Without it, the first test that asks builds the binary (Go's build cache
//! makes that cheap after the first time) and starts one control plane for this test binary;
//! it stops when the test process exits. Without Go, tests fail under `CI=true` and are skipped
//! with a notice otherwise.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::repo;
use super::sim::text;

/// How long building the control plane may take: a cold build of kube-apiserver and friends
/// on a busy 2-core machine (see docs/testing.md); a warm one takes seconds.
const BUILD_LIMIT: Duration = Duration::from_secs(45 * 60);
/// How long starting it may take, until it prints READY.
const START_LIMIT: Duration = Duration::from_secs(240);

/// A running control plane.
pub struct Cluster {
    /// Its admin kubeconfig (system:masters).
    pub kubeconfig: PathBuf,
    /// Its directory: `audit.log`, `pki/`, component logs.
    pub dir: PathBuf,
    /// The supervisor we started, if we did. The shared one lives in a static (never dropped;
    /// it exits with this process); a dedicated one is stopped and its directory removed on drop.
    supervisor: Option<Mutex<Child>>,
    /// The conversion webhook this process serves for it ([`Cluster::conversion_webhook`]):
    /// its URL and process (which ends when dropped or when this process exits).
    webhook: OnceLock<(String, WebhookProcess)>,
}

/// A `run controller --webhook-only` process: its shell waits on our stdin, so it ends when
/// this test process does; dropping it ends it sooner.
struct WebhookProcess(Mutex<Child>);

impl Drop for WebhookProcess {
    fn drop(&mut self) {
        let child = self.0.get_mut().unwrap_or_else(|e| e.into_inner());
        drop(child.stdin.take());
        let _ = child.wait();
    }
}

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();

/// The shared control plane, or `None` when the test should be skipped (never under CI).
pub fn cluster() -> Option<&'static Cluster> {
    CLUSTER.get_or_init(start_shared).as_ref()
}

fn skip_or_fail(msg: &str) -> Option<Cluster> {
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("CI is set and {msg}");
    }
    // Raw stderr, which libtest does not capture: a plain `cargo test` says why nothing ran.
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {msg}");
    None
}

fn start_shared() -> Option<Cluster> {
    if let Some(kubeconfig) = std::env::var_os("DYNAMOCTL_TEST_KUBECONFIG") {
        let kubeconfig = PathBuf::from(kubeconfig);
        assert!(
            kubeconfig.is_file(),
            "DYNAMOCTL_TEST_KUBECONFIG={} is not a file",
            kubeconfig.display()
        );
        let dir = kubeconfig.parent().unwrap().to_path_buf();
        return Some(Cluster {
            kubeconfig,
            dir,
            supervisor: None,
            webhook: OnceLock::new(),
        });
    }
    launch("shared")
}

impl Cluster {
    /// A control plane of this test's own, for tests that cannot share one: a cluster-wide
    /// operator would reconcile every other test's graphs. About 10 s to start and 750 MB while
    /// it runs; stopped and removed when dropped. `None` when the test should be skipped.
    pub fn dedicated(name: &str) -> Option<Cluster> {
        launch(name)
    }
}

/// Builds the control plane once per test process; false when Go is missing (skip).
fn built() -> bool {
    static BUILT: OnceLock<bool> = OnceLock::new();
    *BUILT.get_or_init(|| {
        let go = Command::new("go").arg("version").output();
        if !go.is_ok_and(|o| o.status.success()) {
            return false;
        }
        let script = repo().join("scripts/kube-control-plane.sh");
        let build = bounded(Command::new("bash").arg(&script).arg("build"), BUILD_LIMIT);
        assert!(
            build.status.success(),
            "building the control plane failed:\n{}",
            String::from_utf8_lossy(&build.stderr)
        );
        true
    })
}

/// Starts a control plane in a fresh directory named after `name` and this process, and waits
/// for READY.
fn launch(name: &str) -> Option<Cluster> {
    if !built() {
        return skip_or_fail(
            "Go is not installed: the real-cluster tests build the control plane from \
             tests/control-plane (install Go, or set DYNAMOCTL_TEST_KUBECONFIG to a running one)",
        );
    }
    let dir = std::env::temp_dir().join(format!(
        "dynamoctl-control-plane-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new("bash")
        .arg(repo().join("scripts/kube-control-plane.sh"))
        .arg("up")
        .arg(&dir)
        // The shared control plane proves a rollout works before READY; a dedicated one
        // (one per test) skips that: tests wait for their own rollouts anyway.
        .arg(format!("--smoke={}", name == "shared"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("supervisor.log")).unwrap())
        .spawn()
        .expect("the control plane starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line == "READY" {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(START_LIMIT).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the control plane did not print READY within {START_LIMIT:?}; logs in {}",
            dir.display()
        );
    }
    Some(Cluster {
        kubeconfig: dir.join("kubeconfig"),
        dir,
        supervisor: Some(Mutex::new(child)),
        webhook: OnceLock::new(),
    })
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The webhook first: it would only log errors once its API server is gone.
        drop(self.webhook.take());
        // SIGKILL: the components die with the supervisor (Pdeathsig), so nothing outlives it.
        if let Some(child) = self.supervisor.take() {
            let mut child = child.into_inner().unwrap_or_else(|e| e.into_inner());
            let _ = child.kill();
            let _ = child.wait();
            // A failed test's logs (components, operators, audit) are what explains it.
            if std::thread::panicking() {
                eprintln!("control plane logs kept in {}", self.dir.display());
            } else {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
        }
    }
}

/// Runs `cmd` to completion, killing it after `limit`.
pub fn bounded(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("command starts");
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut b);
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

impl Cluster {
    /// Runs dynamoctl against the cluster (its `--kubeconfig`), bounded in time.
    pub fn dynamoctl(&self, args: &[&str]) -> Output {
        self.dynamoctl_as(&self.kubeconfig, args)
    }

    /// Runs dynamoctl with another kubeconfig (a less privileged user), bounded in time.
    pub fn dynamoctl_as(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        bounded(
            Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
                .current_dir(repo())
                .args(args)
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .env("NO_COLOR", "1"),
            Duration::from_secs(300),
        )
    }

    /// Runs the real kubectl (`KUBECTL`, else `.tools/bin/kubectl`) as the admin, or `None` to
    /// skip (never under CI).
    pub fn kubectl(&self, args: &[&str]) -> Option<Output> {
        self.tool("kubectl", &self.kubeconfig, args)
    }

    /// Runs the real kubectl with another kubeconfig (a less privileged user).
    pub fn kubectl_as(&self, kubeconfig: &Path, args: &[&str]) -> Option<Output> {
        self.tool("kubectl", kubeconfig, args)
    }

    /// Runs the real helm (`HELM`, else `.tools/bin/helm`) with `kubeconfig`, its cache and
    /// configuration kept in the cluster's directory, or `None` to skip (never under CI).
    pub fn helm_as(&self, kubeconfig: &Path, args: &[&str]) -> Option<Output> {
        self.tool("helm", kubeconfig, args)
    }

    fn tool(&self, name: &str, kubeconfig: &Path, args: &[&str]) -> Option<Output> {
        let bin = std::env::var_os(name.to_uppercase())
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join(".tools/bin").join(name));
        if !bin.is_file() {
            skip_or_fail(&format!(
                "{name} not found at {} (set {} or run scripts/install-k8s-tools.sh)",
                bin.display(),
                name.to_uppercase()
            ));
            return None;
        }
        let home = self.dir.join("home");
        Some(bounded(
            Command::new(bin)
                .current_dir(repo())
                .args(args)
                .env("KUBECONFIG", kubeconfig)
                .env("HOME", &home)
                .env("XDG_CACHE_HOME", home.join("cache"))
                .env("XDG_CONFIG_HOME", home.join("config"))
                .env("XDG_DATA_HOME", home.join("data")),
            Duration::from_secs(300),
        ))
    }

    /// A kubeconfig for a user authenticated by a client certificate from the cluster's CA
    /// (CN = user, O = groups), whom RBAC grants nothing until a binding says otherwise.
    pub fn kubeconfig_for(&self, user: &str, groups: &[&str]) -> PathBuf {
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("scripts/kube-control-plane.sh"))
            .args(["kubeconfig", "--user", user]);
        for g in groups {
            cmd.args(["--group", g]);
        }
        let out = bounded(cmd.arg(&self.dir), Duration::from_secs(120));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = self
            .dir
            .join(format!("{user}-{}.kubeconfig", std::process::id()));
        std::fs::write(&path, out.stdout).unwrap();
        path
    }

    /// Every audit event so far (the API server logs each write at Metadata level).
    pub fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("audit.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// A namespace of its own for one test (unique per test process, so a reused control
    /// plane never sees two runs collide), created now.
    pub fn namespace(&self, base: &str) -> String {
        let ns = format!("{base}-{}", std::process::id());
        let manifest = std::env::temp_dir().join(format!("dynamoctl-real-ns-{ns}.yaml"));
        std::fs::write(
            &manifest,
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
        )
        .unwrap();
        let out = self.dynamoctl(&["apply", manifest.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "creating namespace {ns}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ns
    }
}

/// Namespace of the test webhook's certificate Secret.
pub const WEBHOOK_NAMESPACE: &str = "dynamoctl-conversion";

/// The identity the test webhook works as: infrastructure, like the control plane's own
/// components, so its writes (certificate, CRD CA bundle) are not the test's.
pub const WEBHOOK_USER: &str = "dynamoctl-test-webhook";

impl Cluster {
    /// Serves the conversion webhook for this control plane while it (or this test process)
    /// lives: the CRDs store v1beta1, so every v1alpha1 request goes through it. A
    /// `run controller --webhook-only` outside the cluster, as docs/operator.md describes
    /// (`--webhook-url` on 127.0.0.1). Call after the CRDs are applied; returns the URL the
    /// CRDs now name.
    pub fn conversion_webhook(&self) -> String {
        let (url, _) = self.webhook.get_or_init(|| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let url = format!("https://127.0.0.1:{port}/convert");
            let ns = std::env::temp_dir()
                .join(format!("dynamoctl-webhook-ns-{}.yaml", std::process::id()));
            std::fs::write(
                &ns,
                format!(
                    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {WEBHOOK_NAMESPACE}\n"
                ),
            )
            .unwrap();
            let out = self.dynamoctl(&["apply", ns.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let log = self.dir.join(format!("webhook-{}.log", std::process::id()));
            let kubeconfig = self.kubeconfig_for(WEBHOOK_USER, &["system:masters"]);
            let child = Command::new("sh")
                .arg("-c")
                .arg(r#""$@" & pid=$!; read -r _; kill $pid"#)
                .arg("webhook")
                .arg(env!("CARGO_BIN_EXE_dynamoctl"))
                .args(["run", "controller", "--webhook-only", "--webhook-url", &url])
                .arg(format!("--webhook-bind-address=127.0.0.1:{port}"))
                .arg(format!("--leader-election-namespace={WEBHOOK_NAMESPACE}"))
                .args([
                    "--health-probe-bind-address=127.0.0.1:0",
                    "--metrics-bind-address=127.0.0.1:0",
                ])
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .env("RUST_LOG", "info")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("the webhook starts");
            // Ready when the API server converts through it: a server-side dry run of a
            // v1alpha1 graph is stored (and so converted) as v1beta1.
            wait_for(
                Duration::from_secs(60),
                "the conversion webhook to serve",
                || {
                    self.dynamoctl(&[
                        "apply",
                        "-n",
                        WEBHOOK_NAMESPACE,
                        "--dry-run=server",
                        "examples/mocker-agg.yaml",
                    ])
                    .status
                    .success()
                },
            );
            (url, WebhookProcess(Mutex::new(child)))
        });
        url.clone()
    }
}

/// Polls `f` every 500 ms until it is true, panicking with `what` after `limit`.
pub fn wait_for(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

pub fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `kubectl get ... -o json`, parsed; `None` when kubectl is missing (the test is skipped).
pub fn get_json(c: &Cluster, args: &[&str]) -> Option<Value> {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = c.kubectl(&all)?;
    Some(serde_json::from_str(&ok(&out)).unwrap())
}

pub fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

pub fn name(o: &Value) -> String {
    o["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub fn condition(o: &Value, type_: &str) -> Option<String> {
    o["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["status"].as_str())
        .map(str::to_string)
}

/// Writes in `ns` recorded by the audit log after the first `skip` events, by users whose name
/// contains `user` (or any user when empty).
pub fn writes(c: &Cluster, skip: usize, ns: &str, user: &str) -> Vec<Value> {
    c.audit()
        .into_iter()
        .skip(skip)
        .filter(|e| e["objectRef"]["namespace"] == ns)
        .filter(|e| {
            e["user"]["username"]
                .as_str()
                .is_some_and(|u| u.contains(user))
        })
        .filter(|e| {
            e["responseStatus"]["code"]
                .as_u64()
                .is_some_and(|c| c < 400)
        })
        .collect()
}

/// A child process killed when the test ends, however it ends.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `dynamoctl run controller ARGS` against the cluster with `kubeconfig`, health on 127.0.0.1.
pub fn operator(kubeconfig: &Path, args: &[String], log: &Path) -> Guard {
    Guard(
        Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
            .args(args)
            .arg(format!(
                "--health-probe-bind-address=127.0.0.1:{}",
                free_port()
            ))
            .arg("--metrics-bind-address=127.0.0.1:0")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .env("POD_NAME", "dynamo-operator-real-test")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("the operator starts"),
    )
}

/// Runs the operator that `install`/`helm install` put in `ns` as a local process, exactly as
/// its Deployment would (its arguments, its ConfigMap's configuration) and authenticated as its
/// own ServiceAccount, so the installed RBAC is what lets it work. `None` when kubectl is
/// missing (the test is skipped).
pub fn run_installed_operator(c: &Cluster, ns: &str) -> Option<Guard> {
    let deployment = get_json(c, &["get", "deployment", "-n", ns, "dynamo-operator"])?;
    // The configuration the Deployment mounts from its ConfigMap, as a local file.
    let config_map = get_json(c, &["get", "configmap", "-n", ns, "dynamo-operator-config"])?;
    let config = config_map["data"]["config.yaml"].as_str().unwrap();
    let config_file = c.dir.join(format!("operator-config-{ns}.yaml"));
    std::fs::write(&config_file, config).unwrap();
    let mut args: Vec<String> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .map(|a| {
            if a.starts_with("--config=") {
                format!("--config={}", config_file.display())
            } else {
                a
            }
        })
        .collect();
    args.extend(super::local_webhook_args(config));
    let sa_kubeconfig = service_account_kubeconfig(c, ns, "dynamo-operator");
    Some(operator(
        &sa_kubeconfig,
        &args,
        &c.dir.join(format!("operator-{ns}.log")),
    ))
}

/// A kubeconfig authenticating as ServiceAccount `sa` of `ns` (a token from the API server).
pub fn service_account_kubeconfig(c: &Cluster, ns: &str, sa: &str) -> PathBuf {
    let token = ok(&c
        .kubectl(&["create", "token", sa, "-n", ns, "--duration=1h"])
        .expect("kubectl is installed"));
    let path = c.dir.join(format!("sa-{ns}-{sa}.kubeconfig"));
    std::fs::copy(&c.kubeconfig, &path).unwrap();
    let cfg = path.to_str().unwrap();
    let token = format!("--token={}", token.trim());
    for args in [
        &["config", "set-credentials", "sa", token.as_str()][..],
        &["config", "set-context", "--current", "--user=sa"][..],
    ] {
        let mut all = vec!["--kubeconfig", cfg];
        all.extend(args);
        ok(&c.kubectl(&all).expect("kubectl is installed"));
    }
    path
}

/// The shared control plane with the CRDs applied once per test process (`dynamoctl apply
/// crds/` waits for them to be Established).
pub fn cluster_with_crds() -> Option<&'static Cluster> {
    static DONE: Mutex<bool> = Mutex::new(false);
    let c = cluster()?;
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if !*done {
        ok(&c.dynamoctl(&["apply", "crds/"]));
        // v1beta1 is the storage version: v1alpha1 requests need the conversion webhook.
        c.conversion_webhook();
        *done = true;
    }
    Some(c)
}
