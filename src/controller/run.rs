//! `dynamoctl run controller`: both controllers in one process, with health, metrics,
//! per-object backoff and graceful shutdown. Children and status are written only through
//! [`Reconciler`], the same code `apply --reconcile` runs.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams, PartialObjectMeta};
use kube::runtime::controller::{self as runtime_controller, Action, Controller};
use kube::runtime::reflector::{self, Store, reflector};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use tokio::sync::watch;

use super::compact::Compact;
use super::events::{Event, EventType, Recorder, Reporter};
use super::metrics::{Kind, Metrics};
use super::server::{Health, serve};
use super::watches::Watches;
use super::{GraphOutcome, Reconciler};
use crate::api::scaling_adapter::DynamoGraphDeploymentScalingAdapter as Adapter;
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use crate::cluster::{Applier, ClusterError, Resolver};
use crate::render::RenderOptions;

/// Reconciles in flight per controller. A pass reads only caches, so it is short and mostly
/// CPU: more in flight would not converge faster on a few cores, and each holds a rendered
/// graph (at 100 graphs, 64 in flight peaked at 56 MiB against 36 MiB with 8).
const CONCURRENCY: u16 = 16;
/// How long a graph's triggers are gathered before its pass runs: each of its components'
/// status updates moves the graph's status, so one pass per burst writes it once or twice
/// instead of at every step (at 100 graphs, debouncing both controllers took converging from
/// 30.1 to 24.7 writes per graph and from 14.3 s to 8.0 s, most of it the graph's status).
/// Components are not debounced: a hand-edited child is put back at once, and a change
/// reaches the workloads after one delay, not two.
const DEBOUNCE: Duration = Duration::from_secs(1);

/// How the operator runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Namespace-scoped mode: watch and manage only this namespace.
    pub restricted_namespace: Option<String>,
    /// This process's identity in Leases and Events (pod name + suffix).
    pub instance: String,
    /// Where `/healthz` and `/readyz` are served.
    pub health_addr: SocketAddr,
    /// Where `/metrics` is served.
    pub metrics_addr: SocketAddr,
    /// Every graph and component is reconciled again after this long without a trigger.
    pub resync: Duration,
    /// Render settings.
    pub render: RenderOptions,
}

/// Why the operator stopped unexpectedly.
#[derive(Debug)]
pub enum RunError {
    /// A startup check failed: CRDs missing, no permission to list or watch.
    Startup(String),
    /// A port could not be bound.
    Bind(String),
    /// The operator lost a claim (marker, leadership) it needs to write safely.
    Lost(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Startup(m) | RunError::Bind(m) | RunError::Lost(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RunError {}

/// What every reconcile shares.
struct Context {
    reconciler: Reconciler,
    metrics: Arc<Metrics>,
    recorder: Recorder,
    resync: Duration,
    /// Consecutive failures per object, for exponential backoff (kube-runtime has none).
    failures: Mutex<HashMap<String, u32>>,
    /// Whether this process may write to a namespace (hybrid exclusion, claims held).
    may_write: Box<dyn Fn(&str) -> bool + Send + Sync>,
    /// The scaling adapters in scope; `None` when their CRD is not installed.
    adapters: Option<Store<Adapter>>,
}

impl Context {
    fn backoff(&self, key: String) -> Duration {
        let mut failures = self.failures.lock().expect("backoff lock");
        let n = failures.entry(key).or_insert(0);
        *n = (*n + 1).min(10);
        (Duration::from_millis(500) * 2u32.pow(*n - 1)).min(Duration::from_secs(300))
    }

    fn succeeded(&self, key: &str) {
        self.failures.lock().expect("backoff lock").remove(key);
    }
}

/// The typed object of a pass, parsed from the kept one.
fn typed<K>(kept: &Compact<K>) -> Result<K, ClusterError>
where
    K: Resource<DynamicType = ()> + serde::de::DeserializeOwned,
{
    kept.object().map_err(|e| ClusterError::Rejected {
        object: key(kept),
        code: 500,
        message: format!("the operator's cached copy does not parse: {e}"),
    })
}

fn key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// A watched, cached kind whose cached copies are trimmed ([`super::cache::trim_metadata`]):
/// with `managedFields` a 1,000-graph run held 143 MiB.
fn cached_trimmed<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (
    Store<K>,
    impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector(
        writer,
        watcher(api, config)
            .modify(|o| super::cache::trim_metadata(o.meta_mut()))
            .default_backoff(),
    )
    .applied_objects();
    (reader, stream)
}

/// Checks, before any watch starts, that the CRDs are served and this identity may list
/// graphs in its scope, with errors that say what to do.
pub async fn startup_checks(client: &Client, namespace: Option<&str>) -> Result<(), RunError> {
    let graphs: Api<DynamoGraphDeployment> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    match graphs.list(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(RunError::Startup(
            "the DynamoGraphDeployment CRD is not installed: run `dynamoctl apply crds/` or `dynamoctl install` first".into(),
        )),
        Err(kube::Error::Api(s)) if s.code == 403 => Err(RunError::Startup(format!(
            "not allowed to list DynamoGraphDeployments{}: {} (check the operator's RBAC)",
            namespace.map(|n| format!(" in {n}")).unwrap_or_default(),
            s.message
        ))),
        Err(e) => Err(RunError::Startup(format!("cannot reach the API server: {e}"))),
    }
}

/// What the process around the controllers provides: probes, metrics, and the write gate.
pub struct Hooks {
    /// Probe state; set ready once the controllers run.
    pub health: Arc<Health>,
    /// Metrics to update.
    pub metrics: Arc<Metrics>,
    /// Whether this process may write to a namespace now (claims held, not excluded).
    pub may_write: Box<dyn Fn(&str) -> bool + Send + Sync>,
}

/// How long a graph pass waits for the first listing of scaling adapters.
const ADAPTERS_LISTED: Duration = Duration::from_secs(10);
/// How soon a graph waiting for a missing prerequisite (MPI secret, Kai queue) is looked at
/// again.
const BLOCKED_RETRY: Duration = Duration::from_secs(30);

/// How long reconciles in flight may take to finish after a stop.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Runs both controllers until `shutdown` resolves (Ok) or they stop on their own (Err).
/// Every item of `resume` re-enqueues every graph (a namespace came back to this operator).
pub async fn run(
    client: Client,
    server: &str,
    cfg: Config,
    hooks: Hooks,
    resume: impl futures::Stream<Item = ()> + Send + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let Hooks {
        health,
        metrics,
        may_write,
    } = hooks;
    startup_checks(&client, cfg.restricted_namespace.as_deref()).await?;
    let resolver = Resolver::new(client.clone(), server)
        .await
        .map_err(|e| RunError::Startup(e.to_string()))?;
    let default_namespace = cfg
        .restricted_namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    // Adapters are watched only where their CRD is served: an older install without it keeps
    // working, without adapters.
    let adapter_probe = crate::cluster::ObjectRef {
        api_version: crate::api::consts::API_VERSION.into(),
        kind: "DynamoGraphDeploymentScalingAdapter".into(),
        namespace: None,
        name: String::new(),
    };
    let (adapter_store, adapter_stream) = if resolver.resolve(&adapter_probe).is_some() {
        let api: Api<Adapter> = match &cfg.restricted_namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let (reader, writer) = reflector::store();
        // Deletions too (`touched_objects`): a deleted adapter is recreated by its graph.
        let stream = reflector(
            writer,
            watcher(api, watcher::Config::default().any_semantic())
                .modify(|o| super::cache::trim_metadata(o.meta_mut()))
                .default_backoff(),
        )
        .touched_objects();
        (Some(reader), Some(stream))
    } else {
        tracing::warn!(
            "scaling adapters are off: the DynamoGraphDeploymentScalingAdapter CRD is not installed (run `dynamoctl apply crds/` or `dynamoctl install`)"
        );
        (None, None)
    };
    let wc = || watcher::Config::default().any_semantic();
    let Watches {
        caches,
        components,
        graph_triggers,
        component_triggers,
        driver: _driver,
    } = Watches::start(&client, cfg.restricted_namespace.as_deref(), &cfg.render);
    let caches = Arc::new(caches);

    let reporter = Reporter {
        controller: "dynamoctl-controller".into(),
        instance: Some(cfg.instance.clone()),
    };
    // One recorder per process, so its series cache deduplicates repeated Events.
    let recorder = Recorder::new(client.clone(), reporter);
    let ctx = Arc::new(Context {
        reconciler: Reconciler {
            writes: metrics.writes.clone(),
            events: Some(recorder.clone()),
            caches: Some(caches.clone()),
            ..Reconciler::new(
                Applier {
                    resolver,
                    default_namespace,
                },
                cfg.render.clone(),
            )
        },
        metrics: metrics.clone(),
        recorder,
        resync: cfg.resync,
        failures: Mutex::default(),
        may_write,
        adapters: adapter_store,
    });

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let graphs: Api<Compact<DynamoGraphDeployment>> = match &cfg.restricted_namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    // The components' cache drives the component controller; the graph controller is
    // triggered by a metadata-only watch of them (a stream feeds one controller only).
    let component_meta: Api<PartialObjectMeta<DynamoComponentDeployment>> =
        match &cfg.restricted_namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };

    let (known_graphs, graph_stream) = cached_trimmed(graphs, wc());
    let graph_controller = Controller::for_stream(graph_stream, known_graphs.clone());
    let graph_metrics = metrics.clone();
    let mut graph_controller = graph_controller
        .owns(component_meta, wc())
        .reconcile_on(graph_triggers);
    // An adapter's change (a new replica count, a deletion) is its graph's to act on.
    if let Some(stream) = adapter_stream {
        graph_controller = graph_controller.watches_stream(stream, |a: Adapter| {
            let ns = a.namespace().unwrap_or_default();
            Some(reflector::ObjectRef::new(&a.spec.dgd_ref.name).within(&ns))
        });
    }
    let graph_controller = graph_controller
        .reconcile_all_on(resume)
        .with_config(
            runtime_controller::Config::default()
                .concurrency(CONCURRENCY)
                .debounce(DEBOUNCE),
        )
        .graceful_shutdown_on(stopped())
        .run(reconcile_graph, graph_error_policy, ctx.clone())
        .for_each(move |r| {
            graph_metrics
                .managed_graphs
                .store(known_graphs.len() as u64, Ordering::Relaxed);
            async move {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "graph controller");
                }
            }
        });
    let (component_cache, component_events) = components;
    let component_controller = Controller::for_stream(
        component_events.applied_objects(),
        component_cache.store().expect("components are kept typed"),
    )
    .reconcile_on(component_triggers)
    .with_config(runtime_controller::Config::default().concurrency(CONCURRENCY))
    .graceful_shutdown_on(stopped())
    .run(reconcile_component, component_error_policy, ctx.clone())
    .for_each(|r| async move {
        if let Err(e) = r {
            tracing::debug!(error = %e, "component controller");
        }
    });

    let model_controller = models(&client, &ctx, &cfg, stopped());

    health.ready.store(true, Ordering::Relaxed);
    tracing::info!(
        mode = cfg
            .restricted_namespace
            .as_deref()
            .unwrap_or("cluster-wide"),
        "controllers started"
    );
    let controllers = async {
        tokio::join!(graph_controller, component_controller, model_controller);
    };
    tokio::pin!(controllers);
    tokio::select! {
        _ = shutdown => {
            tracing::info!("shutting down");
            let _ = stop_tx.send(true);
            // Reconciles in flight finish, but not forever: one stuck on an unreachable API
            // server must not keep the process (and its claims) alive.
            if tokio::time::timeout(DRAIN_DEADLINE, controllers).await.is_err() {
                tracing::warn!("reconciles still running after {DRAIN_DEADLINE:?}; stopping without them");
            }
            Ok(())
        }
        _ = &mut controllers => Err(RunError::Lost("the controllers stopped unexpectedly".into())),
    }
}

/// The DynamoModel controller (`controller::model`), where its CRD is served; it writes
/// under the same gate as the graphs.
fn models<S: Future<Output = ()> + Send + Sync + 'static>(
    client: &Client,
    ctx: &Arc<Context>,
    cfg: &Config,
    stop: S,
) -> impl Future<Output = ()> + use<S> {
    let probe = crate::cluster::ObjectRef {
        api_version: crate::api::consts::API_VERSION.into(),
        kind: "DynamoModel".into(),
        namespace: None,
        name: String::new(),
    };
    let served = ctx.reconciler.applier.resolver.resolve(&probe).is_some();
    if !served {
        tracing::warn!(
            "DynamoModels are off: the DynamoModel CRD is not installed (run `dynamoctl apply crds/` or `dynamoctl install`)"
        );
    }
    let gate = ctx.clone();
    let config = super::model::ModelConfig {
        namespace: cfg.restricted_namespace.clone(),
        may_write: Arc::new(move |ns: &str| (gate.may_write)(ns)),
        recorder: ctx.recorder.clone(),
        retry: cfg.resync.min(BLOCKED_RETRY),
    };
    let client = client.clone();
    async move {
        if served {
            super::model::run(client, config, stop).await;
        }
    }
}

async fn reconcile_graph(
    kept: Arc<Compact<DynamoGraphDeployment>>,
    ctx: Arc<Context>,
) -> Result<Action, ClusterError> {
    let dgd = typed(&kept)?;
    let ns = dgd.namespace().unwrap_or_default();
    tracing::debug!(graph = %key(&dgd), may_write = (ctx.may_write)(&ns), "reconcile");
    if (ctx.may_write)(&ns) && ctx.reconciler.release_upstream_finalizer(&dgd).await? {
        // Taken over from upstream's operator; the next event brings the updated graph.
        return Ok(Action::await_change());
    }
    if !(ctx.may_write)(&ns) || dgd.meta().deletion_timestamp.is_some() {
        // Garbage collection removes the children of a deleted graph; an excluded namespace
        // belongs to its namespace-scoped operator until its marker expires.
        return Ok(Action::await_change());
    }
    if let Some(caches) = &ctx.reconciler.caches {
        caches.wait_ready().await?;
    }
    let start = Instant::now();
    let result = match sync_adapters(&dgd, &ctx).await {
        Ok(dgd) => ctx.reconciler.reconcile_graph(&dgd, &now()).await,
        Err(e) => Err(e),
    };
    ctx.metrics
        .observe(Kind::Graph, start.elapsed(), result.is_err());
    if let Err(e) = &result {
        publish(
            &ctx,
            &dgd,
            EventType::Warning,
            "ReconcileFailed",
            &e.to_string(),
        )
        .await;
    }
    match result? {
        GraphOutcome::Invalid(message) => {
            publish(&ctx, &dgd, EventType::Warning, "ValidationFailed", &message).await;
            // Retrying cannot help until the spec changes.
            Ok(Action::await_change())
        }
        GraphOutcome::Blocked(message) => {
            publish(
                &ctx,
                &dgd,
                EventType::Warning,
                "PrerequisiteMissing",
                &message,
            )
            .await;
            // Nothing announces the missing object's arrival (it is not watched): look again
            // soon.
            Ok(Action::requeue(ctx.resync.min(BLOCKED_RETRY)))
        }
        _ => {
            ctx.succeeded(&key(&dgd));
            Ok(Action::requeue(ctx.resync))
        }
    }
}

/// The adapter step of a graph's pass (`controller::adapter`); returns the graph with the
/// adapters' replicas written back.
async fn sync_adapters(
    dgd: &DynamoGraphDeployment,
    ctx: &Context,
) -> Result<DynamoGraphDeployment, ClusterError> {
    let Some(store) = &ctx.adapters else {
        return Ok(dgd.clone());
    };
    // Before the first listing every adapter would look missing. A listing that never comes
    // (no permission for adapters: an install whose RBAC predates them) must not hold every
    // graph back: the pass goes on without its adapter step.
    match tokio::time::timeout(ADAPTERS_LISTED, store.wait_until_ready()).await {
        Ok(Ok(())) => {}
        _ => {
            tracing::warn!(graph = %key(dgd), "scaling adapters not listed yet (check the operator's RBAC for dynamographdeploymentscalingadapters); skipping them this pass");
            return Ok(dgd.clone());
        }
    }
    let (ns, name) = (dgd.namespace(), dgd.name_any());
    let live: Vec<Adapter> = store
        .state()
        .iter()
        .filter(|a| a.namespace() == ns && a.spec.dgd_ref.name == name)
        .map(|a| (**a).clone())
        .collect();
    let (graph, changes) = ctx.reconciler.sync_adapters(dgd, &live, &now()).await?;
    ctx.reconciler
        .record(&dgd.object_ref(&()), "ScalingAdapters", &changes)
        .await;
    Ok(graph)
}

fn graph_error_policy(
    dgd: Arc<Compact<DynamoGraphDeployment>>,
    error: &ClusterError,
    ctx: Arc<Context>,
) -> Action {
    let delay = ctx.backoff(key(dgd.as_ref()));
    tracing::warn!(graph = %key(dgd.as_ref()), %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn reconcile_component(
    kept: Arc<Compact<DynamoComponentDeployment>>,
    ctx: Arc<Context>,
) -> Result<Action, ClusterError> {
    let dcd = typed(&kept)?;
    let ns = dcd.namespace().unwrap_or_default();
    if (ctx.may_write)(&ns) && ctx.reconciler.take_over_component(&dcd).await? {
        // Taken over from upstream's operator; the next event brings the updated component.
        return Ok(Action::await_change());
    }
    if !(ctx.may_write)(&ns) || dcd.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    if let Some(caches) = &ctx.reconciler.caches {
        caches.wait_ready().await?;
    }
    let start = Instant::now();
    let result = ctx.reconciler.reconcile_component(&dcd, &now()).await;
    ctx.metrics
        .observe(Kind::Component, start.elapsed(), result.is_err());
    if let Err(e) = &result {
        publish(
            &ctx,
            &dcd,
            EventType::Warning,
            "ReconcileFailed",
            &e.to_string(),
        )
        .await;
    }
    result?;
    ctx.succeeded(&key(&dcd));
    Ok(Action::requeue(ctx.resync))
}

fn component_error_policy(
    dcd: Arc<Compact<DynamoComponentDeployment>>,
    error: &ClusterError,
    ctx: Arc<Context>,
) -> Action {
    let delay = ctx.backoff(key(dcd.as_ref()));
    tracing::warn!(component = %key(dcd.as_ref()), %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    type_: EventType,
    reason: &str,
    note: &str,
) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note.chars().take(1000).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::warn!(error = %e, "cannot publish event");
    }
}

/// Binds the health and metrics endpoints.
pub async fn serve_endpoints(
    cfg: &Config,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
) -> Result<(SocketAddr, SocketAddr), RunError> {
    let bind = |what: &str, addr: SocketAddr, e: std::io::Error| {
        RunError::Bind(format!("cannot serve {what} on {addr}: {e}"))
    };
    let h = serve(cfg.health_addr, health.clone(), metrics.clone())
        .await
        .map_err(|e| bind("health probes", cfg.health_addr, e))?;
    let m = if cfg.metrics_addr == cfg.health_addr {
        h
    } else {
        serve(cfg.metrics_addr, health, metrics)
            .await
            .map_err(|e| bind("metrics", cfg.metrics_addr, e))?
    };
    Ok((h, m))
}
