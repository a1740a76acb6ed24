//! `dynamoctl run controller`: the operator itself, as the Deployment runs it.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::cluster_args::{ClusterArgs, parse_duration};
use crate::cluster::connect;
use crate::controller::metrics::Metrics;
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
    /// Elect a leader among replicas; only the leader reconciles.
    #[arg(long)]
    pub leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = crate::cluster::leases::LEADER_ELECTION_LEASE)]
    pub leader_election_id: String,
    /// Namespace of the leader-election Lease (default: the restricted namespace, else kube-system).
    #[arg(long)]
    pub leader_election_namespace: Option<String>,
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
    let (client, _, server) =
        connect(&args.cluster.options(&format!("controller; {scope}"))).await?;
    let cfg = Config {
        restricted_namespace: args.restricted_namespace.clone(),
        instance: instance_name(),
        health_addr: args.health_probe_bind_address,
        metrics_addr: args.metrics_bind_address,
        resync: args.resync,
        render: RenderOptions::default(),
    };
    let health = Arc::new(Health::default());
    let metrics = Arc::new(Metrics::default());
    let fail = |e: controller::RunError| {
        eprintln!("error: {e}");
        Ok(ExitCode::from(3))
    };
    if let Err(e) = controller::serve_endpoints(&cfg, health.clone(), metrics.clone()).await {
        return fail(e);
    }
    let hooks = controller::Hooks {
        health,
        metrics,
        may_write: Box::new(|_| true),
    };
    let result = controller::run(
        client,
        &server,
        cfg,
        hooks,
        futures::stream::pending(),
        shutdown_signal(),
    )
    .await;
    match result {
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

/// The pod name (from `POD_NAME` or the hostname) plus a random suffix, so two processes of
/// one pod name never share an identity.
fn instance_name() -> String {
    let base = std::env::var("POD_NAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "dynamoctl".to_string());
    let mut bytes = [0u8; 4];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("system randomness");
    format!(
        "{base}-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
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
