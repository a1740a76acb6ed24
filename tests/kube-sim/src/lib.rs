//! # kube-sim: a Kubernetes API server simulator for dynamoctl's tests
//!
//! An in-memory API server that speaks the real wire protocol over HTTP on
//! 127.0.0.1, so `kube::Client`, `kubectl` and `helm` work against it unchanged:
//! discovery (legacy and aggregated), CRUD, selectors, pagination, watches with
//! bookmarks and 410 Gone, JSON/merge/strategic patches, server-side apply with
//! field ownership and conflicts, dry-run, status/scale subresources, finalizers
//! and ownerReference garbage collection, CRDs served on creation, a simulated
//! kubelet for Deployments, fault injection and an audit log.
//!
//! ```no_run
//! # async fn demo() {
//! use kube_sim::{Options, Simulator};
//! let sim = Simulator::start(Options::default()).await;
//! let client = sim.client();
//! // ... use `client`, or point kubectl at `sim.kubeconfig_path()` ...
//! assert!(sim.audit().iter().all(|r| !r.is_write()));
//! sim.stop().await;
//! # }
//! ```
//!
//! See the crate README for every simplification relative to kube-apiserver.

#![warn(missing_docs)]

pub mod audit;
pub mod convert;
pub mod defaults;
pub mod discovery;
pub mod engine;
pub mod faults;
pub mod fieldset;
mod gc;
pub mod kubelet;
pub mod openapi;
pub mod ownership;
pub mod patch;
pub mod proto;
pub mod registry;
pub mod selectors;
mod server;
pub mod status;
pub mod store;
pub mod table;
pub mod util;
mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use audit::AuditRecord;
pub use faults::{FaultConfig, FaultKind, FaultRule, Faults};
pub use kubelet::{KubeletConfig, KubeletControl};

use engine::State;
use server::Shared;

/// How to start a simulator. `Options::default()` is right for most tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where to write the kubeconfig; None writes a unique file in the temp
    /// directory, removed again when the simulator stops.
    pub kubeconfig_path: Option<PathBuf>,
    /// Also append audit records (JSON lines) to this file.
    pub audit_log: Option<PathBuf>,
    /// Run the simulated kubelet (Deployment status). Off by default in-process
    /// so tests see only the writes they cause; on by default in the binary.
    pub kubelet: bool,
    /// Delay before the kubelet reflects a Deployment spec change in status.
    pub kubelet_ready_delay: Duration,
    /// Interval between BOOKMARK events on watches that allow them.
    pub bookmark_interval: Duration,
    /// How many events the store keeps for watch resumption; older
    /// resourceVersions get 410 Gone.
    pub history_limit: usize,
    /// Seed for uids, generated names and fault sampling (None: from the clock).
    pub seed: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 0,
            kubeconfig_path: None,
            audit_log: None,
            kubelet: false,
            kubelet_ready_delay: Duration::from_millis(200),
            bookmark_interval: Duration::from_secs(1),
            history_limit: 20_000,
            seed: None,
        }
    }
}

/// A running simulator. Stops when [`Simulator::stop`] is awaited or when dropped.
#[derive(Debug)]
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    kubeconfig: PathBuf,
    remove_kubeconfig: bool,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// The kubeconfig text for a server at `url` (plain HTTP, no credentials).
pub fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-sim\n  cluster:\n    server: {url}\ncontexts:\n- name: kube-sim\n  context:\n    cluster: kube-sim\n    user: kube-sim\n    namespace: default\ncurrent-context: kube-sim\nusers:\n- name: kube-sim\n  user: {{}}\npreferences: {{}}\n"
    )
}

impl Simulator {
    /// Starts a simulator; panics if it cannot bind or write its kubeconfig
    /// (test setup failure). Use [`Simulator::try_start`] to handle errors.
    pub async fn start(opts: Options) -> Simulator {
        Self::try_start(opts)
            .await
            .expect("kube-sim: failed to start")
    }

    /// Starts a simulator on 127.0.0.1.
    pub async fn try_start(opts: Options) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(("127.0.0.1", opts.port)).await?;
        let addr = listener.local_addr()?;
        let audit_file = match &opts.audit_log {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => None,
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(opts.history_limit, opts.seed)),
            audit: audit::AuditLog::with_file(audit_file),
            faults: Faults::new(opts.seed),
            kubelet: KubeletControl::new(opts.kubelet, opts.kubelet_ready_delay),
            addr,
            bookmark_interval: opts.bookmark_interval,
            shutdown: rx,
        });
        let (kubeconfig, remove_kubeconfig) = match &opts.kubeconfig_path {
            Some(p) => (p.clone(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "kube-sim-{}-{}.kubeconfig",
                    std::process::id(),
                    addr.port()
                )),
                true,
            ),
        };
        std::fs::write(&kubeconfig, kubeconfig_yaml(&format!("http://{addr}")))?;
        let server = tokio::spawn(server::serve(listener, shared.clone()));
        // The kubelet task always runs; its switch is checked on every tick, so
        // tests can turn it on and off at any time.
        let kubelet = tokio::spawn(kubelet::run(shared.clone()));
        Ok(Simulator {
            shared,
            addr,
            kubeconfig,
            remove_kubeconfig,
            shutdown: tx,
            tasks: Mutex::new(vec![server, kubelet]),
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A `kube::Config` for this simulator (plain HTTP, namespace `default`), to
    /// build a client with non-default settings (e.g. `default_retry = false`).
    pub fn config(&self) -> kube::Config {
        let mut config = kube::Config::new(self.url().parse().expect("a valid URL"));
        config.default_namespace = "default".into();
        config
    }

    /// A `kube::Client` talking to this simulator over HTTP (default namespace
    /// `default`, kube's default retries of 429/503/504 honouring Retry-After).
    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config()).expect("kube-sim: building a kube::Client failed")
    }

    /// Path of the kubeconfig file pointing at this simulator (for kubectl, helm, child processes).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// All audit records so far (every request, in arrival order).
    pub fn audit(&self) -> Vec<AuditRecord> {
        self.shared.audit.records()
    }

    /// Audit records of state-changing requests (create, update, patch, delete, deletecollection)
    /// that were not dry-run.
    pub fn audit_writes(&self) -> Vec<AuditRecord> {
        self.audit()
            .into_iter()
            .filter(|r| r.is_write() && !r.dry_run)
            .collect()
    }

    /// Forgets the in-memory audit records.
    pub fn clear_audit(&self) {
        self.shared.audit.clear()
    }

    /// Fault injection: read or change with [`Faults::config`] / [`Faults::update`].
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Replaces the whole fault configuration.
    pub fn set_faults(&self, config: FaultConfig) {
        self.shared.faults.update(|c| *c = config);
    }

    /// The simulated kubelet's switches (enable, delay, hold/release a Deployment).
    pub fn kubelet(&self) -> &KubeletControl {
        &self.shared.kubelet
    }

    /// Moves the simulated clock forward: every timestamp the server writes from
    /// now on (creationTimestamp, deletionTimestamp, managedFields times, the
    /// kubelet's condition times) is `by` later than real time, cumulatively.
    /// Lets tests make objects look old without sleeping.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.state().clock_offset += by;
    }

    /// The simulated clock's current time (RFC 3339, seconds).
    pub fn now(&self) -> String {
        self.shared.state().now()
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.state().store.current_rv()
    }

    /// Forgets the event history (like an etcd compaction): any watch or
    /// continue token from an older resourceVersion is answered with 410 Gone.
    pub fn compact(&self) {
        self.shared.state().store.compact()
    }

    /// Reads one stored object directly (bypassing HTTP and the audit log).
    pub fn object(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Option<serde_json::Value> {
        self.shared
            .state()
            .store
            .get(group, resource, namespace, name)
            .map(|o| (*o).clone())
    }

    /// Stops serving: closes the listener, every connection and watch, and the kubelet.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            t.abort();
        }
        if self.remove_kubeconfig {
            let _ = std::fs::remove_file(&self.kubeconfig);
        }
    }
}
