//! `dynamoctl run controller`: the operator itself, as the Deployment runs it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::cluster_args::{ClusterArgs, parse_duration};
use crate::cluster::connect;
use crate::cluster::operator_config::detect_apis;
use crate::config::OperatorConfiguration;
use crate::controller::marker;
use crate::controller::metrics::Metrics;
use crate::controller::operator::{Election, OperatorConfig, run_operator};
use crate::controller::run::{self as controller, Config};
use crate::controller::server::Health;
use crate::error::Error;

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

/// Flags of `dynamoctl run controller`, named after upstream's manager flags. Most settings can
/// also come from `--config FILE` (upstream's OperatorConfiguration); a flag wins over the file,
/// the file over the default.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("webhook").multiple(true).args(["webhook_service_name", "webhook_url"]))]
pub struct ControllerArgs {
    /// Connection flags (in a pod: the in-cluster service account).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The operator configuration file (upstream's OperatorConfiguration): infrastructure
    /// addresses, ingress defaults, discovery backend, namespace mode, leases, servers, logging.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Namespace-scoped mode: manage only this namespace and hold its marker Lease
    /// [config: namespace.restricted].
    #[arg(long, value_name = "NAMESPACE")]
    pub restricted_namespace: Option<String>,
    /// How long the namespace-scope marker stays valid without renewal [default: 30s]
    /// [config: namespace.scope.leaseDuration].
    #[arg(long, value_parser = parse_duration)]
    pub namespace_scope_lease_duration: Option<Duration>,
    /// How often the marker is renewed [default: 10s] [config: namespace.scope.leaseRenewInterval].
    #[arg(long, value_parser = parse_duration)]
    pub namespace_scope_lease_renew_interval: Option<Duration>,
    /// Version recorded in the marker's holderIdentity.
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    pub operator_version: String,
    /// Elect a leader among replicas; only the leader reconciles. On by default, so a second
    /// replica (or a rollout's surge pod) is safe; `--leader-elect=false` turns it off
    /// [config: leaderElection.enabled].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub leader_elect: Option<bool>,
    /// Name of the leader-election Lease [default: dynamo-operator-leader]
    /// [config: leaderElection.id].
    #[arg(long)]
    pub leader_election_id: Option<String>,
    /// Namespace of the leader-election Lease (default: the restricted namespace, else
    /// $POD_NAMESPACE, else kube-system) [config: leaderElection.namespace].
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
    /// Address of /healthz and /readyz [default: :8081] [config: server.healthProbe].
    #[arg(long, value_parser = parse_addr)]
    pub health_probe_bind_address: Option<SocketAddr>,
    /// Address of /metrics [default: :8080] [config: server.metrics].
    #[arg(long, value_parser = parse_addr)]
    pub metrics_bind_address: Option<SocketAddr>,
    /// Log format [default: text] [config: logging.format].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Reconcile everything again after this long without a change.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub resync: Duration,
    /// Serve the v1alpha1 <-> v1beta1 conversion webhook behind this Service (in the
    /// operator's namespace) and point the CRDs at it; cluster-wide operators only
    /// [config: server.webhook.serviceName].
    #[arg(long, value_name = "NAME")]
    pub webhook_service_name: Option<String>,
    /// Run outside the cluster: serve the conversion webhook and point the CRDs at this
    /// https URL (e.g. https://127.0.0.1:9443/convert) instead of a Service.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Address of the conversion webhook's HTTPS server [default: :9443]
    /// [config: server.webhook.host, server.webhook.port].
    #[arg(long, value_parser = parse_addr)]
    pub webhook_bind_address: Option<SocketAddr>,
    /// Secret (in the operator's namespace) holding the webhook's CA and certificate
    /// [default: dynamo-operator-webhook-cert] [config: server.webhook.secretName].
    #[arg(long, value_name = "NAME")]
    pub webhook_secret_name: Option<String>,
    /// Serve only the conversion webhook (certificates, CRD CA bundle, storage migration):
    /// no controller, no leader election.
    #[arg(long, requires = "webhook")]
    pub webhook_only: bool,
}

/// The address a configuration's `server.*` section names, if it names one.
fn config_addr(bind: &Option<String>, port: Option<u16>, default_port: u16) -> Option<SocketAddr> {
    if bind.is_none() && port.is_none() {
        return None;
    }
    let host = bind.as_deref().unwrap_or("0.0.0.0");
    parse_addr(&format!("{host}:{}", port.unwrap_or(default_port))).ok()
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

/// The operator's render settings: the configuration's, with the MPI SSH secret copied from
/// the operator's own namespace (the restricted one, else `$POD_NAMESPACE`) when
/// `mpi.sshSecretNamespace` names none, as upstream's chart sets it.
fn operator_render_options(
    file: &OperatorConfiguration,
    detected: &crate::config::DetectedApis,
    restricted_namespace: Option<&str>,
) -> crate::render::RenderOptions {
    let mut render = file.render_options_with(detected);
    let o = &mut render.orchestrators;
    if o.mpi_ssh_secret_namespace.is_none() {
        o.mpi_ssh_secret_namespace = restricted_namespace.map(str::to_string).or_else(|| {
            std::env::var("POD_NAMESPACE")
                .ok()
                .filter(|n| !n.is_empty())
        });
    }
    render
}

/// Runs the subcommand.
pub async fn run(cmd: RunCommand) -> Result<ExitCode, Error> {
    let RunCommand::Controller(args) = cmd;
    let file = match &args.config {
        Some(path) => super::operator_config::read_file(path)?,
        None => OperatorConfiguration::default(),
    };
    let log_format = args
        .log_format
        .unwrap_or(match file.logging.format.as_deref() {
            Some("json") => LogFormat::Json,
            _ => LogFormat::Text,
        });
    init_logging(log_format, file.logging.level.as_deref());
    let lease_duration = args
        .namespace_scope_lease_duration
        .unwrap_or_else(|| file.lease_duration());
    let lease_renew_interval = args
        .namespace_scope_lease_renew_interval
        .unwrap_or_else(|| file.lease_renew_interval());
    if lease_renew_interval >= lease_duration {
        return Err(Error::Usage(
            "--namespace-scope-lease-renew-interval must be shorter than --namespace-scope-lease-duration".into(),
        ));
    }
    let restricted_namespace = args
        .restricted_namespace
        .clone()
        .or_else(|| file.restricted_namespace().map(str::to_string));
    let scope = match &restricted_namespace {
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
    // Orchestrators the file leaves unset follow what the cluster serves, as upstream's.
    let detected = detect_apis(&client, &server).await?;
    let election_namespace = args
        .leader_election_namespace
        .clone()
        .or_else(|| file.leader_election.namespace.clone())
        .or_else(|| restricted_namespace.clone())
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .unwrap_or_else(|| "kube-system".to_string());
    let webhook = webhook_config(
        &args,
        &file,
        restricted_namespace.as_deref(),
        &election_namespace,
    )?;
    let leader_elect = args
        .leader_elect
        .or(file.leader_election.enabled)
        .unwrap_or(true);
    let metrics = &file.server.metrics;
    let cfg = OperatorConfig {
        controllers: Config {
            restricted_namespace: restricted_namespace.clone(),
            instance,
            health_addr: args
                .health_probe_bind_address
                .or_else(|| {
                    let h = &file.server.health_probe;
                    config_addr(&h.bind_address, h.port, 8081)
                })
                .unwrap_or_else(|| parse_addr(":8081").expect("valid")),
            metrics_addr: args
                .metrics_bind_address
                .or_else(|| config_addr(&metrics.bind_address, metrics.port, 8080))
                .unwrap_or_else(|| parse_addr(":8080").expect("valid")),
            resync: args.resync,
            render: operator_render_options(&file, &detected, restricted_namespace.as_deref()),
        },
        operator_version: args.operator_version.clone(),
        lease_duration,
        lease_renew_interval,
        election: leader_elect.then(|| Election {
            id: args
                .leader_election_id
                .clone()
                .or_else(|| file.leader_election.id.clone())
                .unwrap_or_else(|| crate::cluster::leases::LEADER_ELECTION_LEASE.to_string()),
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
    // Before the controllers: their startup checks list graphs, which needs conversion.
    if let Some(webhook) = webhook
        && let Err(e) = crate::controller::conversion::start(client.clone(), webhook).await
    {
        return fail(e);
    }
    let (signalled_tx, signalled) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = signalled_tx.send(true);
        // A second signal means "now": the operator holds nothing that its TTL won't end.
        shutdown_signal().await;
        eprintln!("error: second signal: exiting without releasing");
        std::process::exit(3);
    });
    let wait_signal = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    if args.webhook_only {
        health
            .ready
            .store(true, std::sync::atomic::Ordering::Relaxed);
        wait_signal(signalled).await;
        return Ok(ExitCode::SUCCESS);
    }
    let operator = run_operator(
        client,
        &server,
        cfg,
        health,
        metrics,
        wait_signal(signalled.clone()),
    );
    // However the API server behaves (gone, hanging), the process exits within the deadline
    // of a signal, well inside a pod's 30 s grace period: Kubernetes would SIGKILL it anyway,
    // and a Lease it could not release expires by its TTL.
    tokio::select! {
        result = operator => match result {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => fail(e),
        },
        _ = async {
            wait_signal(signalled).await;
            tokio::time::sleep(SHUTDOWN_DEADLINE).await;
        } => {
            eprintln!(
                "error: shutdown did not finish within {}s (is the API server reachable?); exiting; Leases not released expire by their TTL",
                SHUTDOWN_DEADLINE.as_secs()
            );
            Ok(ExitCode::from(3))
        }
    }
}

/// The conversion webhook's settings, when it is to be served: a Service name (flag or
/// configuration) or a URL. Its Secret lives in `namespace` (the operator's).
fn webhook_config(
    args: &ControllerArgs,
    file: &OperatorConfiguration,
    restricted: Option<&str>,
    namespace: &str,
) -> Result<Option<crate::controller::conversion::WebhookConfig>, Error> {
    let w = &file.server.webhook;
    let service = args
        .webhook_service_name
        .clone()
        .or_else(|| w.service_name.clone().filter(|s| !s.is_empty()));
    if service.is_none() && args.webhook_url.is_none() {
        return Ok(None);
    }
    if let Some(ns) = restricted {
        return Err(Error::Usage(format!(
            "the conversion webhook is served by the cluster-wide operator (it patches the CRDs, \
             which are cluster-scoped); this one is restricted to namespace {ns}: drop \
             --webhook-service-name/--webhook-url and server.webhook.serviceName"
        )));
    }
    if let Some(url) = &args.webhook_url {
        let ok = url
            .parse::<http::Uri>()
            .is_ok_and(|u| u.scheme_str() == Some("https") && u.host().is_some());
        if !ok {
            return Err(Error::Usage(format!(
                "--webhook-url {url:?}: use an https URL, e.g. https://127.0.0.1:9443/convert"
            )));
        }
    }
    let addr = args
        .webhook_bind_address
        .or_else(|| config_addr(&w.bind_address.clone().or(w.host.clone()), w.port, 9443))
        .unwrap_or_else(|| parse_addr(":9443").expect("valid"));
    Ok(Some(crate::controller::conversion::WebhookConfig {
        addr,
        namespace: namespace.to_string(),
        service: service.unwrap_or_else(|| crate::api::crd::WEBHOOK_SERVICE_NAME.to_string()),
        secret: args
            .webhook_secret_name
            .clone()
            .or_else(|| w.secret_name.clone().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| crate::api::crd::WEBHOOK_SECRET_NAME.to_string()),
        url: args.webhook_url.clone(),
    }))
}

/// How long a stop may take from SIGTERM: controllers drain, then claims are released.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);

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

/// `RUST_LOG` wins over the configuration's `logging.level`, which wins over the default.
fn init_logging(format: LogFormat, level: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .ok()
        .or_else(|| level.and_then(|l| tracing_subscriber::EnvFilter::try_new(l).ok()))
        .unwrap_or_else(|| "info,kube=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
