//! The whole operator process: leader election, then the mode's claim (the namespace-scope
//! marker, or hybrid-mode exclusions), then the controllers, with writes gated on every claim
//! and a clean release of each on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use kube::Client;
use tokio::sync::watch;

use super::exclusion::{self, Exclusions, Transition};
use super::leader::{self, LeaderConfig};
use super::marker::{self, MarkerConfig};
use super::metrics::Metrics;
use super::run::{self, Config, Hooks, RunError};
use super::server::Health;

/// Leader election settings; `None` runs without election (a single replica).
#[derive(Clone, Debug)]
pub struct Election {
    /// Lease name (`--leader-election-id`).
    pub id: String,
    /// Lease namespace.
    pub namespace: String,
    /// How long a claim lasts without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps leading without a successful renewal.
    pub renew_deadline: Duration,
    /// How often the leader renews and standbys look.
    pub retry_period: Duration,
}

/// Everything `dynamoctl run controller` decides from its flags.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// Controllers' settings (mode, addresses, resync, instance).
    pub controllers: Config,
    /// `--operator-version`, recorded in the marker.
    pub operator_version: String,
    /// Marker lease duration.
    pub lease_duration: Duration,
    /// Marker renew interval.
    pub lease_renew_interval: Duration,
    /// Leader election, if on.
    pub election: Option<Election>,
}

/// A resolving-once stop signal that many tasks can wait on.
#[derive(Clone)]
struct Stop(watch::Receiver<bool>);

impl Stop {
    fn wait(&self) -> impl Future<Output = ()> + Send + Sync + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }
}

/// Runs the operator until `shutdown` (Ok, every claim released) or until a claim it needs to
/// write safely is lost (Err: the caller exits non-zero; Kubernetes restarts it as a standby).
pub async fn run_operator(
    client: Client,
    server: &str,
    cfg: OperatorConfig,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = Stop(stop_rx);
    let signal_tx = stop_tx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = signal_tx.send(true);
    });
    let instance = cfg.controllers.instance.clone();

    // 1. Leadership: standbys are Ready but do not start the controllers.
    let (leader_tx, mut leader_rx) = watch::channel(cfg.election.is_none());
    // Without election the sender must live as long as the controllers: a closed channel
    // would read as lost leadership and stop them at once.
    let mut _idle_leader_tx = None;
    let mut leader_task = match cfg.election.as_ref() {
        Some(e) => {
            let lc = LeaderConfig {
                name: e.id.clone(),
                lease_duration: e.lease_duration,
                renew_deadline: e.renew_deadline,
                retry_period: e.retry_period,
                ..LeaderConfig::new(&e.namespace, &instance)
            };
            Some(tokio::spawn(leader::elect(
                client.clone(),
                lc,
                leader_tx,
                stop.wait(),
            )))
        }
        None => {
            _idle_leader_tx = Some(leader_tx);
            None
        }
    };
    health.ready.store(true, Ordering::Relaxed);
    let election_ended = async {
        match leader_task.as_mut() {
            Some(task) => task.await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = leader_rx.wait_for(|l| *l) => {}
        ended = election_ended => {
            return Err(RunError::Lost(format!("leader election: {}", ended_reason(ended))));
        }
        _ = stop.wait() => return finish(leader_task, None).await,
    }
    tracing::info!(%instance, "leading");

    // 2. The mode's claim.
    let (holding_tx, holding_rx) = watch::channel(cfg.controllers.restricted_namespace.is_none());
    let exclusions = Exclusions::new();
    let mut marker_task = None;
    if let Some(ns) = &cfg.controllers.restricted_namespace {
        let mc = MarkerConfig {
            duration: cfg.lease_duration,
            renew_interval: cfg.lease_renew_interval,
            ..MarkerConfig::new(ns, &cfg.operator_version, &instance)
        };
        let mut task = tokio::spawn(marker::hold_marker(
            client.clone(),
            mc,
            holding_tx,
            stop.wait(),
        ));
        let mut holding = holding_rx.clone();
        tokio::select! {
            _ = holding.wait_for(|h| *h) => {}
            ended = &mut task => {
                let _ = stop_tx.send(true);
                let _ = finish(leader_task, None).await;
                return Err(RunError::Lost(format!("namespace-scope marker: {}", ended_reason(ended))));
            }
            _ = stop.wait() => return finish(leader_task, Some(task)).await,
        }
        marker_task = Some(task);
        tracing::info!(namespace = %ns, "holding the namespace-scope marker");
    } else {
        tokio::spawn(exclusion::run(
            client.clone(),
            exclusions.clone(),
            stop.wait(),
        ));
        // Until the markers are listed, every namespace might be claimed: write nowhere yet.
        tokio::select! {
            _ = exclusions.synced() => {}
            _ = stop.wait() => return finish(leader_task, None).await,
        }
    }

    // 3. Controllers, writing only while every claim holds.
    let gate = {
        let (leader, holding, exclusions) =
            (leader_rx.clone(), holding_rx.clone(), exclusions.clone());
        move |ns: &str| *leader.borrow() && *holding.borrow() && !exclusions.is_excluded(ns)
    };
    let resume = resumptions(&exclusions, metrics.clone());
    let lost = {
        let (mut leader, mut holding) = (leader_rx.clone(), holding_rx.clone());
        async move {
            tokio::select! {
                _ = leader.wait_for(|l| !*l) => "leadership",
                _ = holding.wait_for(|h| !*h) => "the namespace-scope marker",
            }
        }
    };
    let (lost_tx, lost_rx) = watch::channel(None::<&'static str>);
    let controller_stop = {
        let stop = stop.clone();
        let mut lost_rx = lost_rx.clone();
        async move {
            tokio::select! {
                _ = stop.wait() => {}
                _ = lost_rx.wait_for(|l| l.is_some()) => {}
            }
        }
    };
    tokio::spawn(async move {
        let what = lost.await;
        let _ = lost_tx.send(Some(what));
    });
    let hooks = Hooks {
        health,
        metrics,
        may_write: Box::new(gate),
    };
    let result = run::run(
        client,
        server,
        cfg.controllers.clone(),
        hooks,
        resume,
        controller_stop,
    )
    .await;
    // Releasing the claims on a requested stop also turns them false: that is no loss.
    let stopping = *stop.0.borrow();
    let lost = if stopping { None } else { *lost_rx.borrow() };
    if let Some(what) = lost {
        let _ = stop_tx.send(true);
        let _ = finish(leader_task, marker_task).await;
        return Err(RunError::Lost(format!(
            "lost {what}: stopped writing; exiting so a restart can wait for it safely"
        )));
    }
    let _ = stop_tx.send(true);
    result?;
    finish(leader_task, marker_task).await
}

/// Every namespace that comes back from a namespace-scoped operator re-enqueues the graphs
/// (only that namespace's graphs then do any work); keeps the excluded-namespaces gauge.
fn resumptions(
    exclusions: &Exclusions,
    metrics: Arc<Metrics>,
) -> impl futures::Stream<Item = ()> + Send + 'static {
    let rx = exclusions.subscribe();
    let exclusions = exclusions.clone();
    futures::stream::unfold((rx, exclusions, metrics), |(mut rx, exclusions, metrics)| async move {
        loop {
            let transition = rx.recv().await;
            metrics.excluded_namespaces.store(exclusions.excluded().len() as u64, Ordering::Relaxed);
            match transition {
                Ok(Transition::Resumed(ns)) => {
                    tracing::info!(namespace = %ns, "resuming cluster-wide management");
                    return Some(((), (rx, exclusions, metrics)));
                }
                Ok(Transition::Excluded(ns)) => tracing::info!(namespace = %ns, "excluded: a namespace-scoped operator holds it"),
                // Missed transitions: re-enqueue everything to be safe.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return Some(((), (rx, exclusions, metrics))),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .boxed()
}

fn ended_reason<E: std::fmt::Display>(
    ended: Result<Result<(), E>, tokio::task::JoinError>,
) -> String {
    match ended {
        Ok(Ok(())) => "stopped".to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("task failed: {e}"),
    }
}

/// Waits (bounded) for the claims' tasks to release what they hold.
async fn finish(
    leader_task: Option<tokio::task::JoinHandle<Result<(), leader::LeaderError>>>,
    marker_task: Option<tokio::task::JoinHandle<Result<(), marker::MarkerError>>>,
) -> Result<(), RunError> {
    let limit = Duration::from_secs(10);
    if let Some(t) = marker_task {
        match tokio::time::timeout(limit, t).await {
            Ok(Ok(Err(e))) => return Err(RunError::Lost(format!("namespace-scope marker: {e}"))),
            Err(_) => tracing::warn!("the marker was not released in time; its TTL will end it"),
            _ => {}
        }
    }
    if let Some(t) = leader_task {
        match tokio::time::timeout(limit, t).await {
            Ok(Ok(Err(e))) => return Err(RunError::Lost(format!("leader election: {e}"))),
            Err(_) => tracing::warn!("the leader Lease was not released in time"),
            _ => {}
        }
    }
    Ok(())
}
