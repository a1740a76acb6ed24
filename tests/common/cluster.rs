//! One switch for the cluster-facing tests: `DYNAMOCTL_TEST_CLUSTER=sim` (the default) runs
//! them against the API server simulator, `DYNAMOCTL_TEST_CLUSTER=real` against a real control
//! plane of their own (`tests/control-plane`, one per test, as the simulator is one per test).
//!
//! Tests are written once against [`TestCluster`]. What only the simulator can do (fault
//! injection, a held-back kubelet, the movable clock, a log of every read) is reached through
//! [`TestCluster::sim_only`], which skips the rest of the test on the real backend with a
//! notice. On the real backend the audit log holds writes only, and writes by the control
//! plane's own components (controller-manager, scheduler, the node agent) are left out, so
//! [`TestCluster::audit_writes`] means the same on both: the writes the test caused.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use kube_sim::{AuditRecord, Options, Simulator};
use serde_json::Value;

use super::real;

/// Which backend this test run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The in-memory simulator (`tests/kube-sim`).
    Sim,
    /// A real control plane built from upstream's Go modules.
    Real,
}

/// The backend chosen by `DYNAMOCTL_TEST_CLUSTER` (`sim` unless it says `real`).
pub fn backend() -> Backend {
    match std::env::var("DYNAMOCTL_TEST_CLUSTER").as_deref() {
        Ok("real") => Backend::Real,
        Ok("sim") | Ok("") | Err(_) => Backend::Sim,
        Ok(other) => panic!("DYNAMOCTL_TEST_CLUSTER={other}: expected sim or real"),
    }
}

/// A cluster for one test.
pub enum TestCluster {
    /// The simulator.
    Sim(Simulator),
    /// A real control plane of this test's own.
    Real(Box<RealBackend>),
}

/// The real backend's state.
pub struct RealBackend {
    cluster: real::Cluster,
    config: kube::Config,
    /// Audit events before this index were cleared by `clear_audit`.
    audit_mark: AtomicUsize,
}

impl TestCluster {
    /// Starts a cluster on the chosen backend; `None` when the real backend is asked for but
    /// cannot run here (never under CI). `kubelet`: on the simulator, whether Deployments
    /// become ready; on the real backend pods always run (the node agent).
    pub async fn start(kubelet: bool) -> Option<TestCluster> {
        match backend() {
            Backend::Sim => Some(TestCluster::Sim(
                Simulator::start(Options {
                    kubelet,
                    kubelet_ready_delay: std::time::Duration::from_millis(100),
                    ..Options::default()
                })
                .await,
            )),
            Backend::Real => {
                let name = format!("t{}", next_id());
                let cluster = tokio::task::spawn_blocking(move || real::Cluster::dedicated(&name))
                    .await
                    .unwrap()?;
                let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kubeconfig).unwrap();
                let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                    .await
                    .unwrap();
                Some(TestCluster::Real(Box::new(RealBackend {
                    cluster,
                    config,
                    audit_mark: AtomicUsize::new(0),
                })))
            }
        }
    }

    /// The simulator, for what only it can do; on the real backend `None`, after a notice
    /// saying which part of the test is skipped and why.
    pub fn sim_only(&self, what: &str) -> Option<&Simulator> {
        match self {
            TestCluster::Sim(sim) => Some(sim),
            TestCluster::Real(_) => {
                skip_notice(what);
                None
            }
        }
    }

    /// The simulator of a test that runs on it only ([`sim_only_with_crds`]).
    pub fn sim(&self) -> &Simulator {
        match self {
            TestCluster::Sim(sim) => sim,
            TestCluster::Real(_) => panic!("a simulator-only test reached the real backend"),
        }
    }

    /// The real control plane, when that is the backend.
    pub fn real(&self) -> Option<&real::Cluster> {
        match self {
            TestCluster::Sim(_) => None,
            TestCluster::Real(r) => Some(&r.cluster),
        }
    }

    /// The admin kubeconfig.
    pub fn kubeconfig_path(&self) -> &Path {
        match self {
            TestCluster::Sim(sim) => sim.kubeconfig_path(),
            TestCluster::Real(r) => &r.cluster.kubeconfig,
        }
    }

    /// The API server's URL.
    pub fn url(&self) -> String {
        match self {
            TestCluster::Sim(sim) => sim.url(),
            TestCluster::Real(r) => r.config.cluster_url.to_string(),
        }
    }

    /// A client with admin rights.
    pub fn client(&self) -> kube::Client {
        match self {
            TestCluster::Sim(sim) => sim.client(),
            TestCluster::Real(r) => kube::Client::try_from(r.config.clone()).unwrap(),
        }
    }

    /// One stored object (`group` `""` for the core group), or `None`. Dynamo's kinds come
    /// back as v1alpha1, the version the tests write them in: the simulator keeps an object in
    /// the version it was written in, a real API server would answer with its preferred one
    /// (v1beta1).
    pub fn object(&self, group: &str, resource: &str, ns: &str, name: &str) -> Option<Value> {
        match self {
            TestCluster::Sim(sim) => sim.object(group, resource, ns, name),
            TestCluster::Real(r) => {
                let kind = match group {
                    "" => resource.to_string(),
                    "nvidia.com" => format!("{resource}.v1alpha1.{group}"),
                    _ => format!("{resource}.{group}"),
                };
                let mut args = vec!["get", kind.as_str(), name, "-o", "json"];
                if !ns.is_empty() {
                    args.extend(["-n", ns]);
                }
                let out = r.cluster.kubectl(&args).expect("kubectl is installed");
                if !out.status.success() {
                    let err = String::from_utf8_lossy(&out.stderr);
                    assert!(err.contains("NotFound"), "kubectl get {kind} {name}: {err}");
                    return None;
                }
                Some(serde_json::from_slice(&out.stdout).unwrap())
            }
        }
    }

    /// The writes (not dry runs) the test caused since the last [`TestCluster::clear_audit`]
    /// (on the real backend: not the control plane's own components'), in order.
    pub fn audit_writes(&self) -> Vec<AuditRecord> {
        match self {
            TestCluster::Sim(sim) => sim.audit_writes(),
            TestCluster::Real(_) => self
                .audit()
                .into_iter()
                .filter(|r| r.is_write() && !r.dry_run)
                .collect(),
        }
    }

    /// Every request since the last clear on the simulator; on the real backend (whose audit
    /// policy records writes only) every write the test caused, dry runs included.
    pub fn audit(&self) -> Vec<AuditRecord> {
        match self {
            TestCluster::Sim(sim) => sim.audit(),
            TestCluster::Real(r) => r
                .cluster
                .audit()
                .into_iter()
                .skip(r.audit_mark.load(Ordering::SeqCst))
                .filter(|e| e["stage"] == "ResponseComplete")
                .filter(caused_by_the_test)
                .map(|e| record(&e))
                .collect(),
        }
    }

    /// Forgets the audit records so far.
    pub fn clear_audit(&self) {
        match self {
            TestCluster::Sim(sim) => sim.clear_audit(),
            TestCluster::Real(r) => r
                .audit_mark
                .store(r.cluster.audit().len(), Ordering::SeqCst),
        }
    }

    /// Stops the cluster.
    pub async fn stop(self) {
        match self {
            TestCluster::Sim(sim) => sim.stop().await,
            TestCluster::Real(r) => tokio::task::spawn_blocking(move || drop(r)).await.unwrap(),
        }
    }
}

impl super::sim::HasKubeconfig for TestCluster {
    fn kubeconfig(&self) -> &Path {
        self.kubeconfig_path()
    }
}

/// A cluster with the Dynamo CRDs installed (through `dynamoctl apply`), on the chosen
/// backend; `None` when the test is skipped.
pub async fn with_crds(kubelet: bool) -> Option<TestCluster> {
    let cluster = TestCluster::start(kubelet).await?;
    let out = super::sim::run(
        &cluster,
        &[
            "apply",
            "crds/nvidia.com_dynamographdeployments.yaml",
            "crds/nvidia.com_dynamocomponentdeployments.yaml",
        ],
        &[],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        super::sim::text(&out.stderr)
    );
    // The simulator converts by itself; a real API server stores v1beta1 and needs the
    // conversion webhook for every v1alpha1 request. (Blocking: nothing on this runtime
    // needs to run meanwhile on the real backend.)
    if let Some(real) = cluster.real() {
        real.conversion_webhook();
    }
    Some(cluster)
}

/// For a test that needs the simulator throughout (`what` says why): the simulator with the
/// CRDs (reach it with [`TestCluster::sim`]), or `None` with a notice on the real backend
/// (before any control plane is started).
pub async fn sim_only_with_crds(what: &str, kubelet: bool) -> Option<TestCluster> {
    if backend() == Backend::Real {
        skip_notice(what);
        return None;
    }
    Some(TestCluster::Sim(super::sim::with_crds(kubelet).await))
}

/// Like [`sim_only_with_crds`], without the CRDs.
pub async fn sim_only(what: &str, kubelet: bool) -> Option<TestCluster> {
    if backend() == Backend::Real {
        skip_notice(what);
        return None;
    }
    TestCluster::start(kubelet).await
}

fn skip_notice(what: &str) {
    // Raw stderr, which libtest does not capture.
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED on the real backend: {what} needs the simulator"
    );
}

fn next_id() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// Whether an audit event was caused by the test rather than by the control plane's own
/// components (which the simulator's in-process kubelet has no counterpart of).
fn caused_by_the_test(e: &Value) -> bool {
    let user = e["user"]["username"].as_str().unwrap_or_default();
    let agent = e["userAgent"].as_str().unwrap_or_default();
    // `system:` users are the control plane's, except ServiceAccounts outside kube-system
    // (the installed operator's, for one).
    let workload = user.starts_with("system:serviceaccount:")
        && !user.starts_with("system:serviceaccount:kube-system:");
    let component = user.starts_with("system:") && !workload;
    !component && agent != "control-plane-supervisor" && user != real::WEBHOOK_USER
}

/// A real audit event in the simulator's record shape.
fn record(e: &Value) -> AuditRecord {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let uri = s(&e["requestURI"]);
    let query = |key: &str| {
        let raw = uri
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default()
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap_or_default();
        percent_decoded(raw)
    };
    AuditRecord {
        ts: s(&e["stageTimestamp"]),
        verb: s(&e["verb"]),
        group: s(&e["objectRef"]["apiGroup"]),
        resource: s(&e["objectRef"]["resource"]),
        subresource: s(&e["objectRef"]["subresource"]),
        namespace: s(&e["objectRef"]["namespace"]),
        name: s(&e["objectRef"]["name"]),
        field_manager: query("fieldManager"),
        user_agent: s(&e["userAgent"]),
        dry_run: query("dryRun") == "All",
        code: e["responseStatus"]["code"].as_u64().unwrap_or_default() as u16,
    }
}

/// `%XX` escapes of a query value decoded (field managers such as `dynamoctl%3Aapply`).
fn percent_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
