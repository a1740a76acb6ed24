//! `dynamoctl run controller`: the operator itself, as the Deployment runs it.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::cluster_args::{ClusterArgs, parse_duration};
use crate::cluster::connect;
use crate::controller::marker;
use crate::controller::metrics::Metrics;
use crate::controller::operator::{Election, OperatorConfig, run_operator};
use crate::controller::run::{self as controller, Config};
use crate::controller::server::Health;
use crate::error::Error;
use crate::render::RenderOptions;

/// What to run.
#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments.
    Controller(ControllerArgs),
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Flags of `dynamoctl run controller`, named after upstream's manager flags.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Connection flags (in a pod: the in-cluster service account).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Namespace-scoped mode: manage only this namespace and hold its marker Lease.
    #[arg(long, value_name = "NAMESPACE")]
    pub restricted_namespace: Option<String>,
    /// How long the namespace-scope marker stays valid without renewal.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub namespace_scope_lease_duration: Duration,
    /// How often the marker is renewed.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub namespace_scope_lease_renew_interval: Duration,
    /// Version recorded in the marker's holderIdentity.
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    pub operator_version: String,
    /// Elect a leader among replicas; only the leader reconciles. On by default, so a second
    /// replica (or a rollout's surge pod) is safe; `--leader-elect=false` turns it off.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = crate::cluster::leases::LEADER_ELECTION_LEASE)]
    pub leader_election_id: String,
    /// Namespace of the leader-election Lease (default: the restricted namespace, else
    /// $POD_NAMESPACE, else kube-system).
    #[arg(long)]
    pub leader_election_namespace: Option<String>,
    /// How long a leader's claim lasts without renewal (client-go's LeaseDuration).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,
    /// How long a leader keeps leading without a successful renewal (RenewDeadline).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_election_renew_deadline: Duration,
    /// How often the leader renews and standbys look (RetryPeriod).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,
    /// Address of /healthz and /readyz.
    #[arg(long, default_value = ":8081", value_parser = parse_addr)]
    pub health_probe_bind_address: SocketAddr,
    /// Address of /metrics.
    #[arg(long, default_value = ":8080", value_parser = parse_addr)]
    pub metrics_bind_address: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Reconcile everything again after this long without a change.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub resync: Duration,
}

/// `:8080` (all interfaces) or `host:port`.
fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.parse()
        .map_err(|_| format!("invalid address {text:?}: use :PORT or HOST:PORT"))
}

/// Runs the subcommand.
pub async fn run(cmd: RunCommand) -> Result<ExitCode, Error> {
    let RunCommand::Controller(args) = cmd;
    init_logging(args.log_format);
    if args.namespace_scope_lease_renew_interval >= args.namespace_scope_lease_duration {
        return Err(Error::Usage(
            "--namespace-scope-lease-renew-interval must be shorter than --namespace-scope-lease-duration".into(),
        ));
    }
    let scope = match &args.restricted_namespace {
        Some(ns) => format!("namespace={ns}"),
        None => "cluster-wide".to_string(),
    };
    let pod = std::env::var("POD_NAME").unwrap_or_else(|_| "dynamoctl".to_string());
    let instance = marker::instance_id(&pod);
    // The instance in the user agent tells replicas apart in the API server's audit log.
    let (client, _, server) = connect(
        &args
            .cluster
            .options(&format!("controller; {scope}; {instance}")),
    )
    .await?;
    let election_namespace = args
        .leader_election_namespace
        .clone()
        .or_else(|| args.restricted_namespace.clone())
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .unwrap_or_else(|| "kube-system".to_string());
    let cfg = OperatorConfig {
        controllers: Config {
            restricted_namespace: args.restricted_namespace.clone(),
            instance,
            health_addr: args.health_probe_bind_address,
            metrics_addr: args.metrics_bind_address,
            resync: args.resync,
            render: RenderOptions::default(),
        },
        operator_version: args.operator_version.clone(),
        lease_duration: args.namespace_scope_lease_duration,
        lease_renew_interval: args.namespace_scope_lease_renew_interval,
        election: args.leader_elect.then(|| Election {
            id: args.leader_election_id.clone(),
            namespace: election_namespace,
            lease_duration: args.leader_election_lease_duration,
            renew_deadline: args.leader_election_renew_deadline,
            retry_period: args.leader_election_retry_period,
        }),
    };
    let health = Arc::new(Health::default());
    let metrics = Arc::new(Metrics::default());
    let fail = |e: controller::RunError| {
        eprintln!("error: {e}");
        Ok(ExitCode::from(3))
    };
    if let Err(e) =
        controller::serve_endpoints(&cfg.controllers, health.clone(), metrics.clone()).await
    {
        return fail(e);
    }
    match run_operator(client, &server, cfg, health, metrics, shutdown_signal()).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => fail(e),
    }
}

/// Resolves on SIGTERM (how Kubernetes stops a pod) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,kube=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
