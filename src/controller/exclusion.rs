//! The cluster-wide operator's view of namespace-scoped operators (hybrid mode): which
//! namespaces have a live marker Lease and must be left alone.
//!
//! - Only marker Leases are watched: a field selector on `metadata.name`, all namespaces
//!   (upstream watches every Lease in the cluster, node heartbeats included).
//! - A namespace is excluded from the moment its marker is live (`holderIdentity` set and
//!   `renewTime + leaseDurationSeconds` in the future).
//! - It resumes **at the instant the marker expires**: a timer fires at the expiry, not "on the
//!   next event" as upstream, where a namespace whose operator died stays orphaned until
//!   something touches its Lease. Deleting the marker resumes it at once.
//! - [`Exclusions::is_excluded`] also checks the expiry against the clock, so a caller never
//!   sees a stale exclusion even if the timer task is late.
//! - Until the first full listing of markers has arrived nothing is known, and nothing is
//!   excluded: a cluster-wide operator must await [`Exclusions::synced`] before it starts
//!   writing, or it may write into a namespace that is already claimed.
//!
//! Every exclusion and resumption is logged, counted ([`Counters`]) and broadcast as a
//! [`Transition`], so the controller can re-enqueue a namespace's graphs when it resumes.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use tokio::sync::{broadcast, watch};
use tracing::{info, warn};

use super::marker::{instant_of, lease_expiry, sleep_until_opt};
use crate::api::consts::NAMESPACE_SCOPE_LEASE;

/// A namespace changing hands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// A namespace-scoped operator took the namespace: stop writing there.
    Excluded(String),
    /// Its marker expired or was deleted: manage the namespace again (re-enqueue its graphs).
    Resumed(String),
}

/// How many transitions happened, for metrics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Namespaces excluded (a live marker appeared).
    pub exclusions: AtomicU64,
    /// Namespaces resumed (a marker expired or was deleted).
    pub resumptions: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// Namespace → when its marker expires (only markers that were live when seen).
    markers: BTreeMap<String, Timestamp>,
    /// Namespaces announced as excluded (so each transition is reported once).
    excluded: BTreeSet<String>,
}

struct Inner {
    state: Mutex<State>,
    transitions: broadcast::Sender<Transition>,
    counters: Counters,
    /// True once the first full listing of markers has been applied.
    synced: watch::Sender<bool>,
}

/// The set of excluded namespaces: cheap to clone, shared between the watcher task and the
/// controllers.
#[derive(Clone)]
pub struct Exclusions {
    inner: Arc<Inner>,
}

impl Default for Exclusions {
    fn default() -> Self {
        Exclusions::new()
    }
}

impl std::fmt::Debug for Exclusions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exclusions")
            .field("excluded", &self.excluded())
            .finish()
    }
}

impl Exclusions {
    /// Nothing excluded yet.
    pub fn new() -> Exclusions {
        Exclusions {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                transitions: broadcast::channel(1024).0,
                counters: Counters::default(),
                synced: watch::channel(false).0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a namespace-scoped operator holds a live marker in `ns` right now (checked
    /// against the clock, not only the last event). Meaningful only once
    /// [`Exclusions::synced`] has completed; before that it is false.
    pub fn is_excluded(&self, ns: &str) -> bool {
        self.state()
            .markers
            .get(ns)
            .is_some_and(|e| Timestamp::now() < *e)
    }

    /// Whether the first full listing of markers has been applied.
    pub fn is_synced(&self) -> bool {
        *self.inner.synced.borrow()
    }

    /// Completes once the first full listing of markers has been applied (at once if it has).
    pub async fn synced(&self) {
        let mut rx = self.inner.synced.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|s| *s).await;
    }

    /// The namespaces known to be excluded (live markers), sorted.
    pub fn excluded(&self) -> Vec<String> {
        let now = Timestamp::now();
        self.state()
            .markers
            .iter()
            .filter(|(_, e)| now < **e)
            .map(|(ns, _)| ns.clone())
            .collect()
    }

    /// Transitions from now on. A receiver that lags behind gets `Lagged` and should then
    /// re-read [`Exclusions::excluded`].
    pub fn subscribe(&self) -> broadcast::Receiver<Transition> {
        self.inner.transitions.subscribe()
    }

    /// Counts of transitions so far.
    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// Records what a marker Lease says (added or modified) as of `now`.
    pub fn observe(&self, lease: &Lease, now: Timestamp) {
        let Some(ns) = lease.namespace() else { return };
        let mut state = self.state();
        match lease_expiry(lease) {
            Some(e) if now < e => {
                state.markers.insert(ns, e);
            }
            _ => {
                state.markers.remove(&ns);
            }
        }
        self.settle(&mut state, now);
    }

    /// Records that the marker of `ns` is gone.
    pub fn forget(&self, ns: &str, now: Timestamp) {
        let mut state = self.state();
        state.markers.remove(ns);
        self.settle(&mut state, now);
    }

    /// Replaces everything with a full listing (the first one marks the set synced; after a
    /// watch restart, markers deleted while disconnected resume).
    pub fn replace_all(&self, leases: &[Lease], now: Timestamp) {
        let mut state = self.state();
        state.markers = leases
            .iter()
            .filter_map(|l| Some((l.namespace()?, lease_expiry(l)?)))
            .filter(|(_, e)| now < *e)
            .collect();
        self.settle(&mut state, now);
        drop(state);
        self.inner
            .synced
            .send_if_modified(|s| !std::mem::replace(s, true));
    }

    /// Expires markers that are due at `now` and reports every transition.
    pub fn tick(&self, now: Timestamp) {
        let mut state = self.state();
        self.settle(&mut state, now);
    }

    /// The earliest expiry of a marker still counted as live: when to [`Exclusions::tick`].
    pub fn next_expiry(&self) -> Option<Timestamp> {
        self.state().markers.values().min().copied()
    }

    /// Brings `excluded` in line with `markers` at `now`, announcing each change.
    fn settle(&self, state: &mut State, now: Timestamp) {
        state.markers.retain(|_, e| now < *e);
        let live: BTreeSet<String> = state.markers.keys().cloned().collect();
        for ns in live.difference(&state.excluded) {
            let expires = state.markers[ns];
            info!(namespace = %ns, %expires, "a namespace-scoped operator holds this namespace; excluding it");
            self.inner
                .counters
                .exclusions
                .fetch_add(1, Ordering::Relaxed);
            let _ = self
                .inner
                .transitions
                .send(Transition::Excluded(ns.clone()));
        }
        for ns in state.excluded.difference(&live) {
            info!(namespace = %ns, "the namespace-scope marker expired or was deleted; resuming this namespace");
            self.inner
                .counters
                .resumptions
                .fetch_add(1, Ordering::Relaxed);
            let _ = self.inner.transitions.send(Transition::Resumed(ns.clone()));
        }
        state.excluded = live;
    }
}

/// Watches marker Leases in all namespaces and keeps `exclusions` current until `shutdown`.
/// Watch errors are logged and retried with kube-runtime's default backoff; expiry timers keep
/// running meanwhile, so a namespace whose marker stops being renewed resumes on time even
/// while the API server is unreachable.
pub async fn run(client: Client, exclusions: Exclusions, shutdown: impl Future<Output = ()>) {
    let api: Api<Lease> = Api::all(client);
    let config =
        watcher::Config::default().fields(&format!("metadata.name={NAMESPACE_SCOPE_LEASE}"));
    let stream = watcher::watcher(api, config).default_backoff();
    tokio::pin!(stream);
    tokio::pin!(shutdown);
    // Leases listed since the last `Init`, applied together at `InitDone`.
    let mut relist: Option<Vec<Lease>> = None;
    loop {
        let next_expiry = exclusions.next_expiry().map(instant_of);
        tokio::select! {
            () = &mut shutdown => return,
            () = sleep_until_opt(next_expiry) => exclusions.tick(Timestamp::now()),
            event = stream.next() => match event {
                Some(Ok(Event::Apply(l))) => exclusions.observe(&l, Timestamp::now()),
                Some(Ok(Event::Delete(l))) => {
                    if let Some(ns) = l.namespace() {
                        exclusions.forget(&ns, Timestamp::now());
                    }
                }
                Some(Ok(Event::Init)) => relist = Some(Vec::new()),
                Some(Ok(Event::InitApply(l))) => {
                    // Live markers take effect at once; removals wait for the full listing.
                    exclusions.observe(&l, Timestamp::now());
                    relist.get_or_insert_with(Vec::new).push(l);
                }
                Some(Ok(Event::InitDone)) => {
                    exclusions.replace_all(&relist.take().unwrap_or_default(), Timestamp::now());
                }
                Some(Err(e)) => warn!("watching namespace-scope markers: {e}; retrying"),
                // The watcher stream never ends; if it did, keep the timers and wait for shutdown.
                None => {
                    loop {
                        let next_expiry = exclusions.next_expiry().map(instant_of);
                        tokio::select! {
                            () = &mut shutdown => return,
                            () = sleep_until_opt(next_expiry) => exclusions.tick(Timestamp::now()),
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::marker::{INSTANCE_ANNOTATION, MarkerConfig};
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use kube::api::ObjectMeta;

    fn marker(ns: &str, renew: &str, secs: i32) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(NAMESPACE_SCOPE_LEASE.into()),
                namespace: Some(ns.into()),
                annotations: Some([(INSTANCE_ANNOTATION.to_string(), "p-1".to_string())].into()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(MarkerConfig::new(ns, "v2", "p-1").holder_identity()),
                renew_time: Some(MicroTime(renew.parse().unwrap())),
                lease_duration_seconds: Some(secs),
                ..Default::default()
            }),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// An empty, synced set.
    fn synced() -> Exclusions {
        let ex = Exclusions::new();
        ex.replace_all(&[], Timestamp::now());
        ex
    }

    #[test]
    fn the_first_listing_syncs() {
        let ex = Exclusions::new();
        assert!(!ex.is_synced());
        let now = Timestamp::now();
        ex.replace_all(&[marker("team-b", &now.to_string(), 30)], now);
        assert!(ex.is_synced());
        assert!(ex.is_excluded("team-b") && !ex.is_excluded("any"));
    }

    fn drain(rx: &mut broadcast::Receiver<Transition>) -> Vec<Transition> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn live_markers_exclude_and_expiry_resumes() {
        let ex = synced();
        let mut rx = ex.subscribe();
        let now = Timestamp::now();
        let fresh = now.to_string();
        ex.observe(&marker("team-b", &fresh, 30), now);
        assert!(ex.is_excluded("team-b"));
        assert_eq!(ex.excluded(), vec!["team-b".to_string()]);
        assert_eq!(drain(&mut rx), vec![Transition::Excluded("team-b".into())]);
        // A renewal is not a transition.
        ex.observe(&marker("team-b", &fresh, 30), now);
        assert!(drain(&mut rx).is_empty());
        // The timer fires at expiry.
        ex.tick(now + k8s_openapi::jiff::SignedDuration::from_secs(30));
        assert_eq!(drain(&mut rx), vec![Transition::Resumed("team-b".into())]);
        assert_eq!(ex.counters().exclusions.load(Ordering::Relaxed), 1);
        assert_eq!(ex.counters().resumptions.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn expired_or_holderless_markers_exclude_nothing() {
        let ex = synced();
        let mut rx = ex.subscribe();
        ex.observe(&marker("old", "2020-01-01T00:00:00Z", 30), Timestamp::now());
        let mut released = marker("released", &Timestamp::now().to_string(), 30);
        released.spec.as_mut().unwrap().holder_identity = None;
        ex.observe(&released, Timestamp::now());
        assert!(!ex.is_excluded("old") && !ex.is_excluded("released"));
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn is_excluded_checks_the_clock_even_without_a_tick() {
        let ex = synced();
        ex.observe(
            &marker("a", "2026-01-01T00:00:00Z", 30),
            at("2026-01-01T00:00:10Z"),
        );
        // The marker's expiry (2026-01-01T00:00:30Z) is before the real clock.
        assert!(!ex.is_excluded("a"));
        assert!(ex.excluded().is_empty());
    }

    #[test]
    fn deletion_and_relisting_resume() {
        let ex = synced();
        let mut rx = ex.subscribe();
        let now = Timestamp::now();
        ex.observe(&marker("a", &now.to_string(), 60), now);
        ex.observe(&marker("b", &now.to_string(), 60), now);
        ex.forget("a", now);
        ex.replace_all(&[marker("c", &now.to_string(), 60)], now);
        assert_eq!(ex.excluded(), vec!["c".to_string()]);
        assert_eq!(
            drain(&mut rx),
            vec![
                Transition::Excluded("a".into()),
                Transition::Excluded("b".into()),
                Transition::Resumed("a".into()),
                Transition::Excluded("c".into()),
                Transition::Resumed("b".into()),
            ]
        );
    }
}
