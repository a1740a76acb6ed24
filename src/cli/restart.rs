//! `dynamoctl restart GRAPH`: requests a restart of a live graph by giving `spec.restart` a
//! fresh id (server-side apply, with its own field manager so it never fights `apply` over
//! the rest of the spec), then optionally follows it like `apply --wait`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use kube::ResourceExt;
use serde_json::json;

use super::apply::{Reconcilers, reconcile_once, unmanaged_namespaces, wait_ready};
use super::clock::now;
use super::cluster_args::{ClusterArgs, parse_duration};
use super::operator_config::OperatorConfigArgs;
use crate::api::DynamoGraphDeployment;
use crate::api::consts::{API_VERSION, FIELD_MANAGER_RESTART, NAMESPACE_SCOPE_LEASE};
use crate::api::v1alpha1::{Restart, RestartStrategy, RestartStrategyType};
use crate::cluster::{Applier, ApplyMode, ObjectRef, Resolver, connect};
use crate::controller::Reconciler;
use crate::error::Error;
use crate::render::RenderOptions;

/// How the services restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Strategy {
    /// One service at a time, in `--order` (default: names sorted); the next starts once the
    /// previous is available again.
    Sequential,
    /// Every service at once.
    Parallel,
}

/// Arguments of `dynamoctl restart`.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// The DynamoGraphDeployment to restart.
    #[arg(value_name = "GRAPH")]
    pub graph: String,
    /// Connection flags.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Restart strategy (default: Sequential).
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Service names in restart order, comma-separated, every service once (Sequential only).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub order: Vec<String>,
    /// The restart id (default: the current time); a new id is what requests a restart.
    #[arg(long)]
    pub id: Option<String>,
    /// Also run the controller's reconcile from here, for clusters where no operator runs.
    #[arg(long)]
    pub reconcile: bool,
    /// The operator configuration `--reconcile` renders with.
    #[command(flatten)]
    pub operator_config: OperatorConfigArgs,
    /// Wait until the restart completed and the graph is Ready again.
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Requests the restart; with `--wait` follows it. Nothing is written when the graph does not
/// exist or the strategy does not fit it.
pub async fn run(args: RestartArgs) -> Result<ExitCode, Error> {
    let (client, default_ns, server) = connect(&args.cluster.options("restart")).await?;
    let applier = Applier {
        resolver: Resolver::new(client, &server).await?,
        default_namespace: default_ns.clone(),
    };
    let g = ObjectRef {
        api_version: API_VERSION.into(),
        kind: "DynamoGraphDeployment".into(),
        namespace: Some(default_ns.clone()),
        name: args.graph.clone(),
    };
    let live = applier.get(&g).await?.ok_or_else(|| {
        Error::Usage(format!(
            "DynamoGraphDeployment {default_ns}/{} not found: check the name and --namespace (dynamoctl status lists the graphs)",
            args.graph
        ))
    })?;
    let dgd: DynamoGraphDeployment =
        serde_json::from_value(live).map_err(|e| Error::Usage(format!("cannot read {g}: {e}")))?;
    let restart = request(&dgd, &args)?;
    let id = restart.id.clone();

    // Read before writing: a broken configuration must stop the request, not follow it.
    let options = if args.reconcile {
        Reconcilers::options(&applier, std::slice::from_ref(&g), &args.operator_config).await?
    } else {
        Default::default()
    };

    let body = json!({
        "apiVersion": API_VERSION,
        "kind": "DynamoGraphDeployment",
        "metadata": { "name": args.graph, "namespace": default_ns },
        "spec": { "restart": restart },
    });
    let mode = ApplyMode {
        field_manager: FIELD_MANAGER_RESTART.into(),
        // The user asked for this restart: take `spec.restart` over from whoever set it last.
        force: true,
        dry_run: false,
    };
    applier.apply(&body, &mode).await?;
    println!(
        "dynamographdeployment.nvidia.com/{} restart {id} requested",
        args.graph
    );

    let mut reconcilers = Reconcilers {
        options,
        any: Reconciler::new(applier, RenderOptions::default()),
    };
    if args.reconcile {
        reconcile_once(reconcilers.of(&g), &g).await?;
    } else if !unmanaged_namespaces(&reconcilers.any, std::slice::from_ref(&g))
        .await?
        .is_empty()
    {
        eprintln!(
            "warning: no operator manages namespace {default_ns} (no live {NAMESPACE_SCOPE_LEASE} Lease there and no live cluster-wide operator): \
             nothing restarts until one runs (dynamoctl install), or use restart --reconcile"
        );
        if args.wait {
            return Ok(ExitCode::from(1));
        }
    }
    if args.wait {
        return wait_ready(
            &mut reconcilers,
            &[g],
            args.reconcile,
            Some(&id),
            args.timeout,
        )
        .await;
    }
    Ok(ExitCode::SUCCESS)
}

/// The `spec.restart` to write: a fresh id, the strategy asked for, checked against the
/// graph's services like a manifest's (`render::restart::check`).
fn request(dgd: &DynamoGraphDeployment, args: &RestartArgs) -> Result<Restart, Error> {
    let current = dgd.spec.restart.as_ref().map(|r| r.id.clone());
    let mut id = args.id.clone().unwrap_or_else(|| now().0.to_string());
    if args.id.is_some() && current.as_deref() == Some(id.as_str()) {
        return Err(Error::Usage(format!(
            "--id {id} is the graph's current restart id, which restarts nothing: pick a new one (or omit --id)"
        )));
    }
    // Two restarts in the same instant still need two ids.
    while current.as_deref() == Some(id.as_str()) {
        id.push('+');
    }
    let strategy_type = args.strategy.map(|s| match s {
        Strategy::Sequential => RestartStrategyType::Sequential,
        Strategy::Parallel => RestartStrategyType::Parallel,
    });
    let order = Some(args.order.clone()).filter(|o| !o.is_empty());
    let strategy = (strategy_type.is_some() || order.is_some()).then_some(RestartStrategy {
        strategy_type,
        order,
    });
    let restart = Restart { id, strategy };
    let mut probe = dgd.clone();
    probe.spec.restart = Some(restart.clone());
    if let Err((path, message)) = crate::render::restart::check(&probe) {
        // Only the order can be at fault: the strategy is one clap already knows.
        let at = path
            .get(4)
            .map(|i| format!(" (entry {})", i.parse::<usize>().map_or(0, |i| i + 1)))
            .unwrap_or_default();
        return Err(Error::Usage(format!(
            "--order{at} {message} (graph {}/{})",
            dgd.namespace().unwrap_or_default(),
            dgd.name_any()
        )));
    }
    Ok(restart)
}
