//! What an installation is made of, with the checks that must pass before anything is sent.

use std::fmt;
use std::time::Duration;

use super::ImageRef;
use crate::config::OperatorConfiguration;
use crate::config::is_dns_label;

/// The image repository this version publishes.
pub const DEFAULT_REPOSITORY: &str = "ghcr.io/dynamoctl/dynamoctl";

/// Settings of one operator installation. [`Default`] is the cluster-wide install of this
/// version's published image into `dynamo-system`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallOptions {
    /// Namespace of the operator's Deployment, ServiceAccount and Service (and, in
    /// namespace-scoped mode, the only namespace it manages).
    pub namespace: String,
    /// Manage only `namespace` (Role/RoleBinding, the namespace-scope marker) instead of the
    /// whole cluster (ClusterRole/ClusterRoleBinding).
    pub namespace_scoped: bool,
    /// The operator image, `REPO[:TAG][@DIGEST]`.
    pub image: String,
    /// The version the operator reports in its marker's holderIdentity.
    pub operator_version: String,
    /// How long the namespace-scope marker stays valid without renewal.
    pub lease_duration: Duration,
    /// How often the marker is renewed; must be shorter than `lease_duration`.
    pub lease_renew_interval: Duration,
    /// Operator replicas (one leader reconciles; the others wait).
    pub replicas: i32,
    /// `app.kubernetes.io/instance` of every object: the Helm release name in the chart.
    pub instance: String,
    /// The operator configuration: addresses, ingress defaults, discovery, orchestrators (from
    /// `--operator-config` and the flags). [`super::operator_config`] adds what the
    /// installation decides itself (namespace mode, leases, leader election, servers, logging).
    pub config: OperatorConfiguration,
    /// The bundled etcd (`--with-etcd`), when installed.
    pub etcd: Option<Bundled>,
    /// The bundled NATS (`--with-nats`), when installed.
    pub nats: Option<Bundled>,
    /// The value of the PodMonitors' `release` label, when PodMonitors are installed.
    pub pod_monitors: Option<String>,
}

/// A bundled piece of the runtime's infrastructure (etcd or NATS).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bundled {
    /// Size of its PersistentVolumeClaim (`1Gi`); `None` keeps the data in an emptyDir, lost
    /// when the pod moves.
    pub storage: Option<String>,
}

/// Which `dynamoctl install` flag sets which configuration key, so a bad value is reported
/// under the flag the user typed.
const FLAGS: &[(&str, &str)] = &[
    ("infrastructure.etcdAddress", "--etcd-address"),
    ("infrastructure.natsAddress", "--nats-address"),
    ("infrastructure.modelExpressURL", "--model-express-url"),
    ("infrastructure.prometheusEndpoint", "--prometheus-endpoint"),
    ("discovery.backend", "--discovery-backend"),
    ("ingress.controllerClassName", "--ingress-class"),
    ("ingress.controllerTLSSecretName", "--ingress-tls-secret"),
    ("ingress.hostSuffix", "--ingress-host-suffix"),
    ("namespace.restricted", "-n"),
    ("leaderElection.namespace", "-n"),
];

impl Default for InstallOptions {
    fn default() -> Self {
        let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
        InstallOptions {
            namespace: "dynamo-system".into(),
            namespace_scoped: false,
            image: format!("{DEFAULT_REPOSITORY}:{tag}"),
            operator_version: tag,
            lease_duration: Duration::from_secs(30),
            lease_renew_interval: Duration::from_secs(10),
            replicas: 1,
            instance: "dynamo-platform".into(),
            config: OperatorConfiguration::default(),
            etcd: None,
            nats: None,
            pod_monitors: None,
        }
    }
}

/// Why options cannot be installed: every problem found, one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidOptions(pub Vec<String>);

impl fmt::Display for InvalidOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for InvalidOptions {}

impl InstallOptions {
    /// The options with `image` set to `REPO[:TAG]`, and the operator version following the
    /// image's tag (the chart's rule: `operatorVersion` defaults to the tag).
    pub fn with_image(mut self, image: &str) -> InstallOptions {
        self.image = image.to_string();
        if let Ok(r) = ImageRef::parse(image)
            && let Some(tag) = r.tag
        {
            self.operator_version = tag;
        }
        self
    }

    /// Checks everything that can be checked without a cluster.
    pub fn validate(&self) -> Result<(), InvalidOptions> {
        let mut problems = Vec::new();
        if let Err(e) = ImageRef::parse(&self.image) {
            problems.push(e);
        }
        if !is_dns_label(&self.namespace) {
            problems.push(format!(
                "invalid namespace {:?}: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
                self.namespace
            ));
        }
        if self.lease_duration.is_zero() || self.lease_renew_interval.is_zero() {
            problems.push("the lease duration and renew interval must be positive".into());
        } else if self.lease_renew_interval >= self.lease_duration {
            problems.push(format!(
                "the lease renew interval ({}) must be shorter than the lease duration ({}): otherwise the marker expires between renewals",
                format_duration(self.lease_renew_interval),
                format_duration(self.lease_duration)
            ));
        }
        if self.replicas < 1 {
            problems.push(format!(
                "replicas must be at least 1 (got {})",
                self.replicas
            ));
        }
        let version_ok = !self.operator_version.is_empty()
            && self.operator_version.len() <= 63
            && self
                .operator_version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
        if !version_ok {
            problems.push(format!(
                "invalid operator version {:?}: use 1-63 of [A-Za-z0-9._+-]",
                self.operator_version
            ));
        }
        if !is_dns_label(&self.instance) {
            problems.push(format!("invalid instance name {:?}", self.instance));
        }
        for (flag, bundled) in [
            ("--etcd-storage", &self.etcd),
            ("--nats-storage", &self.nats),
        ] {
            if let Some(size) = bundled.as_ref().and_then(|b| b.storage.as_deref())
                && !is_quantity(size)
            {
                problems.push(format!(
                    "{flag}: {size:?} is not a storage size: use e.g. 1Gi or 500Mi"
                ));
            }
        }
        if let Some(release) = &self.pod_monitors
            && !is_label_value(release)
        {
            problems.push(format!(
                "--pod-monitors-release: {release:?} is not a label value: use 1-63 letters, digits, '-', '_' or '.'"
            ));
        }
        if problems.is_empty() {
            problems.extend(self.config_problems());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidOptions(problems))
        }
    }

    /// The configuration the installation writes, checked exactly as the operator will read
    /// it: written with `to_yaml`, read back with [`crate::config::parse`].
    fn config_problems(&self) -> Vec<String> {
        let text = super::config_text(self);
        match crate::config::parse("operator configuration", &text) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|p| match FLAGS.iter().find(|(key, _)| *key == p.path) {
                    Some((key, flag)) => format!("{flag} ({key}): {}", p.message),
                    None => format!("operator configuration: {}: {}", p.path, p.message),
                })
                .collect(),
        }
    }
}

/// A Kubernetes quantity as storage requests use it: `1Gi`, `500Mi`, `10G`.
fn is_quantity(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.parse::<u64>().is_ok_and(|n| n > 0)
        && matches!(
            unit,
            "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "k" | "M" | "G" | "T" | "P" | "E"
        )
}

/// A label value: at most 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric.
fn is_label_value(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A duration as the operator's flags take it: whole seconds as `30s`, otherwise `1500ms`.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_follow_the_crate_version() {
        let o = InstallOptions::default();
        o.validate().unwrap();
        assert_eq!(
            o.image,
            format!("ghcr.io/dynamoctl/dynamoctl:v{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            o.operator_version,
            format!("v{}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let o = InstallOptions {
            image: "Bad Image".into(),
            lease_duration: Duration::from_secs(10),
            lease_renew_interval: Duration::from_secs(10),
            replicas: 0,
            ..InstallOptions::default()
        };
        let e = o.validate().unwrap_err();
        assert_eq!(e.0.len(), 3, "{e}");
        assert!(e.0[0].contains("invalid image reference"));
        assert!(e.0[1].contains("renew interval (10s) must be shorter"));
        assert!(e.0[2].contains("replicas must be at least 1"));
    }

    #[test]
    fn the_image_tag_is_the_operator_version() {
        let o = InstallOptions::default().with_image("reg.io/op:v2.0.0-beta");
        assert_eq!(o.operator_version, "v2.0.0-beta");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }
}
