//! Leader election on a Lease (`--leader-elect`), with client-go's rules, so only one replica
//! of the operator writes.
//!
//! # Timing rules
//!
//! Three settings, client-go's defaults and validation
//! (`lease_duration > renew_deadline > 1.2 × retry_period`):
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `lease_duration` | 15 s | `leaseDurationSeconds`: how long a standby waits after the last renewal it saw before taking over |
//! | `renew_deadline` | 10 s | how long the leader goes on leading after the start of its last successful renewal |
//! | `retry_period` | 2 s | how often the leader renews and a standby looks |
//!
//! - **Acquiring.** A missing Lease is created. A Lease with no holder (released) is taken at
//!   once. Another holder's Lease is taken only when *both* have passed: its `renewTime +
//!   leaseDurationSeconds` (the server-side record) *and* `leaseDurationSeconds` since this
//!   standby last saw the record change, by its own monotonic clock (client-go's
//!   `observedTime` rule, which needs no clock synchronisation). A standby looks every
//!   `retry_period`, and also exactly when that expiry falls, so it takes over promptly. Every
//!   takeover is an update preconditioned on the resourceVersion it read: of several
//!   standbys exactly one wins; a new holder sets `acquireTime`, `renewTime` and increments
//!   `leaseTransitions`.
//! - **Leading.** The leader renews every `retry_period` (an update of the Lease it last wrote,
//!   preconditioned on its resourceVersion; a conflict means someone else wrote it, and it
//!   re-reads). A renewal started at local instant `t0` keeps it leader until
//!   `t0 + renew_deadline`. If no renewal succeeds by then, `is_leader` turns false at that
//!   instant and [`elect`] returns [`LeaderError::Lost`] (the process exits and restarts as a
//!   standby, as controller-runtime does). Every request is bounded by that instant.
//! - **Releasing.** On graceful shutdown `is_leader` turns false first, then the Lease is
//!   written with no holder and `leaseDurationSeconds: 1` (client-go's ReleaseOnCancel), so a
//!   standby takes over at its next look instead of after the lease duration.
//!
//! # Why no two leaders write at once
//!
//! The leader's successful renewal started at real time `t0` and wrote `renewTime = t0`; no
//! other candidate can have seen that write before `t0`. A standby takes over no earlier than
//! `lease_duration` after it saw the last change, i.e. no earlier than `t0 + lease_duration`
//! in real time, whatever the clocks say (the observed-time rule), and also not before
//! `renewTime + leaseDurationSeconds` by its clock. The old leader stopped at
//! `t0 + renew_deadline`, which is `lease_duration - renew_deadline` (5 s by default) earlier.
//! That margin covers writes the old leader had in flight when it stopped (keep API request
//! timeouts below it) and clock *rate* drift between machines; clock *offsets* do not matter.
//! The only assumption is that a process is not paused for longer than the margin between
//! checking `is_leader` and sending a write, which is also client-go's assumption (there is no
//! fencing token in the Lease API), so controller writes must stay idempotent.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

use super::marker::{instant_of, lease_expiry, sleep_until_opt};
use crate::cluster::leases::LEADER_ELECTION_LEASE;

/// How long a graceful release may take before we leave the lease to expire.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Failed renewals of the leader election Lease in this process (for the
/// `dynamoctl_lease_renew_failures_total` metric). Failures before it is first held are not
/// renewals and are not counted.
pub static RENEW_FAILURES: AtomicU64 = AtomicU64::new(0);

/// Settings of the election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderConfig {
    /// `--leader-election-namespace`.
    pub namespace: String,
    /// `--leader-election-id`: the Lease name (default [`LEADER_ELECTION_LEASE`]).
    pub name: String,
    /// This replica's identity, written as `holderIdentity` (pod name + random suffix).
    pub identity: String,
    /// `leaseDurationSeconds` (15 s), rounded up to whole seconds in the Lease.
    pub lease_duration: Duration,
    /// How long the leader leads after the start of its last successful renewal (10 s).
    pub renew_deadline: Duration,
    /// Renewal and retry cadence (2 s).
    pub retry_period: Duration,
}

impl LeaderConfig {
    /// client-go's defaults: 15 s / 10 s / 2 s, Lease `dynamo.nvidia.com`.
    pub fn new(namespace: &str, identity: &str) -> LeaderConfig {
        LeaderConfig {
            namespace: namespace.to_string(),
            name: LEADER_ELECTION_LEASE.to_string(),
            identity: identity.to_string(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// client-go's validation: lease duration > renew deadline > 1.2 × retry period > 0.
    pub fn validate(&self) -> Result<(), LeaderError> {
        let bad = |m: String| Err(LeaderError::Config(m));
        if self.namespace.is_empty() || self.name.is_empty() || self.identity.is_empty() {
            return bad("namespace, lease name and identity must not be empty".into());
        }
        if self.retry_period.is_zero() {
            return bad("the retry period must be greater than zero".into());
        }
        if self.renew_deadline <= self.retry_period.mul_f64(1.2) {
            return bad(format!(
                "the renew deadline ({:?}) must be greater than 1.2 × the retry period ({:?})",
                self.renew_deadline, self.retry_period
            ));
        }
        if self.lease_duration <= self.renew_deadline {
            return bad(format!(
                "the lease duration ({:?}) must be greater than the renew deadline ({:?})",
                self.lease_duration, self.renew_deadline
            ));
        }
        if self.lease_duration.as_secs() > i32::MAX as u64 {
            return bad(format!(
                "lease duration {:?} is too long",
                self.lease_duration
            ));
        }
        Ok(())
    }

    fn duration_seconds(&self) -> i32 {
        let d = self.lease_duration;
        let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        i32::try_from(secs).unwrap_or(i32::MAX)
    }
}

/// Why [`elect`] stopped without a graceful shutdown.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The configuration is unusable.
    #[error("invalid leader election configuration: {0}")]
    Config(String),
    /// We led and can no longer be sure we do.
    #[error("lost leadership of Lease {namespace}/{name}: {reason}")]
    Lost {
        /// Namespace of the Lease.
        namespace: String,
        /// Name of the Lease.
        name: String,
        /// What happened.
        reason: String,
    },
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

fn holder(l: &Lease) -> &str {
    l.spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        .unwrap_or("")
}

/// `lease` held by us at `now`; a new holder sets acquireTime and counts a transition.
fn claim(cfg: &LeaderConfig, mut lease: Lease, now: Timestamp) -> Lease {
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    let new_holder = spec.holder_identity.as_deref() != Some(cfg.identity.as_str());
    spec.holder_identity = Some(cfg.identity.clone());
    spec.lease_duration_seconds = Some(cfg.duration_seconds());
    spec.renew_time = Some(MicroTime(now));
    if new_holder || spec.acquire_time.is_none() {
        spec.acquire_time = Some(MicroTime(now));
    }
    if new_holder {
        spec.lease_transitions = Some(spec.lease_transitions.map_or(0, |t| t.saturating_add(1)));
    }
    lease
}

/// What one look at the Lease concluded.
enum Step {
    /// We hold it, as written at the look's start.
    Leading(Box<Lease>),
    /// Someone else holds it; look again at this instant at the latest.
    Standby(Instant),
    /// The request failed.
    Failed(String),
}

struct Elector {
    api: Api<Lease>,
    cfg: LeaderConfig,
    /// The record last seen and when it was first seen (client-go's observedTime).
    observed: Option<(String, Instant)>,
}

impl Elector {
    async fn look(&mut self, ours: Option<&Lease>) -> Step {
        let pp = PostParams::default();
        if let Some(l) = ours {
            match self
                .api
                .replace(
                    &self.cfg.name,
                    &pp,
                    &claim(&self.cfg, l.clone(), Timestamp::now()),
                )
                .await
            {
                Ok(l) => return Step::Leading(Box::new(l)),
                Err(e) if matches!(code(&e), Some(404 | 409)) => {
                    warn!(lease = %self.cfg.name, "the leader election Lease was changed or deleted by someone else; re-reading it");
                }
                Err(e) => return Step::Failed(format!("renewing: {e}")),
            }
        }
        let current = match self.api.get_opt(&self.cfg.name).await {
            Ok(c) => c,
            Err(e) => return Step::Failed(format!("reading the Lease: {e}")),
        };
        let now = Timestamp::now();
        let write = match current {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.cfg.name.clone()),
                        namespace: Some(self.cfg.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: None,
                };
                self.api.create(&pp, &claim(&self.cfg, lease, now)).await
            }
            Some(l) => {
                let current_holder = holder(&l).to_string();
                let rv = l.resource_version().unwrap_or_default();
                if self.observed.as_ref().is_none_or(|(seen, _)| *seen != rv) {
                    self.observed = Some((rv, Instant::now()));
                }
                if !current_holder.is_empty() && current_holder != self.cfg.identity {
                    let secs = l
                        .spec
                        .as_ref()
                        .and_then(|s| s.lease_duration_seconds)
                        .unwrap_or(0)
                        .max(0);
                    let seen = self
                        .observed
                        .as_ref()
                        .map_or_else(Instant::now, |(_, t)| *t);
                    let by_observation = seen + Duration::from_secs(secs as u64);
                    let by_record = lease_expiry(&l).map_or_else(Instant::now, instant_of);
                    let expiry = by_observation.max(by_record);
                    if Instant::now() < expiry {
                        return Step::Standby(expiry.min(Instant::now() + self.cfg.retry_period));
                    }
                    info!(lease = %self.cfg.name, previous = %current_holder, "the leader stopped renewing; taking over");
                }
                self.api
                    .replace(&self.cfg.name, &pp, &claim(&self.cfg, l, now))
                    .await
            }
        };
        match write {
            Ok(l) => Step::Leading(Box::new(l)),
            Err(e) if matches!(code(&e), Some(409)) => {
                Step::Failed(format!("another candidate wrote the Lease first: {e}"))
            }
            Err(e) => Step::Failed(format!("writing the Lease: {e}")),
        }
    }

    /// Writes the Lease with no holder (client-go's release), if it is still ours.
    async fn release(&self, mut known: Option<Lease>) {
        for _ in 0..3 {
            let lease = match known.take() {
                Some(l) => l,
                None => match self.api.get_opt(&self.cfg.name).await {
                    Ok(Some(l)) => l,
                    _ => return,
                },
            };
            if holder(&lease) != self.cfg.identity {
                return;
            }
            let mut released = lease;
            let now = Timestamp::now();
            let spec = released.spec.get_or_insert_with(LeaseSpec::default);
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(MicroTime(now));
            spec.acquire_time = Some(MicroTime(now));
            match self
                .api
                .replace(&self.cfg.name, &PostParams::default(), &released)
                .await
            {
                Ok(_) => {
                    info!(lease = %self.cfg.name, "released leadership");
                    return;
                }
                Err(e) if code(&e) == Some(409) => continue,
                Err(e) => {
                    warn!(lease = %self.cfg.name, "cannot release the leader election Lease ({e}); it expires by itself");
                    return;
                }
            }
        }
    }
}

/// Runs for leadership of `cfg.name` in `cfg.namespace` until `shutdown` completes (then
/// releases the Lease if held and returns `Ok`) or leadership is lost (returns `Err`; the
/// caller must stop writing and exit). `is_leader` is true exactly while this replica may
/// write; see the module docs for the timing rules and why they are safe.
pub async fn elect(
    client: Client,
    cfg: LeaderConfig,
    is_leader: watch::Sender<bool>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), LeaderError> {
    cfg.validate()?;
    let set = |v: bool| {
        is_leader.send_if_modified(|h| std::mem::replace(h, v) != v);
    };
    set(false);
    let mut elector = Elector {
        api: Api::namespaced(client, &cfg.namespace),
        cfg,
        observed: None,
    };
    tokio::pin!(shutdown);
    // The Lease we last wrote and the instant until which we lead.
    let mut leading: Option<(Lease, Instant)> = None;
    let mut last_error = String::new();
    loop {
        let started = Instant::now();
        let deadline = leading.as_ref().map(|(_, d)| *d);
        let known = leading.as_ref().map(|(l, _)| l.clone());
        let step = tokio::select! {
            s = elector.look(known.as_ref()) => Some(s),
            () = sleep_until_opt(deadline) => None,
            () = &mut shutdown => {
                set(false);
                // Even when nothing was held yet: a create or takeover may have been in flight.
                // The release re-reads and removes only what carries our identity.
                let _ = tokio::time::timeout(RELEASE_TIMEOUT, elector.release(None)).await;
                return Ok(());
            }
        };
        let cfg = &elector.cfg;
        let next = match step {
            Some(Step::Leading(l)) => {
                if leading.is_none() {
                    info!(lease = %cfg.name, identity = %cfg.identity, "became leader");
                }
                leading = Some((*l, started + cfg.renew_deadline));
                set(true);
                started + cfg.retry_period
            }
            Some(Step::Standby(until)) => {
                if leading.is_some() {
                    set(false);
                    return Err(LeaderError::Lost {
                        namespace: cfg.namespace.clone(),
                        name: cfg.name.clone(),
                        reason: "another replica holds the Lease".into(),
                    });
                }
                until
            }
            Some(Step::Failed(e)) => {
                warn!(lease = %cfg.name, "leader election: {e}; retrying");
                if leading.is_some() {
                    RENEW_FAILURES.fetch_add(1, Ordering::Relaxed);
                }
                last_error = e;
                Instant::now() + cfg.retry_period
            }
            None => Instant::now(),
        };
        if let Some((_, deadline)) = &leading
            && Instant::now() >= *deadline
        {
            set(false);
            return Err(LeaderError::Lost {
                namespace: cfg.namespace.clone(),
                name: cfg.name.clone(),
                reason: format!(
                    "no successful renewal within the renew deadline {:?} (last error: {})",
                    cfg.renew_deadline,
                    if last_error.is_empty() {
                        "a request did not finish in time"
                    } else {
                        &last_error
                    }
                ),
            });
        }
        let deadline = leading.as_ref().map(|(_, d)| *d);
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = sleep_until_opt(deadline) => {}
            () = &mut shutdown => {
                set(false);
                if let Some((l, _)) = leading.take() {
                    let _ = tokio::time::timeout(RELEASE_TIMEOUT, elector.release(Some(l))).await;
                }
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_is_client_gos() {
        let cfg = LeaderConfig::new("kube-system", "pod-0-abcd");
        assert!(cfg.validate().is_ok());
        assert_eq!(cfg.name, "dynamo.nvidia.com");
        let mut c = cfg.clone();
        c.renew_deadline = c.lease_duration;
        assert!(c.validate().is_err());
        c = cfg.clone();
        c.retry_period = Duration::from_millis(8_400);
        assert!(
            c.validate().is_err(),
            "renew deadline must exceed 1.2 × retry"
        );
        c = cfg.clone();
        c.retry_period = Duration::ZERO;
        assert!(c.validate().is_err());
    }

    #[test]
    fn claims_keep_acquire_time_and_count_transitions() {
        let cfg = LeaderConfig::new("ns", "me");
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t1: Timestamp = "2026-01-01T00:00:02Z".parse().unwrap();
        let theirs = Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: Some("other".into()),
                lease_transitions: Some(3),
                acquire_time: Some(MicroTime(t0)),
                ..LeaseSpec::default()
            }),
        };
        let taken = claim(&cfg, theirs, t0);
        let s = taken.spec.clone().unwrap();
        assert_eq!(
            (s.lease_transitions, s.lease_duration_seconds),
            (Some(4), Some(15))
        );
        let renewed = claim(&cfg, taken, t1).spec.unwrap();
        assert_eq!(renewed.lease_transitions, Some(4));
        assert_eq!(renewed.acquire_time, Some(MicroTime(t0)));
        assert_eq!(renewed.renew_time, Some(MicroTime(t1)));
    }
}
