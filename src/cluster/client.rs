//! Building a client from a kubeconfig, the way kubectl does.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::ClusterError;

/// kubectl's connection flags, plus the user agent that names us in audit logs.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// `--kubeconfig`; otherwise `KUBECONFIG` (merged as kubectl does) or `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
    /// `-n/--namespace`; otherwise the context's namespace, otherwise `default`.
    pub namespace: Option<String>,
    /// `--request-timeout`.
    pub request_timeout: Option<Duration>,
    /// e.g. `dynamoctl/0.1.0 (apply)`.
    pub user_agent: String,
}

/// Connects: returns the client, its default namespace and the server URL (for messages).
pub async fn connect(opts: &ConnectOptions) -> Result<(Client, String, String), ClusterError> {
    let mut config = match &opts.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|e| {
                ClusterError::Config(format!("cannot read kubeconfig {}: {e}", path.display()))
            })?;
            from_kubeconfig(kubeconfig, opts).await?
        }
        None => match Kubeconfig::read() {
            Ok(kubeconfig) => from_kubeconfig(kubeconfig, opts).await?,
            // In a pod: the service account, as kubectl and client-go do.
            Err(e) => Config::incluster().map_err(|_| {
                ClusterError::Config(format!(
                    "no kubeconfig found ({e}); pass --kubeconfig or set KUBECONFIG"
                ))
            })?,
        },
    };
    finish(&mut config, opts);
    let server = config.cluster_url.to_string();
    let namespace = config.default_namespace.clone();
    let client = Client::try_from(config).map_err(|e| ClusterError::Unreachable {
        server: server.clone(),
        message: e.to_string(),
    })?;
    Ok((client, namespace, server))
}

async fn from_kubeconfig(
    kubeconfig: Kubeconfig,
    opts: &ConnectOptions,
) -> Result<Config, ClusterError> {
    let options = KubeConfigOptions {
        context: opts.context.clone(),
        ..Default::default()
    };
    Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ClusterError::Config(format!("invalid kubeconfig: {e}")))
}

/// Applies the namespace, timeouts and user agent to a config.
pub(crate) fn finish(config: &mut Config, opts: &ConnectOptions) {
    if let Some(ns) = &opts.namespace {
        config.default_namespace = ns.clone();
    }
    if let Some(t) = opts.request_timeout {
        config.connect_timeout = Some(t);
        config.read_timeout = Some(t);
        config.write_timeout = Some(t);
    }
    if let Ok(value) = http::HeaderValue::from_str(&opts.user_agent) {
        config.headers.push((http::header::USER_AGENT, value));
    }
}
