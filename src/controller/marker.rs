//! The namespace-scoped operator's marker Lease, `dynamo-operator-namespace-scope`: while it
//! is live, a cluster-wide operator leaves the namespace alone (see [`super::exclusion`]).
//!
//! The marker says who holds it in two places:
//!
//! - `spec.holderIdentity = namespace-restricted-operator-<version>`, exactly what upstream
//!   writes and what `kubectl get lease ... -o jsonpath='{.spec.holderIdentity}'` shows;
//! - the annotation [`INSTANCE_ANNOTATION`] = this process's instance (pod name + random
//!   suffix), because two operators of the same version would otherwise be indistinguishable
//!   and share or steal one marker (upstream #11475).
//!
//! # Protocol and timing
//!
//! - **First write**: `acquireTime` *and* `renewTime` are set on create (upstream leaves
//!   `renewTime` empty, so a cluster-wide operator ignores a new marker until the first
//!   renewal).
//! - **Someone else's live marker** (another instance, `renewTime + leaseDurationSeconds` in
//!   the future): with `standby` we wait until exactly that expiry and look again; without it
//!   we fail with [`MarkerError::HeldByAnother`]. An expired or holderless marker is taken
//!   over with an update preconditioned on its resourceVersion, so of several standbys exactly
//!   one wins.
//! - **Renewal** every `renew_interval`: an update of the Lease we last wrote, preconditioned
//!   on its resourceVersion. A 409 means someone else touched it: we re-read and decide (still
//!   ours: renew; deleted: re-create; someone else's live claim: we lost it, fatal). A 404
//!   means it was deleted: re-created. After a failed renewal we retry every
//!   `renew_interval / 4`.
//! - **Giving up**: a renewal started at local instant `t0` writes `renewTime = t0`, so the
//!   marker stays live until `t0 + duration`. We consider ourselves holding only until
//!   `t0 + (duration + renew_interval) / 2`: halfway between the first missed renewal and the
//!   earliest expiry. Half of that slack goes to retries, the other half is a margin for
//!   writes still in flight and clock skew. At that instant `holding` turns false (the
//!   controller stops writing) and [`hold_marker`] returns [`MarkerError::Lost`] (the process
//!   exits non-zero), *before* a cluster-wide operator can resume. With the defaults (30 s,
//!   10 s) that is 20 s after the last successful renewal, the same as upstream's
//!   "two failures" rule. Every request is bounded by that instant.
//! - **Graceful shutdown**: `holding` turns false first, then the marker is deleted with
//!   uid + resourceVersion preconditions, and only if the instance annotation is still ours,
//!   so the cluster-wide operator resumes at once instead of after the TTL.
//!
//! Expiry is judged by the Lease's own timestamps (`renewTime + leaseDurationSeconds`), the
//! rule the cluster-wide operator and `dynamoctl leases` use: clocks must be NTP-synchronised
//! to within the margin above.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams, Preconditions};
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::api::consts::NAMESPACE_SCOPE_LEASE;

/// Annotation on the marker naming the operator instance (pod name + random suffix) that
/// holds it.
pub const INSTANCE_ANNOTATION: &str = "nvidia.com/dynamo-operator-instance";

/// Prefix of the marker's `spec.holderIdentity`; the operator version follows.
pub const HOLDER_PREFIX: &str = "namespace-restricted-operator-";

/// How long a graceful release may take before we give up and leave the TTL to it.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Failed renewals of the namespace-scope marker in this process (for the
/// `dynamoctl_lease_renew_failures_total` metric). Failures before it is first held are not
/// renewals and are not counted.
pub static RENEW_FAILURES: AtomicU64 = AtomicU64::new(0);

/// Settings of the marker a namespace-scoped operator holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerConfig {
    /// The restricted namespace, where the marker lives.
    pub namespace: String,
    /// `--operator-version`; the holder identity is `namespace-restricted-operator-<version>`.
    pub operator_version: String,
    /// This process: pod name + random suffix (see [`instance_id`]).
    pub instance: String,
    /// `--namespace-scope-lease-duration` (30 s upstream): `leaseDurationSeconds`, rounded up
    /// to whole seconds.
    pub duration: Duration,
    /// `--namespace-scope-lease-renew-interval` (10 s upstream).
    pub renew_interval: Duration,
    /// Whether to wait for another instance's live marker to expire (true) or fail (false).
    pub standby: bool,
}

impl MarkerConfig {
    /// Upstream's defaults (30 s duration, 10 s renewal), standing by.
    pub fn new(namespace: &str, operator_version: &str, instance: &str) -> MarkerConfig {
        MarkerConfig {
            namespace: namespace.to_string(),
            operator_version: operator_version.to_string(),
            instance: instance.to_string(),
            duration: Duration::from_secs(30),
            renew_interval: Duration::from_secs(10),
            standby: true,
        }
    }

    /// Checks what upstream checks (both durations > 0, renewal < duration), and that the
    /// names are usable.
    pub fn validate(&self) -> Result<(), MarkerError> {
        let bad = |m: String| Err(MarkerError::Config(m));
        if self.namespace.is_empty() {
            return bad("the namespace is empty".into());
        }
        if self.instance.is_empty() {
            return bad("the instance identity is empty".into());
        }
        if self.duration.is_zero() || self.renew_interval.is_zero() {
            return bad(format!(
                "lease duration ({:?}) and renew interval ({:?}) must be greater than zero",
                self.duration, self.renew_interval
            ));
        }
        if self.renew_interval >= self.duration {
            return bad(format!(
                "renew interval ({:?}) must be shorter than the lease duration ({:?})",
                self.renew_interval, self.duration
            ));
        }
        if self.duration.as_secs() > i32::MAX as u64 {
            return bad(format!("lease duration {:?} is too long", self.duration));
        }
        Ok(())
    }

    /// `namespace-restricted-operator-<version>`.
    pub fn holder_identity(&self) -> String {
        format!("{HOLDER_PREFIX}{}", self.operator_version)
    }

    /// How long after the start of a successful write we still consider the marker ours:
    /// halfway between the first missed renewal and the earliest expiry.
    pub fn hold_window(&self) -> Duration {
        (self.duration + self.renew_interval) / 2
    }

    /// Pause before retrying a failed request.
    fn retry_period(&self) -> Duration {
        (self.renew_interval / 4).max(Duration::from_millis(50))
    }

    fn duration_seconds(&self) -> i32 {
        let secs = self.duration.as_secs() + u64::from(self.duration.subsec_nanos() > 0);
        i32::try_from(secs).unwrap_or(i32::MAX)
    }
}

/// Why [`hold_marker`] stopped without a graceful shutdown.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    /// The configuration is unusable.
    #[error("invalid namespace-scope lease configuration: {0}")]
    Config(String),
    /// Another instance holds a live marker and standby is off.
    #[error(
        "namespace {namespace} already has a namespace-scoped operator: the marker Lease {NAMESPACE_SCOPE_LEASE} is held by {holder} (instance {instance}) until {expires}; stop that operator or enable standby to wait for it"
    )]
    HeldByAnother {
        /// The namespace.
        namespace: String,
        /// Its `holderIdentity`.
        holder: String,
        /// Its instance annotation (`<none>` when absent).
        instance: String,
        /// When its claim ends.
        expires: Timestamp,
    },
    /// We held the marker and can no longer be sure we do: stop writing and exit.
    #[error(
        "lost the namespace-scope marker in {namespace}: {reason}; stopping so that two operators never manage one namespace"
    )]
    Lost {
        /// The namespace.
        namespace: String,
        /// What happened.
        reason: String,
    },
}

/// A fresh instance identity: `<pod>-<8 random hex digits>`, so two processes never share one
/// even with the same pod name (a restarted container, a test).
pub fn instance_id(pod: &str) -> String {
    let mut bytes = [0u8; 4];
    // SystemRandom only fails when the OS has no entropy source; the time is then a fallback
    // that is still different per process start.
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        bytes = Timestamp::now().subsec_nanosecond().to_be_bytes();
    }
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{pod}-{suffix}")
}

/// When a Lease's holder's claim ends by the Lease's own timestamps: renewTime +
/// leaseDurationSeconds. `None` when there is no holder or either field is missing: such a
/// Lease claims nothing (the rule of `crate::cluster::leases::LeaseInfo::is_live`).
pub fn lease_expiry(lease: &Lease) -> Option<Timestamp> {
    let spec = lease.spec.as_ref()?;
    if spec.holder_identity.as_deref().unwrap_or("").is_empty() {
        return None;
    }
    let renew = spec.renew_time.as_ref()?.0;
    let secs = spec.lease_duration_seconds?;
    renew
        .checked_add(SignedDuration::from_secs(i64::from(secs)))
        .ok()
}

/// Whether `lease` is claimed at `now`.
pub fn lease_is_live(lease: &Lease, now: Timestamp) -> bool {
    lease_expiry(lease).is_some_and(|e| now < e)
}

/// The instance annotation of a marker, if any.
pub fn lease_instance(lease: &Lease) -> Option<&str> {
    lease
        .metadata
        .annotations
        .as_ref()?
        .get(INSTANCE_ANNOTATION)
        .map(String::as_str)
}

/// The local instant at which a server timestamp is reached (now when already past).
pub(crate) fn instant_of(t: Timestamp) -> Instant {
    let until = t.duration_since(Timestamp::now());
    Instant::now() + Duration::try_from(until).unwrap_or(Duration::ZERO)
}

/// What to do about the marker as it is now.
#[derive(Debug)]
enum Decision {
    /// There is none: create it.
    Create,
    /// It is ours: renew it.
    Renew(Lease),
    /// Someone else's, expired or released: take it over.
    TakeOver(Lease),
    /// Someone else's live claim.
    Busy(Lease),
}

fn decide(cfg: &MarkerConfig, current: Option<Lease>, now: Timestamp) -> Decision {
    match current {
        None => Decision::Create,
        Some(l) if lease_instance(&l) == Some(cfg.instance.as_str()) => Decision::Renew(l),
        Some(l) if lease_is_live(&l, now) => Decision::Busy(l),
        Some(l) => Decision::TakeOver(l),
    }
}

/// `lease` claimed by us at `now`; a new holder also sets acquireTime and counts a transition.
fn claim(cfg: &MarkerConfig, mut lease: Lease, now: Timestamp, new_holder: bool) -> Lease {
    lease
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(INSTANCE_ANNOTATION.to_string(), cfg.instance.clone());
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    spec.holder_identity = Some(cfg.holder_identity());
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

fn fresh(cfg: &MarkerConfig, now: Timestamp) -> Lease {
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some(NAMESPACE_SCOPE_LEASE.to_string()),
            namespace: Some(cfg.namespace.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec::default()),
    };
    claim(cfg, lease, now, true)
}

fn describe(l: &Lease) -> (String, String) {
    (
        l.spec
            .as_ref()
            .and_then(|s| s.holder_identity.clone())
            .unwrap_or_else(|| "<none>".into()),
        lease_instance(l).unwrap_or("<none>").to_string(),
    )
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Outcome of one attempt to create, renew or take over the marker.
enum Step {
    /// Written at the attempt's start instant.
    Held(Lease),
    /// Another instance's live claim.
    Busy(Lease),
    /// Failed; try again later.
    Failed(String),
}

struct Marker {
    api: Api<Lease>,
    cfg: MarkerConfig,
}

impl Marker {
    /// One attempt, starting from what we believe the marker is (`known`: the Lease we last
    /// wrote) or from a fresh read.
    async fn attempt(&self, known: Option<&Lease>) -> Step {
        let now = Timestamp::now();
        let pp = PostParams::default();
        // Renewing what we last wrote saves a read; the resourceVersion precondition makes it
        // exactly as safe as get-then-update.
        if let Some(l) = known {
            match self
                .api
                .replace(
                    NAMESPACE_SCOPE_LEASE,
                    &pp,
                    &claim(&self.cfg, l.clone(), now, false),
                )
                .await
            {
                Ok(l) => return Step::Held(l),
                Err(e) if code(&e) == Some(404) => {
                    warn!(namespace = %self.cfg.namespace, "the namespace-scope marker was deleted by someone else; re-creating it");
                }
                Err(e) if code(&e) == Some(409) => {
                    warn!(namespace = %self.cfg.namespace, "the namespace-scope marker was changed by someone else; re-reading it");
                }
                Err(e) => return Step::Failed(format!("renewing the marker: {e}")),
            }
        }
        let current = match self.api.get_opt(NAMESPACE_SCOPE_LEASE).await {
            Ok(c) => c,
            Err(e) => return Step::Failed(format!("reading the marker: {e}")),
        };
        let now = Timestamp::now();
        let result = match decide(&self.cfg, current, now) {
            Decision::Create => self.api.create(&pp, &fresh(&self.cfg, now)).await,
            Decision::Renew(l) => {
                self.api
                    .replace(NAMESPACE_SCOPE_LEASE, &pp, &claim(&self.cfg, l, now, false))
                    .await
            }
            Decision::TakeOver(l) => {
                let (holder, instance) = describe(&l);
                let why = match lease_expiry(&l) {
                    Some(t) => format!("it expired at {t}"),
                    None => "it has no holder or no renewTime".to_string(),
                };
                info!(namespace = %self.cfg.namespace, %holder, %instance, "taking over the namespace-scope marker of another instance: {why}");
                self.api
                    .replace(NAMESPACE_SCOPE_LEASE, &pp, &claim(&self.cfg, l, now, true))
                    .await
            }
            Decision::Busy(l) => return Step::Busy(l),
        };
        match result {
            Ok(l) => Step::Held(l),
            // Someone created or changed it between our read and write: decide again soon.
            Err(e) if matches!(code(&e), Some(409)) => {
                Step::Failed(format!("the marker changed while we wrote it: {e}"))
            }
            Err(e) => Step::Failed(format!("writing the marker: {e}")),
        }
    }

    /// Deletes the marker if it is still ours, with uid + resourceVersion preconditions.
    async fn release(&self, mut known: Option<Lease>) {
        for _ in 0..3 {
            let lease = match known.take() {
                Some(l) => l,
                None => match self.api.get_opt(NAMESPACE_SCOPE_LEASE).await {
                    Ok(Some(l)) => l,
                    Ok(None) => return,
                    Err(e) => {
                        warn!(namespace = %self.cfg.namespace, "cannot read the marker to release it ({e}); it expires by itself");
                        return;
                    }
                },
            };
            if lease_instance(&lease) != Some(self.cfg.instance.as_str()) {
                info!(namespace = %self.cfg.namespace, "the marker is no longer ours; leaving it");
                return;
            }
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: lease.uid(),
                    resource_version: lease.resource_version(),
                }),
                ..DeleteParams::default()
            };
            match self.api.delete(NAMESPACE_SCOPE_LEASE, &dp).await {
                Ok(_) => {
                    info!(namespace = %self.cfg.namespace, "released the namespace-scope marker");
                    return;
                }
                Err(e) if code(&e) == Some(404) => return,
                Err(e) if code(&e) == Some(409) => continue,
                Err(e) => {
                    warn!(namespace = %self.cfg.namespace, "cannot delete the marker ({e}); it expires by itself");
                    return;
                }
            }
        }
    }
}

/// Holds the namespace-scope marker until `shutdown` completes (then deletes it if still ours
/// and returns `Ok`) or the marker is lost (returns `Err`; the caller must stop writing and
/// exit non-zero). `holding` is true exactly while this process holds a live marker: the
/// controller gates its writes on it. Failures before the marker is first held are retried
/// (the API server may be starting); see the module docs for the timing.
pub async fn hold_marker(
    client: Client,
    cfg: MarkerConfig,
    holding: watch::Sender<bool>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), MarkerError> {
    cfg.validate()?;
    let set = |v: bool| {
        holding.send_if_modified(|h| std::mem::replace(h, v) != v);
    };
    set(false);
    let marker = Marker {
        api: Api::namespaced(client, &cfg.namespace),
        cfg,
    };
    let cfg = &marker.cfg;
    tokio::pin!(shutdown);
    // The Lease we last wrote and the local instant until which it is surely ours.
    let mut held: Option<(Lease, Instant)> = None;
    // The last other holder we announced standing by for, so the log says it once.
    let mut waiting_for: Option<(String, String)> = None;
    let mut last_error = String::new();
    loop {
        let started = Instant::now();
        let deadline = held.as_ref().map(|(_, d)| *d);
        let attempt = marker.attempt(held.as_ref().map(|(l, _)| l));
        let step = tokio::select! {
            s = attempt => Some(s),
            () = sleep_until_opt(deadline) => None,
            () = &mut shutdown => {
                set(false);
                // Even when nothing was held yet: a create or takeover may have been in flight.
                // The release re-reads and removes only what carries our identity.
                let _ = tokio::time::timeout(RELEASE_TIMEOUT, marker.release(None)).await;
                return Ok(());
            }
        };
        let next = match step {
            Some(Step::Held(l)) => {
                if held.is_none() {
                    info!(namespace = %cfg.namespace, instance = %cfg.instance, "holding the namespace-scope marker");
                }
                held = Some((l, started + cfg.hold_window()));
                waiting_for = None;
                set(true);
                started + cfg.renew_interval
            }
            Some(Step::Busy(l)) => {
                let (holder, instance) = describe(&l);
                let expires = lease_expiry(&l).unwrap_or_else(Timestamp::now);
                if held.is_some() {
                    set(false);
                    return Err(MarkerError::Lost {
                        namespace: cfg.namespace.clone(),
                        reason: format!(
                            "{holder} (instance {instance}) holds it now, until {expires}"
                        ),
                    });
                }
                if !cfg.standby {
                    return Err(MarkerError::HeldByAnother {
                        namespace: cfg.namespace.clone(),
                        holder,
                        instance,
                        expires,
                    });
                }
                if waiting_for.as_ref() != Some(&(holder.clone(), instance.clone())) {
                    info!(namespace = %cfg.namespace, %holder, %instance, %expires, "another operator instance holds the namespace-scope marker; standing by until it expires");
                    waiting_for = Some((holder, instance));
                }
                // Look again exactly at its expiry (it may have been renewed by then), and no
                // later than one renew interval from now.
                instant_of(expires).min(Instant::now() + cfg.renew_interval)
            }
            Some(Step::Failed(e)) => {
                warn!(namespace = %cfg.namespace, "namespace-scope marker: {e}; retrying");
                if held.is_some() {
                    RENEW_FAILURES.fetch_add(1, Ordering::Relaxed);
                }
                last_error = e;
                Instant::now() + cfg.retry_period()
            }
            None => Instant::now(),
        };
        if let Some((_, deadline)) = &held
            && Instant::now() >= *deadline
        {
            set(false);
            return Err(MarkerError::Lost {
                namespace: cfg.namespace.clone(),
                reason: format!(
                    "no successful renewal for {:?} (last error: {})",
                    cfg.hold_window(),
                    if last_error.is_empty() {
                        "a request did not finish in time"
                    } else {
                        &last_error
                    }
                ),
            });
        }
        let deadline = held.as_ref().map(|(_, d)| *d);
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = sleep_until_opt(deadline) => {}
            () = &mut shutdown => {
                set(false);
                if let Some((l, _)) = held.take() {
                    let _ = tokio::time::timeout(RELEASE_TIMEOUT, marker.release(Some(l))).await;
                }
                return Ok(());
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
pub(crate) async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> MarkerConfig {
        MarkerConfig::new("team-b", "v2.0.0", "pod-0-abcd")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn validation_matches_upstream() {
        assert!(cfg().validate().is_ok());
        let mut c = cfg();
        c.renew_interval = Duration::ZERO;
        assert!(c.validate().is_err());
        c = cfg();
        c.renew_interval = c.duration;
        assert!(matches!(c.validate(), Err(MarkerError::Config(_))));
        c = cfg();
        c.duration = Duration::ZERO;
        assert!(c.validate().is_err());
    }

    #[test]
    fn hold_window_is_halfway_between_first_missed_renewal_and_expiry() {
        assert_eq!(cfg().hold_window(), Duration::from_secs(20));
        let mut c = cfg();
        c.renew_interval = Duration::from_secs(25);
        assert_eq!(c.hold_window(), Duration::from_millis(27_500));
        assert!(c.hold_window() > c.renew_interval && c.hold_window() < c.duration);
    }

    #[test]
    fn a_fresh_marker_has_renew_time_and_the_exact_holder() {
        let now = at("2026-01-01T00:00:00Z");
        let l = fresh(&cfg(), now);
        let spec = l.spec.as_ref().unwrap();
        assert_eq!(
            spec.holder_identity.as_deref(),
            Some("namespace-restricted-operator-v2.0.0")
        );
        assert_eq!(spec.renew_time, Some(MicroTime(now)));
        assert_eq!(spec.acquire_time, Some(MicroTime(now)));
        assert_eq!(spec.lease_duration_seconds, Some(30));
        assert_eq!(lease_instance(&l), Some("pod-0-abcd"));
        assert_eq!(lease_expiry(&l), Some(at("2026-01-01T00:00:30Z")));
    }

    #[test]
    fn decisions() {
        let now = at("2026-01-01T00:00:10Z");
        let ours = fresh(&cfg(), at("2026-01-01T00:00:00Z"));
        assert!(matches!(decide(&cfg(), None, now), Decision::Create));
        assert!(matches!(
            decide(&cfg(), Some(ours.clone()), now),
            Decision::Renew(_)
        ));
        let mut other = cfg();
        other.instance = "pod-1-ffff".into();
        let theirs = fresh(&other, at("2026-01-01T00:00:00Z"));
        assert!(matches!(
            decide(&cfg(), Some(theirs.clone()), now),
            Decision::Busy(_)
        ));
        assert!(matches!(
            decide(&cfg(), Some(theirs), at("2026-01-01T00:00:30Z")),
            Decision::TakeOver(_)
        ));
    }

    #[test]
    fn renewals_keep_acquire_time_and_takeovers_count_transitions() {
        let t0 = at("2026-01-01T00:00:00Z");
        let t1 = at("2026-01-01T00:00:10Z");
        let renewed = claim(&cfg(), fresh(&cfg(), t0), t1, false);
        let spec = renewed.spec.as_ref().unwrap();
        assert_eq!(spec.acquire_time, Some(MicroTime(t0)));
        assert_eq!(spec.renew_time, Some(MicroTime(t1)));
        assert_eq!(spec.lease_transitions, Some(0));
        let taken = claim(&cfg(), renewed, t1, true);
        assert_eq!(taken.spec.unwrap().lease_transitions, Some(1));
    }

    #[test]
    fn instance_ids_differ() {
        let a = instance_id("pod-0");
        let b = instance_id("pod-0");
        assert!(a.starts_with("pod-0-") && a.len() == "pod-0-".len() + 8);
        assert_ne!(a, b);
    }
}
