//! `dynamoctl apply FILE...`: server-side apply in dependency order, optionally reconciling
//! graphs from the CLI and waiting for them to become Ready.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use kube::ResourceExt;
use serde_json::Value;

use super::clock::now;
use super::cluster_args::{ClusterArgs, parse_duration};
use super::operator_config::{ClusterRenderOptions, OperatorConfigArgs};
use super::progress::Progress;
use crate::api::DynamoGraphDeployment;
use crate::api::consts::{FIELD_MANAGER_CLI, NAMESPACE_SCOPE_LEASE};
use crate::cluster::applyset::ApplySet;
use crate::cluster::leases::Operators;
use crate::cluster::{Applier, ApplyMode, ClusterError, ObjectRef, Resolver, connect};
use crate::controller::{GraphOutcome, Reconciler};
use crate::error::Error;
use crate::manifest::Object;
use crate::render::adapter::keep_live_replicas;
use crate::render::{RenderOptions, order};

/// `--dry-run` modes, as kubectl's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Apply for real.
    #[default]
    None,
    /// Send the requests with `dryRun=All`: the server validates and computes, stores nothing.
    Server,
    /// Validate and render locally; print what would be applied; contact no cluster.
    Client,
}

/// Arguments of `dynamoctl apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Files to apply (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// More files, kubectl style.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<PathBuf>,
    /// Connection flags.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Dry run: `server` asks the API server, `client` only validates locally.
    #[arg(long, value_enum, default_value_t = DryRun::None, num_args = 0..=1, default_missing_value = "server")]
    pub dry_run: DryRun,
    /// Take over fields that other field managers own.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Field manager of the applied documents.
    #[arg(long, default_value = FIELD_MANAGER_CLI)]
    pub field_manager: String,
    /// Record the applied documents as the ApplySet whose parent is this Secret (KEP-3659,
    /// compatible with `kubectl apply --applyset`).
    #[arg(long, value_name = "NAME")]
    pub applyset: Option<String>,
    /// Delete members of the --applyset that are no longer in the files.
    #[arg(long, requires = "applyset")]
    pub prune: bool,
    /// Also run the controller's reconcile for each graph from here (children and status),
    /// for clusters where no operator runs.
    #[arg(long)]
    pub reconcile: bool,
    /// The operator configuration `--reconcile` renders with.
    #[command(flatten)]
    pub operator_config: OperatorConfigArgs,
    /// Wait until every graph reports Ready for its current generation.
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Applies the files.
pub async fn run(args: ApplyArgs) -> Result<ExitCode, Error> {
    let files: Vec<PathBuf> = args.files.iter().chain(&args.filenames).cloned().collect();
    let namespace = args
        .cluster
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    // Every graph must render before anything is written: no half-applied graphs.
    let objects =
        super::input::read_and_render(&files, &namespace, &args.operator_config.offline()?)?
            .objects;
    let mut docs: Vec<Value> = objects.iter().map(Object::to_value).collect();
    docs.sort_by_cached_key(order::sort_key);

    if args.dry_run == DryRun::Client {
        for d in &docs {
            println!("{} serverside-applied (dry run)", display_name(d));
        }
        return Ok(ExitCode::SUCCESS);
    }

    let (client, default_ns, server) = connect(&args.cluster.options("apply")).await?;
    let resolver = Resolver::new(client, &server).await?;
    let mut applier = Applier {
        resolver,
        default_namespace: default_ns,
    };
    // Replicas an adapter owns are left as they are (the adapter controller and the planner
    // write them); the file's replicas only seed a new graph or service.
    for doc in docs
        .iter_mut()
        .filter(|d| d["kind"] == "DynamoGraphDeployment")
    {
        let live = applier.get(&ObjectRef::of(doc)).await?;
        keep_live_replicas(doc, live.as_ref());
    }
    let graphs: Vec<ObjectRef> = docs
        .iter()
        .filter(|d| d["kind"] == "DynamoGraphDeployment")
        .map(ObjectRef::of)
        .collect();
    let reconcile_options = if args.reconcile && args.dry_run == DryRun::None {
        Reconcilers::options(&applier, &graphs, &args.operator_config).await?
    } else {
        BTreeMap::new()
    };
    let mode = ApplyMode {
        field_manager: args.field_manager.clone(),
        force: args.force_conflicts,
        dry_run: args.dry_run == DryRun::Server,
    };
    let suffix = if mode.dry_run {
        " (server dry run)"
    } else {
        ""
    };

    let mut union_set: Option<(BTreeSet<String>, BTreeSet<String>)> = None;
    let applyset = args.applyset.as_ref().map(|name| ApplySet {
        name: name.clone(),
        namespace: applier.default_namespace.clone(),
    });
    let mut set_kinds = (BTreeSet::new(), BTreeSet::new());
    if let Some(set) = &applyset {
        let (old_kinds, old_namespaces) = set.load(&applier).await?;
        let mut kinds: BTreeSet<String> = docs.iter().map(ApplySet::group_kind).collect();
        let mut namespaces: BTreeSet<String> = docs
            .iter()
            .filter_map(|d| applier.effective_ref(d).namespace)
            .collect();
        namespaces.insert(set.namespace.clone());
        set_kinds = (kinds.clone(), namespaces.clone());
        // The parent first lists the union, so an interrupted apply leaves nothing untracked.
        kinds.extend(old_kinds);
        namespaces.extend(old_namespaces);
        set.write_parent(&applier, &kinds, &namespaces, &mode)
            .await?;
        docs = docs.iter().map(|d| set.member(d)).collect();
        union_set = Some((kinds, namespaces));
    }

    let mut applied: Vec<String> = Vec::new();
    let (first, rest): (Vec<&Value>, Vec<&Value>) = docs.iter().partition(|d| {
        matches!(
            d["kind"].as_str(),
            Some("Namespace" | "CustomResourceDefinition")
        )
    });
    for (phase, batch) in [first, rest].into_iter().enumerate() {
        for (i, doc) in batch.iter().enumerate() {
            if let Err(error) = applier.apply(doc, &mode).await {
                let not_applied = batch[i..]
                    .iter()
                    .map(|d| ObjectRef::of(d).to_string())
                    .collect();
                return Err(partial(applied, not_applied, error));
            }
            applied.push(ObjectRef::of(doc).to_string());
            println!("{} serverside-applied{suffix}", display_name(doc));
        }
        if phase == 0 && !batch.is_empty() && !mode.dry_run {
            wait_established(&applier, &batch)
                .await
                .map_err(|e| partial(applied.clone(), Vec::new(), e))?;
            applier.resolver.refresh().await?;
        }
    }
    if let (Some(set), Some((kinds, namespaces))) = (&applyset, &union_set) {
        if args.prune {
            let keep: BTreeSet<ObjectRef> = docs.iter().map(|d| applier.effective_ref(d)).collect();
            for r in set
                .stale_members(&applier, kinds, namespaces, &keep)
                .await?
            {
                applier
                    .delete(&r, mode.dry_run)
                    .await
                    .map_err(|e| partial(applied.clone(), Vec::new(), e))?;
                let doc = serde_json::json!({"apiVersion": r.api_version, "kind": r.kind, "metadata": {"name": r.name}});
                println!("{} pruned{suffix}", display_name(&doc));
            }
        }
        set.write_parent(&applier, &set_kinds.0, &set_kinds.1, &mode)
            .await?;
    }
    if mode.dry_run {
        return Ok(ExitCode::SUCCESS);
    }

    let mut reconcilers = Reconcilers {
        options: reconcile_options,
        any: Reconciler::new(applier, RenderOptions::default()),
    };
    if !args.reconcile && !graphs.is_empty() {
        let mut unmanaged = unmanaged_namespaces(&reconcilers.any, &graphs).await?;
        // An operator whose pod just became Ready may still be electing its leader (within
        // one Lease duration): `--wait` gives it that long before giving up.
        let grace_end = Instant::now() + OPERATOR_START_GRACE.min(args.timeout);
        while args.wait && !unmanaged.is_empty() && Instant::now() < grace_end {
            tokio::time::sleep(Duration::from_secs(1)).await;
            unmanaged = unmanaged_namespaces(&reconcilers.any, &graphs).await?;
        }
        for ns in &unmanaged {
            eprintln!(
                "warning: no operator manages namespace {ns}: no live {NAMESPACE_SCOPE_LEASE} Lease there and no live cluster-wide operator; \
                 its graphs will not be deployed until one runs (dynamoctl install), or use apply --reconcile"
            );
        }
        if args.wait && !unmanaged.is_empty() {
            return Ok(ExitCode::from(1));
        }
    }
    if args.reconcile {
        for g in &graphs {
            // Applied as far as it can be; the status says the same (docs/multinode.md).
            if let GraphOutcome::Blocked(m) = reconcile_once(reconcilers.of(g), g).await? {
                eprintln!("warning: {g}: {m}");
            }
        }
    }
    if args.wait && !graphs.is_empty() {
        return wait_ready(
            &mut reconcilers,
            &graphs,
            args.reconcile,
            None,
            args.timeout,
        )
        .await;
    }
    Ok(ExitCode::SUCCESS)
}

/// The reconcile of `apply --reconcile`: each graph renders with the configuration of the
/// operator that manages its namespace (or `--operator-config`), as that operator would.
pub(super) struct Reconcilers {
    /// Render settings by namespace.
    pub(super) options: BTreeMap<String, RenderOptions>,
    /// Reads objects, and reconciles with the options of the graph at hand.
    pub(super) any: Reconciler,
}

impl Reconcilers {
    /// The render settings of each graph namespace, read before anything is written: a
    /// broken configuration must stop the apply, not interrupt it half-way.
    pub(super) async fn options(
        applier: &Applier,
        graphs: &[ObjectRef],
        config: &OperatorConfigArgs,
    ) -> Result<BTreeMap<String, RenderOptions>, Error> {
        let client = applier.resolver.client().clone();
        let mut settings = ClusterRenderOptions::new(config, client, applier.resolver.server())?;
        let mut options = BTreeMap::new();
        for g in graphs {
            let ns = namespace_of(applier, g);
            if !options.contains_key(&ns) {
                options.insert(ns.clone(), settings.for_namespace(&ns).await?);
            }
        }
        Ok(options)
    }

    /// The reconciler, set up for `g`.
    pub(super) fn of(&mut self, g: &ObjectRef) -> &Reconciler {
        let ns = namespace_of(&self.any.applier, g);
        self.any.render = self.options.get(&ns).cloned().unwrap_or_default();
        &self.any
    }
}

fn namespace_of(applier: &Applier, g: &ObjectRef) -> String {
    g.namespace
        .clone()
        .unwrap_or_else(|| applier.default_namespace.clone())
}

/// How long `apply --wait` looks for an operator that is starting: a leader election's
/// Lease duration (15 s), the longest a Ready operator pod goes without claiming.
const OPERATOR_START_GRACE: Duration = Duration::from_secs(15);

/// Namespaces of `graphs` that no live operator manages.
pub(super) async fn unmanaged_namespaces(
    reconciler: &Reconciler,
    graphs: &[ObjectRef],
) -> Result<Vec<String>, Error> {
    let client = reconciler.applier.resolver.client();
    let mut namespaces: Vec<String> = graphs
        .iter()
        .map(|g| namespace_of(&reconciler.applier, g))
        .collect();
    namespaces.sort();
    namespaces.dedup();
    let operators =
        Operators::load_within(client, reconciler.applier.resolver.server(), &namespaces).await?;
    let now = now().0;
    namespaces.retain(|ns| operators.managed_by(ns, now) == "none");
    Ok(namespaces)
}

fn partial(applied: Vec<String>, not_applied: Vec<String>, error: ClusterError) -> Error {
    if applied.is_empty() {
        Error::Cluster(error)
    } else {
        Error::Partial {
            applied,
            not_applied,
            error,
        }
    }
}

/// kubectl's `kind.group/name` form.
fn display_name(doc: &Value) -> String {
    let r = ObjectRef::of(doc);
    let group = r
        .api_version
        .split_once('/')
        .map(|(g, _)| format!(".{g}"))
        .unwrap_or_default();
    format!("{}{group}/{}", r.kind.to_lowercase(), r.name)
}

async fn wait_established(applier: &Applier, batch: &[&Value]) -> Result<(), ClusterError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    for crd in batch
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
    {
        let r = ObjectRef::of(crd);
        loop {
            let live = applier.get(&r).await?;
            let established = live
                .as_ref()
                .and_then(|l| l.pointer("/status/conditions"))
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                });
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(ClusterError::Rejected {
                    object: r.to_string(),
                    code: 0,
                    message: "not Established after 60s".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

async fn live_graph(
    reconciler: &Reconciler,
    g: &ObjectRef,
) -> Result<DynamoGraphDeployment, ClusterError> {
    let live = reconciler
        .applier
        .get(g)
        .await?
        .ok_or_else(|| ClusterError::Rejected {
            object: g.to_string(),
            code: 404,
            message: "disappeared after apply".into(),
        })?;
    serde_json::from_value(live).map_err(|e| ClusterError::Rejected {
        object: g.to_string(),
        code: 0,
        message: e.to_string(),
    })
}

/// One controller pass from the CLI: the graph, each of its components, then the graph's
/// status again (it reads the components' status).
pub(super) async fn reconcile_once(
    reconciler: &Reconciler,
    g: &ObjectRef,
) -> Result<GraphOutcome, Error> {
    let now = now();
    let dgd = live_graph(reconciler, g).await?;
    if let GraphOutcome::Invalid(m) = reconciler.reconcile_graph(&dgd, &now).await? {
        return Ok(GraphOutcome::Invalid(m));
    }
    for key in dgd.spec.services.iter().flatten().map(|(k, _)| k) {
        let r = ObjectRef {
            api_version: crate::api::consts::API_VERSION.into(),
            kind: "DynamoComponentDeployment".into(),
            namespace: dgd.namespace(),
            name: crate::api::v1alpha1::component_name(&dgd.name_any(), key),
        };
        if let Some(live) = reconciler.applier.get(&r).await? {
            let dcd = serde_json::from_value(live).map_err(|e| ClusterError::Rejected {
                object: r.to_string(),
                code: 0,
                message: e.to_string(),
            })?;
            reconciler.reconcile_component(&dcd, &now).await?;
        }
    }
    let dgd = live_graph(reconciler, g).await?;
    Ok(reconciler.reconcile_graph(&dgd, &now).await?)
}

/// Follows the graphs until each is Ready for its current generation (and, with `restart`,
/// has completed the restart of that id), or the timeout.
pub(super) async fn wait_ready(
    reconcilers: &mut Reconcilers,
    graphs: &[ObjectRef],
    reconcile: bool,
    restart: Option<&str>,
    timeout: Duration,
) -> Result<ExitCode, Error> {
    let deadline = Instant::now() + timeout;
    let mut progress = Progress::new();
    loop {
        let mut waiting: Vec<(String, String)> = Vec::new();
        for g in graphs {
            let reconciler = reconcilers.of(g);
            if reconcile && let GraphOutcome::Invalid(m) = reconcile_once(reconciler, g).await? {
                waiting.push((g.to_string(), m));
                continue;
            }
            let dgd = live_graph(reconciler, g).await?;
            progress.show_graph(&dgd);
            let ready = dgd.status.as_ref().is_some_and(|s| {
                s.observed_generation == dgd.metadata.generation
                    && s.conditions
                        .iter()
                        .flatten()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
            });
            if let Some(why) = restart.and_then(|id| restart_pending(&dgd, id)) {
                waiting.push((g.to_string(), why));
            } else if !ready {
                waiting.push((g.to_string(), not_ready_reason(&dgd)));
            }
        }
        if waiting.is_empty() {
            progress.finish();
            for g in graphs {
                println!("{g} is Ready");
            }
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() >= deadline {
            progress.finish();
            eprintln!("error: timed out after {} waiting for:", humanize(timeout));
            for (g, why) in waiting {
                eprintln!("  {g}: {why}");
            }
            return Ok(ExitCode::from(1));
        }
        tokio::time::sleep(Duration::from_millis(500).min(deadline - Instant::now())).await;
    }
}

/// Why the restart `id` of a graph is not finished yet, or `None` once it completed.
fn restart_pending(dgd: &DynamoGraphDeployment, id: &str) -> Option<String> {
    use crate::api::v1alpha1::RestartPhase;
    let restart = dgd.status.as_ref().and_then(|s| s.restart.as_ref());
    let Some(r) = restart.filter(|r| r.observed_id.as_deref() == Some(id)) else {
        return Some(format!(
            "restart {id} not picked up yet: is an operator running? (or use --reconcile)"
        ));
    };
    match r.phase {
        Some(RestartPhase::Completed) => None,
        phase => Some(format!(
            "restart {id}: {}{}",
            phase.map_or("no phase".to_string(), |p| format!("{p:?}")),
            r.in_progress
                .as_ref()
                .map(|l| format!(", restarting {}", l.join(", ")))
                .unwrap_or_default()
        )),
    }
}

fn not_ready_reason(dgd: &DynamoGraphDeployment) -> String {
    let Some(status) = &dgd.status else {
        return "no status yet: is an operator running? (or use --reconcile)".into();
    };
    if status.observed_generation != dgd.metadata.generation {
        return format!(
            "status is for generation {} but the spec is at generation {}",
            status.observed_generation.unwrap_or_default(),
            dgd.metadata.generation.unwrap_or_default()
        );
    }
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .map_or_else(|| "no Ready condition yet".into(), |c| c.message.clone())
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(60) && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}
