//! Finding the configuration of the operator that manages a namespace: the namespace-scoped
//! operator holding the namespace's marker, else the live cluster-wide operator, whose
//! `install` (or chart) wrote its configuration into a ConfigMap beside it.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::jiff::Timestamp;
use kube::{Api, Client};

use super::ClusterError;
use super::leases::Operators;
use crate::config::{CONFIG_MAP_KEY, CONFIG_MAP_NAME, DetectedApis};

/// Where an operator's configuration was looked for, and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstalledConfig {
    /// No live operator manages the namespace.
    NoOperator,
    /// Whether an operator manages the namespace cannot be told: the user may not list
    /// Leases cluster-wide, and none in the namespace itself claims it.
    Unknown,
    /// The operator's ConfigMap `namespace/name` holds this `config.yaml`.
    Found {
        /// `namespace/name` of the ConfigMap.
        source: String,
        /// The configuration file's text.
        text: String,
    },
    /// An operator is live in `namespace` but its ConfigMap cannot be read; says why.
    Unreadable {
        /// `namespace/name` of the ConfigMap.
        source: String,
        /// Why (missing, forbidden, no `config.yaml` key).
        reason: String,
    },
}

impl Operators {
    /// The namespace of the operator managing `namespace`: the namespace itself when a live
    /// marker is there, else that of a live cluster-wide leader.
    pub fn operator_namespace(&self, namespace: &str, now: Timestamp) -> Option<String> {
        if let Some(m) = self.marker(namespace, now) {
            return Some(m.namespace.clone());
        }
        self.leaders
            .iter()
            .find(|l| l.is_live(now) && !self.markers.iter().any(|m| m.namespace == l.namespace))
            .map(|l| l.namespace.clone())
    }
}

/// Reads the configuration of the operator managing `namespace`.
pub async fn installed_config(
    client: &Client,
    server: &str,
    operators: &Operators,
    namespace: &str,
    now: Timestamp,
) -> Result<InstalledConfig, ClusterError> {
    let Some(operator_ns) = operators.operator_namespace(namespace, now) else {
        return Ok(if operators.only.is_some() {
            InstalledConfig::Unknown
        } else {
            InstalledConfig::NoOperator
        });
    };
    let source = format!("{operator_ns}/{CONFIG_MAP_NAME}");
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &operator_ns);
    let unreadable = |reason: String| InstalledConfig::Unreadable {
        source: source.clone(),
        reason,
    };
    match super::retry(|| api.get_opt(CONFIG_MAP_NAME)).await {
        Ok(Some(cm)) => Ok(match cm.data.and_then(|mut d| d.remove(CONFIG_MAP_KEY)) {
            Some(text) => InstalledConfig::Found {
                source: source.clone(),
                text,
            },
            None => unreadable(format!("it has no {CONFIG_MAP_KEY} key")),
        }),
        Ok(None) => Ok(unreadable("it does not exist".into())),
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(unreadable(format!(
            "reading it is forbidden: {}",
            status.message
        ))),
        Err(e) => Err(ClusterError::from_kube(
            &format!("ConfigMap {source}"),
            server,
            e,
        )),
    }
}

/// The orchestrator APIs the cluster serves (one discovery request), for the orchestrators a
/// configuration leaves to detection.
pub async fn detect_apis(client: &Client, server: &str) -> Result<DetectedApis, ClusterError> {
    let groups = super::retry(|| client.list_api_groups())
        .await
        .map_err(|e| ClusterError::from_kube("API discovery", server, e))?;
    Ok(DetectedApis::from_groups(
        groups.groups.iter().map(|g| g.name.as_str()),
    ))
}
