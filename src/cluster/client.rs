//! Building a client from a kubeconfig, the way kubectl does.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::ClusterError;

/// kubectl's connection flags, plus the user agent that names us in audit logs.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// `--kubeconfig`; otherwise `KUBECONFIG` (merged as kubectl does, see [`read_list`]) or
    /// `~/.kube/config`.
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
        None => match read_default()? {
            Some(kubeconfig) => from_kubeconfig(kubeconfig, opts).await?,
            // In a pod: the service account, as kubectl and client-go do.
            None => Config::incluster().map_err(|_| {
                ClusterError::Config(
                    "no kubeconfig found: pass --kubeconfig, set KUBECONFIG or create ~/.kube/config"
                        .to_string(),
                )
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

/// The kubeconfig kubectl would use without `--kubeconfig`: the files of `KUBECONFIG`
/// merged when it lists any (then `~/.kube/config` is not read, even if none of them
/// exists), or else `~/.kube/config`; `None` when there is none.
fn read_default() -> Result<Option<Kubeconfig>, ClusterError> {
    if let Some(list) = std::env::var_os("KUBECONFIG")
        && std::env::split_paths(&list).any(|p| !p.as_os_str().is_empty())
    {
        return read_list(&list);
    }
    let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(home).join(".kube").join("config");
    if !path.exists() {
        return Ok(None);
    }
    Kubeconfig::read_from(&path).map(Some).map_err(|e| {
        ClusterError::Config(format!("cannot read kubeconfig {}: {e}", path.display()))
    })
}

/// The files of a `KUBECONFIG` list (`a:b`) merged as kubectl merges them: the first file to
/// set a value or a named entry wins, `current-context` included (kube's
/// `Kubeconfig::merge`); empty entries and files that do not exist are skipped, as client-go
/// skips them (kube's own `Kubeconfig::from_env` fails on a missing file instead). `None`
/// when no listed file exists.
pub fn read_list(list: &std::ffi::OsStr) -> Result<Option<Kubeconfig>, ClusterError> {
    let mut merged: Option<Kubeconfig> = None;
    for path in std::env::split_paths(list) {
        if path.as_os_str().is_empty() || !path.exists() {
            continue;
        }
        let next = Kubeconfig::read_from(&path).map_err(|e| {
            ClusterError::Config(format!(
                "cannot read kubeconfig {} (from KUBECONFIG): {e}",
                path.display()
            ))
        })?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next).map_err(|e| {
                ClusterError::Config(format!(
                    "cannot merge kubeconfig {} (from KUBECONFIG): {e}",
                    path.display()
                ))
            })?,
        });
    }
    Ok(merged)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn config(context: &str, cluster: &str, server: &str, current: Option<&str>) -> String {
        let mut text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster}\n  cluster:\n    server: {server}\ncontexts:\n- name: {context}\n  context:\n    cluster: {cluster}\n    user: u\nusers:\n- name: u\n  user: {{}}\n"
        );
        if let Some(c) = current {
            text.push_str(&format!("current-context: {c}\n"));
        }
        text
    }

    #[test]
    fn a_kubeconfig_list_merges_first_wins_and_skips_missing_files() {
        let dir = std::env::temp_dir().join(format!("dynamoctl-kubeconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // a: no current-context, cluster "shared" at :1; b: current-context, "shared" at :2.
        let a = write(
            &dir,
            "a",
            &config("ctx-a", "shared", "http://127.0.0.1:1", None),
        );
        let b = write(
            &dir,
            "b",
            &config("ctx-b", "shared", "http://127.0.0.1:2", Some("ctx-b")),
        );
        let missing = dir.join("missing");
        let list = std::env::join_paths([&missing, &a, &PathBuf::new(), &b]).unwrap();
        let merged = read_list(&list).unwrap().unwrap();
        assert_eq!(merged.current_context.as_deref(), Some("ctx-b"));
        let names: Vec<&str> = merged.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ctx-a", "ctx-b"]);
        assert_eq!(merged.clusters.len(), 1);
        let server = merged.clusters[0]
            .cluster
            .as_ref()
            .unwrap()
            .server
            .as_deref();
        assert_eq!(
            server,
            Some("http://127.0.0.1:1"),
            "the first file's entry wins"
        );
        assert!(
            read_list(&std::env::join_paths([&missing]).unwrap())
                .unwrap()
                .is_none()
        );
        let broken = write(&dir, "broken", "clusters: [");
        let e = read_list(&std::env::join_paths([&a, &broken]).unwrap()).unwrap_err();
        assert!(e.to_string().contains("broken"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
