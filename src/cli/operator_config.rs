//! `--operator-config FILE` of render, diff and apply, and what diff and apply use without
//! it: the configuration of the operator that manages the target namespace, read from its
//! ConfigMap, so a preview renders what that operator will really write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use kube::Client;

use super::clock::now;
use crate::cluster::leases::Operators;
use crate::cluster::operator_config::{InstalledConfig, detect_apis, installed_config};
use crate::config::{self, DetectedApis, OperatorConfiguration};
use crate::error::Error;
use crate::render::RenderOptions;

/// The flag.
#[derive(Debug, Clone, Default, Args)]
pub struct OperatorConfigArgs {
    /// The operator configuration to render with (upstream's OperatorConfiguration file, as
    /// `run controller --config` reads it). diff and apply default to the configuration of the
    /// operator that manages the namespace; render to the defaults.
    #[arg(long, value_name = "FILE")]
    pub operator_config: Option<PathBuf>,
}

impl OperatorConfigArgs {
    /// The file's configuration, if one was given.
    pub fn file(&self) -> Result<Option<OperatorConfiguration>, Error> {
        self.operator_config.as_deref().map(read_file).transpose()
    }

    /// The render settings when no cluster is asked: the file's, else the defaults.
    pub fn offline(&self) -> Result<RenderOptions, Error> {
        Ok(self.file()?.unwrap_or_default().render_options())
    }
}

/// Reads and validates a configuration file; problems exit 2 with file:line:column.
pub fn read_file(path: &Path) -> Result<OperatorConfiguration, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read the operator configuration {}: {e}",
            path.display()
        ))
    })?;
    config::parse(&path.display().to_string(), &text).map_err(Error::Input)
}

/// Render settings per namespace, as the operators managing them are configured.
pub struct ClusterRenderOptions {
    client: Client,
    server: String,
    operators: Option<Operators>,
    detected: Option<DetectedApis>,
    file: Option<OperatorConfiguration>,
    cache: BTreeMap<String, RenderOptions>,
}

impl ClusterRenderOptions {
    /// With a file, every namespace renders with it; without, each namespace with its
    /// operator's ConfigMap.
    pub fn new(args: &OperatorConfigArgs, client: Client, server: &str) -> Result<Self, Error> {
        Ok(ClusterRenderOptions {
            client,
            server: server.to_string(),
            operators: None,
            detected: None,
            file: args.file()?,
            cache: BTreeMap::new(),
        })
    }

    /// The settings for graphs in `namespace`. Prints a warning on stderr when the operator's
    /// configuration cannot be read and the defaults are used instead.
    pub async fn for_namespace(&mut self, namespace: &str) -> Result<RenderOptions, Error> {
        if let Some(cached) = self.cache.get(namespace) {
            return Ok(cached.clone());
        }
        // Orchestrators a configuration leaves unset are detected, as the operator does.
        let detected = match self.detected {
            Some(d) => d,
            None => *self
                .detected
                .insert(detect_apis(&self.client, &self.server).await?),
        };
        if let Some(file) = &self.file {
            return Ok(file.render_options_with(&detected));
        }
        // A partial view (no right to list Leases cluster-wide) covers only the namespaces
        // it was loaded for.
        let covered = self.operators.as_ref().is_some_and(|o| {
            o.only
                .as_ref()
                .is_none_or(|only| only.iter().any(|n| n == namespace))
        });
        if !covered {
            self.operators = Some(
                Operators::load_within(&self.client, &self.server, &[namespace.to_string()])
                    .await?,
            );
        }
        let operators = self.operators.as_ref().expect("loaded above");
        let found =
            installed_config(&self.client, &self.server, operators, namespace, now().0).await?;
        let options = match found {
            InstalledConfig::NoOperator => OperatorConfiguration::default(),
            InstalledConfig::Unknown => {
                eprintln!(
                    "warning: the operator managing namespace {namespace} cannot be found \
                     (Leases cannot be listed cluster-wide with these credentials); rendering \
                     with the defaults (pass --operator-config FILE to choose)"
                );
                OperatorConfiguration::default()
            }
            InstalledConfig::Found { source, text } => {
                let mut c =
                    config::parse(&format!("ConfigMap {source}"), &text).map_err(Error::Input)?;
                // The operator copies the MPI SSH secret from its own namespace by default.
                if c.mpi
                    .ssh_secret_namespace
                    .as_deref()
                    .is_none_or(str::is_empty)
                {
                    c.mpi.ssh_secret_namespace =
                        source.split_once('/').map(|(ns, _)| ns.to_string());
                }
                c
            }
            InstalledConfig::Unreadable { source, reason } => {
                eprintln!(
                    "warning: the configuration of the operator managing namespace {namespace} \
                     (ConfigMap {source}) cannot be read: {reason}; rendering with the defaults \
                     (pass --operator-config FILE to choose)"
                );
                OperatorConfiguration::default()
            }
        }
        .render_options_with(&detected);
        self.cache.insert(namespace.to_string(), options.clone());
        Ok(options)
    }
}
