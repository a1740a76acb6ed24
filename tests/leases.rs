//! The Lease machinery against the API server simulator: the namespace-scope marker
//! (`controller::marker`), the cluster-wide operator's exclusions (`controller::exclusion`),
//! leader election (`controller::leader`) and `dynamoctl leases`, compared with the real
//! kubectl. Every test is bounded in time and talks only to 127.0.0.1.

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cluster::TestCluster;
use common::sim::text;
use dynamoctl::controller::exclusion::{self, Exclusions, Transition};
use dynamoctl::controller::leader::{self, LeaderConfig, LeaderError};
use dynamoctl::controller::marker::{
    self, INSTANCE_ANNOTATION, MarkerConfig, MarkerError, lease_expiry, lease_instance,
};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams, WatchEvent, WatchParams};
use kube::{Client, ResourceExt};
use kube_sim::{FaultConfig, FaultKind, FaultRule};
use serde_json::json;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

const MARKER: &str = "dynamo-operator-namespace-scope";

/// Every test body runs under this bound.
async fn bounded<T>(f: impl Future<Output = T>) -> T {
    timeout(Duration::from_secs(60), f)
        .await
        .expect("test exceeded its 60 s bound")
}

async fn namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns).await.unwrap();
}

/// Short timings so tests take seconds: 2 s duration, 300 ms renewals.
fn marker_cfg(ns: &str, instance: &str, standby: bool) -> MarkerConfig {
    MarkerConfig {
        namespace: ns.into(),
        operator_version: "v2.0.0-beta".into(),
        instance: instance.into(),
        duration: Duration::from_secs(2),
        renew_interval: Duration::from_millis(300),
        standby,
    }
}

/// A running `hold_marker`: its `holding` flag, a graceful stop, and the task.
struct Holder {
    holding: watch::Receiver<bool>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), MarkerError>>,
}

fn hold(client: &Client, cfg: MarkerConfig) -> Holder {
    let (tx, holding) = watch::channel(false);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(marker::hold_marker(client.clone(), cfg, tx, async {
        let _ = stopped.await;
    }));
    Holder {
        holding,
        stop: Some(stop),
        task,
    }
}

impl Holder {
    /// Graceful shutdown; returns what `hold_marker` returned.
    async fn shutdown(mut self) -> Result<(), MarkerError> {
        let _ = self.stop.take().unwrap().send(());
        timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stopped in time")
            .unwrap()
    }
}

/// Waits until `rx` shows `value`; returns when it did.
async fn wait_for(rx: &mut watch::Receiver<bool>, value: bool, within: Duration) -> Timestamp {
    timeout(within, rx.wait_for(|v| *v == value))
        .await
        .unwrap_or_else(|_| panic!("flag did not become {value} within {within:?}"))
        .expect("sender alive");
    Timestamp::now()
}

async fn get_marker(client: &Client, ns: &str) -> Option<Lease> {
    Api::<Lease>::namespaced(client.clone(), ns)
        .get_opt(MARKER)
        .await
        .unwrap()
}

/// Successful writes to Leases so far.
fn lease_writes(sim: &TestCluster) -> usize {
    sim.audit_writes()
        .iter()
        .filter(|r| r.resource == "leases" && r.code < 300)
        .count()
}

#[tokio::test]
async fn marker_is_created_renewed_recreated_and_deleted_on_shutdown() {
    bounded(async {
        let Some(sim) = TestCluster::start(false).await else {
            return;
        };
        let client = sim.client();
        namespace(&client, "team-b").await;
        let api: Api<Lease> = Api::namespaced(client.clone(), "team-b");
        // Watch from the start, to see the very first write as it was stored.
        let mut events = api
            .watch(
                &WatchParams::default().fields(&format!("metadata.name={MARKER}")),
                "0",
            )
            .await
            .unwrap()
            .boxed();

        let mut h = hold(&client, marker_cfg("team-b", "op-0-aaaa", true));
        wait_for(&mut h.holding, true, Duration::from_secs(5)).await;
        // Bookmarks may come first (a real API server sends them when it likes).
        let first = loop {
            match events.next().await.unwrap().unwrap() {
                WatchEvent::Added(l) => break l,
                WatchEvent::Bookmark(_) => continue,
                other => panic!("expected the marker to be added, got {other:?}"),
            }
        };
        let spec = first.spec.clone().unwrap();
        assert_eq!(
            spec.holder_identity.as_deref(),
            Some("namespace-restricted-operator-v2.0.0-beta")
        );
        assert!(
            spec.renew_time.is_some(),
            "renewTime set on the first write"
        );
        assert_eq!(spec.renew_time, spec.acquire_time);
        assert_eq!(spec.lease_duration_seconds, Some(2));
        assert_eq!(lease_instance(&first), Some("op-0-aaaa"));
        let writes = sim.audit_writes();
        let first_write = writes.iter().find(|r| r.resource == "leases").unwrap();
        assert_eq!(
            (first_write.verb.as_str(), first_write.code),
            ("create", 201)
        );

        // Renewed: renewTime moves on, acquireTime and uid stay.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let renewed = get_marker(&client, "team-b").await.unwrap();
        let rspec = renewed.spec.clone().unwrap();
        assert!(rspec.renew_time.as_ref().unwrap().0 > spec.renew_time.as_ref().unwrap().0);
        assert_eq!(rspec.acquire_time, spec.acquire_time);
        assert_eq!(renewed.uid(), first.uid());

        // Deleted by someone: re-created, still held.
        api.delete(MARKER, &DeleteParams::default()).await.unwrap();
        let recreated = timeout(Duration::from_secs(3), async {
            loop {
                if let Some(l) = get_marker(&client, "team-b").await
                    && l.uid() != first.uid()
                {
                    return l;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("marker re-created within 3 s");
        assert_eq!(lease_instance(&recreated), Some("op-0-aaaa"));
        assert!(recreated.spec.unwrap().renew_time.is_some());
        assert!(*h.holding.borrow());

        // Graceful shutdown: flag down, marker gone.
        let holding = h.holding.clone();
        h.shutdown().await.expect("graceful shutdown is Ok");
        assert!(!*holding.borrow());
        assert!(get_marker(&client, "team-b").await.is_none());
        let deletes: Vec<_> = sim
            .audit_writes()
            .into_iter()
            .filter(|r| r.resource == "leases" && r.verb == "delete")
            .collect();
        assert_eq!(deletes.len(), 2, "the test's delete and the release");
        assert_eq!(deletes[1].code, 200);
    })
    .await
}

#[tokio::test]
async fn invalid_marker_config_is_refused() {
    bounded(async {
        let Some(sim) = TestCluster::start(false).await else {
            return;
        };
        let mut cfg = marker_cfg("team-b", "op-0", true);
        cfg.renew_interval = cfg.duration;
        let (tx, _rx) = watch::channel(false);
        let r = marker::hold_marker(sim.client(), cfg, tx, std::future::pending()).await;
        assert!(matches!(r, Err(MarkerError::Config(_))), "{r:?}");
        assert_eq!(lease_writes(&sim), 0);
    })
    .await
}

#[tokio::test]
async fn second_instance_stands_by_and_takes_over_only_after_expiry() {
    bounded(async {
        let Some(sim) = TestCluster::start(false).await else {
            return;
        };
        let client = sim.client();
        namespace(&client, "team-b").await;
        let mut a = hold(&client, marker_cfg("team-b", "op-0-aaaa", true));
        wait_for(&mut a.holding, true, Duration::from_secs(5)).await;

        // Without standby, a second instance fails with a clear error and writes nothing.
        let writes_before = sim.audit_writes().len();
        let (tx, _rx) = watch::channel(false);
        let refused = timeout(
            Duration::from_secs(5),
            marker::hold_marker(
                client.clone(),
                marker_cfg("team-b", "op-2-cccc", false),
                tx,
                std::future::pending(),
            ),
        )
        .await
        .expect("fails at once");
        match refused {
            Err(e @ MarkerError::HeldByAnother { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("op-0-aaaa") && msg.contains("team-b"), "{msg}");
            }
            other => panic!("expected HeldByAnother, got {other:?}"),
        }

        // With standby, it waits while the first one renews.
        let mut b = hold(&client, marker_cfg("team-b", "op-1-bbbb", true));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !*b.holding.borrow(),
            "the standby must not hold a live marker"
        );
        let lease = get_marker(&client, "team-b").await.unwrap();
        assert_eq!(lease_instance(&lease), Some("op-0-aaaa"));
        // Only the first holder wrote meanwhile (its renewals, no standby writes): every lease
        // write since then is an update of op-0's marker.
        let since: Vec<_> = sim.audit_writes().into_iter().skip(writes_before).collect();
        assert!(
            since
                .iter()
                .filter(|r| r.resource == "leases")
                .all(|r| r.verb == "update")
        );

        // kill -9 of the first: no release, the marker just stops being renewed.
        a.task.abort();
        let _ = a.task.await;
        let last = get_marker(&client, "team-b").await.unwrap();
        let expiry = lease_expiry(&last).unwrap();
        let took_over = wait_for(&mut b.holding, true, Duration::from_secs(6)).await;
        assert!(
            took_over >= expiry,
            "took over at {took_over}, before expiry {expiry}"
        );
        assert!(
            took_over.duration_since(expiry).as_secs_f64() < 1.0,
            "took over {:?} after expiry",
            took_over.duration_since(expiry)
        );
        let taken = get_marker(&client, "team-b").await.unwrap();
        assert_eq!(lease_instance(&taken), Some("op-1-bbbb"));
        let spec = taken.spec.unwrap();
        assert_eq!(spec.lease_transitions, Some(1));
        assert_eq!(
            spec.holder_identity.as_deref(),
            Some("namespace-restricted-operator-v2.0.0-beta")
        );
        b.shutdown().await.unwrap();
        assert!(get_marker(&client, "team-b").await.is_none());
    })
    .await
}

#[tokio::test]
async fn renewals_failing_until_expiry_are_fatal_and_stop_writes_first() {
    bounded(async {
        let Some(sim) = common::cluster::sim_only("fault injection", false).await else {
            return;
        };
        let client = sim.client();
        namespace(&client, "team-b").await;
        let mut h = hold(&client, marker_cfg("team-b", "op-0-aaaa", true));
        wait_for(&mut h.holding, true, Duration::from_secs(5)).await;

        sim.sim().set_faults(FaultConfig {
            rules: vec![
                FaultRule::new(FaultKind::InternalError, 1.0)
                    .verb("update")
                    .resource("leases"),
            ],
            ..FaultConfig::default()
        });
        let last_success = lease_writes(&sim);
        let failures_before = marker::RENEW_FAILURES.load(Ordering::Relaxed);
        let stopped = wait_for(&mut h.holding, false, Duration::from_secs(5)).await;
        let result = timeout(Duration::from_secs(5), h.task)
            .await
            .expect("hold_marker returned")
            .unwrap();
        match result {
            Err(MarkerError::Lost { namespace, reason }) => {
                assert_eq!(namespace, "team-b");
                assert!(
                    reason.contains("500") || reason.contains("Internal"),
                    "{reason}"
                );
            }
            other => panic!("expected Lost, got {other:?}"),
        }
        assert!(
            marker::RENEW_FAILURES.load(Ordering::Relaxed) >= failures_before + 2,
            "failed renewals are counted"
        );
        // The flag went down before the marker could expire for anyone else.
        let lease = get_marker(&client, "team-b").await.unwrap();
        let expiry = lease_expiry(&lease).unwrap();
        assert!(
            stopped < expiry,
            "stopped at {stopped}, marker expires {expiry}"
        );
        // No lease write succeeded after the faults, and nothing is written any more.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(lease_writes(&sim), last_success);
        let attempts = sim
            .audit()
            .iter()
            .filter(|r| r.resource == "leases" && r.verb == "update")
            .count();
        tokio::time::sleep(Duration::from_millis(700)).await;
        let later = sim
            .audit()
            .iter()
            .filter(|r| r.resource == "leases" && r.verb == "update")
            .count();
        assert_eq!(attempts, later, "a lost marker is not retried");
    })
    .await
}

/// Receives the next transition within `within`.
async fn next_transition(rx: &mut broadcast::Receiver<Transition>, within: Duration) -> Transition {
    timeout(within, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no transition within {within:?}"))
        .unwrap()
}

#[tokio::test]
async fn exclusions_follow_live_markers_and_resume_at_expiry() {
    bounded(async {
        let Some(sim) = TestCluster::start(false).await else {
            return;
        };
        let client = sim.client();
        namespace(&client, "team-a").await;
        namespace(&client, "team-b").await;
        // A Lease with another name never excludes anything.
        let other: Lease = serde_json::from_value(json!({
            "metadata": {"name": "other", "namespace": "team-a"},
            "spec": {"holderIdentity": "x", "leaseDurationSeconds": 60,
                     "renewTime": Timestamp::now().to_string()}
        }))
        .unwrap();
        Api::<Lease>::namespaced(client.clone(), "team-a")
            .create(&PostParams::default(), &other)
            .await
            .unwrap();

        let ex = Exclusions::new();
        let mut rx = ex.subscribe();
        assert!(!ex.is_synced());
        let (stop, stopped) = oneshot::channel::<()>();
        let watcher = tokio::spawn(exclusion::run(client.clone(), ex.clone(), async {
            let _ = stopped.await;
        }));
        timeout(Duration::from_secs(5), ex.synced())
            .await
            .expect("the first listing arrives");
        assert!(!ex.is_excluded("team-a") && !ex.is_excluded("team-b"));

        // A live marker excludes its namespace at once.
        let mut m = hold(&client, marker_cfg("team-b", "op-0-aaaa", true));
        let held = wait_for(&mut m.holding, true, Duration::from_secs(5)).await;
        assert_eq!(
            next_transition(&mut rx, Duration::from_secs(2)).await,
            Transition::Excluded("team-b".into())
        );
        assert!(Timestamp::now().duration_since(held).as_secs_f64() < 1.0);
        assert!(ex.is_excluded("team-b") && !ex.is_excluded("team-a"));
        assert_eq!(ex.excluded(), vec!["team-b".to_string()]);

        // kill -9: no more events on the Lease; resumption comes from the timer.
        m.task.abort();
        let _ = m.task.await;
        let expiry = lease_expiry(&get_marker(&client, "team-b").await.unwrap()).unwrap();
        let writes = lease_writes(&sim);
        assert_eq!(
            next_transition(&mut rx, Duration::from_secs(5)).await,
            Transition::Resumed("team-b".into())
        );
        let resumed = Timestamp::now();
        assert_eq!(lease_writes(&sim), writes, "nothing touched the Lease");
        assert!(resumed >= expiry, "resumed at {resumed}, before expiry {expiry}");
        assert!(
            resumed.duration_since(expiry).as_secs_f64() < 1.0,
            "resumed {:?} after expiry",
            resumed.duration_since(expiry)
        );
        assert!(!ex.is_excluded("team-b") && ex.excluded().is_empty());

        // A new operator takes the expired marker: excluded again; a graceful stop deletes the
        // marker and resumes the namespace right away.
        let mut m = hold(&client, marker_cfg("team-b", "op-1-bbbb", true));
        wait_for(&mut m.holding, true, Duration::from_secs(5)).await;
        assert_eq!(
            next_transition(&mut rx, Duration::from_secs(2)).await,
            Transition::Excluded("team-b".into())
        );
        m.shutdown().await.unwrap();
        let stopped_at = Timestamp::now();
        assert_eq!(
            next_transition(&mut rx, Duration::from_secs(2)).await,
            Transition::Resumed("team-b".into())
        );
        assert!(Timestamp::now().duration_since(stopped_at).as_secs_f64() < 1.0);

        // A marker deleted by hand (long TTL) resumes on the deletion, not the TTL.
        let manual: Lease = serde_json::from_value(json!({
            "metadata": {"name": MARKER, "namespace": "team-a",
                         "annotations": {INSTANCE_ANNOTATION: "someone"}},
            "spec": {"holderIdentity": "namespace-restricted-operator-v9", "leaseDurationSeconds": 3600,
                     "renewTime": Timestamp::now().to_string()}
        }))
        .unwrap();
        let api: Api<Lease> = Api::namespaced(client.clone(), "team-a");
        api.create(&PostParams::default(), &manual).await.unwrap();
        assert_eq!(
            next_transition(&mut rx, Duration::from_secs(2)).await,
            Transition::Excluded("team-a".into())
        );
        api.delete(MARKER, &DeleteParams::default()).await.unwrap();
        let deleted_at = Timestamp::now();
        assert_eq!(
            next_transition(&mut rx, Duration::from_secs(2)).await,
            Transition::Resumed("team-a".into())
        );
        assert!(Timestamp::now().duration_since(deleted_at).as_secs_f64() < 1.0);

        assert_eq!(ex.counters().exclusions.load(Ordering::Relaxed), 3);
        assert_eq!(ex.counters().resumptions.load(Ordering::Relaxed), 3);
        let _ = stop.send(());
        timeout(Duration::from_secs(5), watcher)
            .await
            .expect("watcher stops on shutdown")
            .unwrap();
    })
    .await
}

/// A TCP proxy in front of the simulator that can be cut, to partition one client (a leader
/// that keeps running but can no longer reach the API server).
struct Proxy {
    addr: SocketAddr,
    cut: Arc<Mutex<bool>>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(Mutex::new(false));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (c, cs) = (cut.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *c.lock().unwrap() {
                    continue; // dropped: connection closed
                }
                cs.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Proxy {
            addr,
            cut,
            conns,
            accept,
        }
    }

    fn client(&self, sim: &kube_sim::Simulator) -> Client {
        let mut config = sim.config();
        config.cluster_url = format!("http://{}", self.addr).parse().unwrap();
        Client::try_from(config).unwrap()
    }

    /// Closes every connection and refuses new ones.
    fn cut(&self) {
        *self.cut.lock().unwrap() = true;
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Records every change of a flag with its instant.
fn record(mut rx: watch::Receiver<bool>) -> Arc<Mutex<Vec<(Instant, bool)>>> {
    let log = Arc::new(Mutex::new(vec![(Instant::now(), *rx.borrow())]));
    let l = log.clone();
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let v = *rx.borrow_and_update();
            l.lock().unwrap().push((Instant::now(), v));
        }
    });
    log
}

fn leader_cfg(identity: &str) -> LeaderConfig {
    LeaderConfig {
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1000),
        retry_period: Duration::from_millis(200),
        ..LeaderConfig::new("kube-system", identity)
    }
}

fn elect(
    client: Client,
    cfg: LeaderConfig,
) -> (
    watch::Receiver<bool>,
    oneshot::Sender<()>,
    JoinHandle<Result<(), LeaderError>>,
) {
    let (tx, rx) = watch::channel(false);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(leader::elect(client, cfg, tx, async {
        let _ = stopped.await;
    }));
    (rx, stop, task)
}

#[tokio::test]
async fn leader_election_hands_over_without_overlap() {
    bounded(async {
        let Some(sim) =
            common::cluster::sim_only("cutting connections through a proxy", false).await
        else {
            return;
        };
        let client = sim.client();
        let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
        let proxy = Proxy::start(sim.sim().addr()).await;

        let (mut a, _stop_a, task_a) = elect(proxy.client(sim.sim()), leader_cfg("op-a"));
        wait_for(&mut a, true, Duration::from_secs(5)).await;
        let log_a = record(a.clone());
        let (mut b, stop_b, task_b) = elect(client.clone(), leader_cfg("op-b"));
        let log_b = record(b.clone());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(*a.borrow() && !*b.borrow(), "one leader at a time");
        let lease = leases.get("dynamo.nvidia.com").await.unwrap();
        let spec = lease.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("op-a"));
        assert_eq!(spec.lease_duration_seconds, Some(2));

        // Partition the leader: it keeps running but cannot renew.
        proxy.cut();
        let a_lost = timeout(Duration::from_secs(5), task_a)
            .await
            .expect("the old leader gives up")
            .unwrap();
        assert!(
            matches!(a_lost, Err(LeaderError::Lost { .. })),
            "{a_lost:?}"
        );
        wait_for(&mut b, true, Duration::from_secs(6)).await;

        let a_off = log_a
            .lock()
            .unwrap()
            .iter()
            .find(|(_, v)| !v)
            .map(|(t, _)| *t)
            .expect("a stepped down");
        let b_on = log_b
            .lock()
            .unwrap()
            .iter()
            .find(|(_, v)| *v)
            .map(|(t, _)| *t)
            .expect("b took over");
        assert!(
            a_off < b_on,
            "the old leader stopped before the new one started"
        );
        // The margin is lease duration - renew deadline (1 s here), less scheduling noise.
        assert!(
            b_on - a_off >= Duration::from_millis(700),
            "margin {:?}",
            b_on - a_off
        );
        let spec = leases.get("dynamo.nvidia.com").await.unwrap().spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("op-b"));
        assert_eq!(spec.lease_transitions, Some(1));

        // Graceful shutdown releases: a new candidate leads at once, not after 2 s.
        let _ = stop_b.send(());
        timeout(Duration::from_secs(5), task_b)
            .await
            .unwrap()
            .unwrap()
            .expect("graceful shutdown is Ok");
        assert!(!*b.borrow());
        let released = leases.get("dynamo.nvidia.com").await.unwrap().spec.unwrap();
        assert_eq!(released.holder_identity, None);
        assert_eq!(released.lease_duration_seconds, Some(1));
        let (mut c, stop_c, task_c) = elect(client.clone(), leader_cfg("op-c"));
        let started = Instant::now();
        wait_for(&mut c, true, Duration::from_secs(2)).await;
        assert!(started.elapsed() < Duration::from_millis(500));
        let _ = stop_c.send(());
        let _ = timeout(Duration::from_secs(5), task_c).await;
    })
    .await
}

/// kubectl from `KUBECTL` or `.tools/bin`; fails under CI when missing, skips otherwise.
fn kubectl() -> Option<PathBuf> {
    let path = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join(".tools/bin/kubectl"));
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

async fn run_kubectl(bin: &Path, sim: &TestCluster, args: &[&str]) -> String {
    let home =
        std::env::temp_dir().join(format!("dynamoctl-leases-kubectl-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let (bin, kubeconfig) = (bin.to_path_buf(), sim.kubeconfig_path().to_path_buf());
    let argv: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let task = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .args(&argv)
            .env_clear()
            .env("HOME", &home)
            .env("KUBECONFIG", kubeconfig)
            .output()
            .expect("kubectl runs")
    });
    let out = timeout(Duration::from_secs(60), task)
        .await
        .expect("kubectl finished in time")
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Creates a Lease with fixed timestamps.
async fn lease(client: &Client, ns: &str, name: &str, holder: &str, renew: &str, secs: i32) {
    let mut meta = json!({"name": name, "namespace": ns});
    if name == MARKER {
        meta["annotations"] = json!({INSTANCE_ANNOTATION: format!("op-{ns}-0-1a2b3c4d")});
    }
    let l: Lease = serde_json::from_value(json!({
        "metadata": meta,
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": secs,
                 "acquireTime": renew, "renewTime": renew, "leaseTransitions": 0}
    }))
    .unwrap();
    Api::<Lease>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &l)
        .await
        .unwrap();
}

#[tokio::test]
async fn leases_command_prints_markers_and_leaders_and_agrees_with_kubectl() {
    bounded(async {
        let Some(sim) = TestCluster::start(false).await else {
            return;
        };
        let client = sim.client();
        for ns in ["team-a", "team-b", "team-c"] {
            namespace(&client, ns).await;
        }
        let v1 = "namespace-restricted-operator-v1.0.0";
        let v2 = "namespace-restricted-operator-v2.0.0-beta";
        lease(
            &client,
            "team-a",
            MARKER,
            v1,
            "2026-01-01T00:00:00.000000Z",
            30,
        )
        .await;
        lease(
            &client,
            "team-b",
            MARKER,
            v2,
            "2026-01-01T00:00:50.000000Z",
            30,
        )
        .await;
        lease(
            &client,
            "team-b",
            "dynamo.nvidia.com",
            "op-b-0",
            "2026-01-01T00:00:59.000000Z",
            15,
        )
        .await;
        lease(
            &client,
            "kube-system",
            "dynamo.nvidia.com",
            "dynamo-platform-dynamo-operator-7f9c-x2",
            "2026-01-01T00:00:58.000000Z",
            15,
        )
        .await;
        lease(
            &client,
            "team-a",
            "unrelated",
            "someone",
            "2026-01-01T00:00:58.000000Z",
            15,
        )
        .await;
        let now = [("DYNAMOCTL_NOW", "2026-01-01T00:01:00Z")];

        let out = common::sim::run(&sim, &["leases", "-A"], &now).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        common::assert_golden(
            "tests/golden/leases/all-namespaces.txt".as_ref(),
            &out.stdout,
        );

        let out = common::sim::run(&sim, &["leases", "-n", "team-b", "-o", "json"], &now).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        common::assert_golden("tests/golden/leases/team-b.json".as_ref(), &out.stdout);

        // YAML carries the same rows as JSON.
        let out = common::sim::run(&sim, &["leases", "-n", "team-b", "-o", "yaml"], &now).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let yaml: serde_json::Value = serde_saphyr::from_str(&text(&out.stdout)).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&common::sim::read("tests/golden/leases/team-b.json")).unwrap();
        assert_eq!(yaml, json);

        let out = common::sim::run(&sim, &["leases", "-n", "team-c"], &now).await;
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            text(&out.stdout),
            "No Dynamo operator Leases found in namespace team-c.\n"
        );

        // Our marker rows agree with the seed's kubectl command.
        let ours: Vec<(String, String, String)> =
            text(&common::sim::run(&sim, &["leases", "-A"], &now).await.stdout)
                .lines()
                .skip(1)
                .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .filter(|c| c[1] == MARKER)
                .map(|c| (c[0].clone(), c[1].clone(), c[2].clone()))
                .collect();
        assert_eq!(ours.len(), 2);
        let Some(kubectl) = kubectl() else { return };
        let selector = format!("metadata.name={MARKER}");
        let table = run_kubectl(
            &kubectl,
            &sim,
            &["get", "lease", "-A", "--field-selector", &selector],
        )
        .await;
        let mut lines = table.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
        let theirs: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r[col("NAMESPACE").unwrap()].to_string(),
                    r[col("NAME").unwrap()].to_string(),
                )
            })
            .collect();
        assert_eq!(
            theirs,
            ours.iter()
                .map(|(n, m, _)| (n.clone(), m.clone()))
                .collect::<Vec<_>>(),
            "{table}"
        );
        // kube-sim serves upstream's server-side Table for Leases: NAMESPACE NAME HOLDER AGE.
        let h = col("HOLDER").expect("kubectl prints a HOLDER column");
        let holders: Vec<&str> = rows.iter().map(|r| r[h]).collect();
        assert_eq!(
            holders,
            ours.iter().map(|o| o.2.as_str()).collect::<Vec<_>>()
        );
        let jsonpath = run_kubectl(
            &kubectl,
            &sim,
            &[
                "get",
                "lease",
                "-n",
                "team-b",
                MARKER,
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
        )
        .await;
        assert_eq!(jsonpath, v2);
    })
    .await
}

#[tokio::test]
async fn racing_candidates_get_exactly_one_holder() {
    bounded(async {
        let Some(sim) = TestCluster::start(false).await else {
            return;
        };
        let client = sim.client();
        namespace(&client, "team-b").await;
        // An expired marker left by a dead operator: two standbys race to take it over.
        lease(
            &client,
            "team-b",
            MARKER,
            "namespace-restricted-operator-v1.0.0",
            "2026-01-01T00:00:00.000000Z",
            30,
        )
        .await;
        let b = hold(&client, marker_cfg("team-b", "op-1-bbbb", true));
        let c = hold(&client, marker_cfg("team-b", "op-2-cccc", true));
        // Three candidates for a leader Lease that does not exist yet race to create it.
        let electors: Vec<_> = ["op-x", "op-y", "op-z"]
            .into_iter()
            .map(|id| elect(client.clone(), leader_cfg(id)))
            .collect();
        let logs: Vec<_> = electors
            .iter()
            .map(|(rx, _, _)| record(rx.clone()))
            .collect();
        tokio::time::sleep(Duration::from_millis(2500)).await;

        let holding = [*b.holding.borrow(), *c.holding.borrow()];
        assert_eq!(holding.iter().filter(|h| **h).count(), 1, "{holding:?}");
        let winner = if holding[0] { "op-1-bbbb" } else { "op-2-cccc" };
        let marker = get_marker(&client, "team-b").await.unwrap();
        assert_eq!(lease_instance(&marker), Some(winner));
        assert_eq!(marker.spec.unwrap().lease_transitions, Some(1));

        let leaders: Vec<bool> = electors.iter().map(|(rx, _, _)| *rx.borrow()).collect();
        assert_eq!(leaders.iter().filter(|l| **l).count(), 1, "{leaders:?}");
        // Nobody else was ever leader, not even briefly.
        for (log, is_leader) in logs.iter().zip(&leaders) {
            let ever = log.lock().unwrap().iter().any(|(_, v)| *v);
            assert_eq!(ever, *is_leader);
        }
        let holder = Api::<Lease>::namespaced(client.clone(), "kube-system")
            .get("dynamo.nvidia.com")
            .await
            .unwrap()
            .spec
            .unwrap()
            .holder_identity
            .unwrap();
        let i = leaders.iter().position(|l| *l).unwrap();
        assert_eq!(holder, ["op-x", "op-y", "op-z"][i]);

        b.shutdown().await.unwrap();
        c.shutdown().await.unwrap();
        for (_, stop, task) in electors {
            let _ = stop.send(());
            timeout(Duration::from_secs(5), task)
                .await
                .unwrap()
                .unwrap()
                .unwrap();
        }
    })
    .await
}

#[tokio::test]
async fn exclusions_survive_cut_and_expired_watches() {
    bounded(async {
        let Some(sim) = common::cluster::sim_only("fault injection", false).await else {
            return;
        };
        let client = sim.client();
        namespace(&client, "team-b").await;
        let ex = Exclusions::new();
        let mut rx = ex.subscribe();
        let (stop, stopped) = oneshot::channel::<()>();
        let watcher = tokio::spawn(exclusion::run(client.clone(), ex.clone(), async {
            let _ = stopped.await;
        }));
        let mut m = hold(&client, marker_cfg("team-b", "op-0-aaaa", true));
        wait_for(&mut m.holding, true, Duration::from_secs(5)).await;
        assert_eq!(
            next_transition(&mut rx, Duration::from_secs(2)).await,
            Transition::Excluded("team-b".into())
        );

        // Watches cut every 300 ms and re-watches answered 410: the watcher relists, and a live
        // marker never flaps.
        sim.sim().set_faults(FaultConfig {
            watch_cut_after: Some(Duration::from_millis(300)),
            expire_watches: true,
            ..FaultConfig::default()
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(ex.is_excluded("team-b"));
        assert!(
            matches!(rx.try_recv(), Err(broadcast::error::TryRecvError::Empty)),
            "no transition while the marker is live"
        );

        // Deleted while watches keep failing: noticed on a relist.
        m.shutdown().await.unwrap();
        assert_eq!(
            next_transition(&mut rx, Duration::from_secs(10)).await,
            Transition::Resumed("team-b".into())
        );
        assert!(!ex.is_excluded("team-b"));
        let _ = stop.send(());
        timeout(Duration::from_secs(5), watcher)
            .await
            .unwrap()
            .unwrap();
    })
    .await
}
