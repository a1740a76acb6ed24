//! kubectl's global connection flags, shared by every command that talks to a cluster.
//!
//! Each command that talks to a cluster flattens [`ClusterArgs`], so the flags work after the
//! subcommand; [`GlobalArgs`] declares the same arguments (same ids) on the top-level command
//! with `global = true`, so they also work before it, as kubectl's do
//! (`dynamoctl -n team-a status`). clap does not copy a global argument into a subcommand
//! that already has one of that id, but it does copy its *value*: a flag given before the
//! subcommand lands in the subcommand's own `ClusterArgs`, and one given after it wins.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::cluster::ConnectOptions;

/// Connection flags.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace of objects that name none (default: the context's namespace).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// How long to wait for a single API request, e.g. 30s or 1m (0: no limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,
}

impl ClusterArgs {
    /// Connection options for `command`, with a user agent naming it.
    pub fn options(&self, command: &str) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace: self.namespace.clone(),
            request_timeout: self.request_timeout.filter(|d| !d.is_zero()),
            user_agent: format!("dynamoctl/{} ({command})", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// The connection flags on the top-level command (see the module docs). The values are read
/// through each subcommand's [`ClusterArgs`], never from here; commands that do not talk to
/// a cluster accept and ignore them, as kubectl's do, except that `-n` is the namespace of
/// objects that name none for those that read manifests (`render`, `diff --old`).
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Namespace of objects that name none (default: the context's namespace).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// How long to wait for a single API request, e.g. 30s or 1m (0: no limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub request_timeout: Option<Duration>,
}

/// Parses `90`, `30s`, `5m`, `1h` (kubectl's `--request-timeout` forms).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: use e.g. 30s, 5m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "ms" => return Ok(Duration::from_millis(n)),
        _ => return Err(format!("invalid duration {text:?}: use e.g. 30s, 5m or 1h")),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_kubectl() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("soon").is_err());
    }
}
