//! The operator configuration an installation writes into its ConfigMap: the user's settings
//! ([`InstallOptions::config`]) plus the keys the installation itself decides, because the
//! Deployment depends on them (ports and probes, the namespace mode, leader election).

use crate::config::{
    BindServer, LeaderElection, Namespace, NamespaceScope, OperatorConfiguration, WebhookServer,
};

use super::{InstallOptions, format_duration};

/// Port of `/healthz` and `/readyz` (the Deployment's probes use it).
pub const HEALTH_PORT: u16 = 8081;
/// Port of `/metrics` (the metrics Service targets it).
pub const METRICS_PORT: u16 = 8080;
/// Port of the conversion webhook's HTTPS server (the webhook Service's target port).
pub const WEBHOOK_PORT: u16 = 9443;
/// The Service in front of the conversion webhook (cluster-wide installs).
pub const WEBHOOK_SERVICE_NAME: &str = crate::api::crd::WEBHOOK_SERVICE_NAME;
/// The Secret the operator keeps the webhook's CA and certificate in.
pub const WEBHOOK_SECRET_NAME: &str = crate::api::crd::WEBHOOK_SECRET_NAME;
/// Annotation of the operator's pod template: a configuration change rolls the operator.
pub const CHECKSUM_ANNOTATION: &str = "checksum/config";

/// The configuration the operator runs with. Keys the installation owns replace whatever
/// `--operator-config` said: `server.{metrics,healthProbe}` bind address and port,
/// `server.webhook` (the conversion webhook, cluster-wide only), `leaderElection` (always on, in the operator's namespace, default Lease name),
/// `namespace` (restricted to the operator's namespace when namespace-scoped, with the
/// marker's timing) and `logging.format` (json). A bundled etcd or NATS is the address unless
/// one is given.
pub fn operator_config(opts: &InstallOptions) -> OperatorConfiguration {
    let mut c = opts.config.clone();
    let all_interfaces = |port: u16| BindServer {
        bind_address: Some("0.0.0.0".into()),
        port: Some(port),
    };
    let metrics = all_interfaces(METRICS_PORT);
    c.server.metrics.bind_address = metrics.bind_address;
    c.server.metrics.port = metrics.port;
    c.server.health_probe = all_interfaces(HEALTH_PORT);
    // Always on: during a rollout old and new pods overlap, and only one may write.
    c.leader_election = LeaderElection {
        enabled: Some(true),
        id: None,
        namespace: Some(opts.namespace.clone()),
    };
    c.namespace = if opts.namespace_scoped {
        Namespace {
            restricted: Some(opts.namespace.clone()),
            scope: NamespaceScope {
                lease_duration: Some(format_duration(opts.lease_duration)),
                lease_renew_interval: Some(format_duration(opts.lease_renew_interval)),
            },
        }
    } else {
        Namespace::default()
    };
    // The cluster-wide operator serves CRD conversion (it may patch the CRDs); a
    // namespace-scoped one never does, whatever `--operator-config` said.
    c.server.webhook = if opts.namespace_scoped {
        WebhookServer::default()
    } else {
        WebhookServer {
            bind_address: Some("0.0.0.0".into()),
            port: Some(WEBHOOK_PORT),
            secret_name: Some(WEBHOOK_SECRET_NAME.into()),
            service_name: Some(WEBHOOK_SERVICE_NAME.into()),
            ..WebhookServer::default()
        }
    };
    c.logging.format = Some("json".into());
    let infra = &mut c.infrastructure;
    let unset = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
    if opts.etcd.is_some() && unset(&infra.etcd_address) {
        infra.etcd_address = Some(format!("http://{}:2379", bundled_host(opts, "etcd")));
    }
    if opts.nats.is_some() && unset(&infra.nats_address) {
        infra.nats_address = Some(format!("nats://{}:4222", bundled_host(opts, "nats")));
    }
    c
}

/// The in-cluster DNS name of a bundled component's client Service.
pub fn bundled_host(opts: &InstallOptions, component: &str) -> String {
    format!(
        "{}-{component}.{}.svc.cluster.local",
        opts.instance, opts.namespace
    )
}

/// The ConfigMap's `config.yaml`, byte for byte what the chart writes.
pub fn config_text(opts: &InstallOptions) -> String {
    operator_config(opts).to_yaml()
}

/// Lowercase hex SHA-256 of `text`, as Helm's `sha256sum` prints it.
pub fn sha256_hex(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_wide_configuration_in_upstream_key_order() {
        assert_eq!(
            config_text(&InstallOptions::default()),
            "apiVersion: operator.config.dynamo.nvidia.com/v1alpha1\nkind: OperatorConfiguration\n\
             server:\n  metrics:\n    bindAddress: \"0.0.0.0\"\n    port: 8080\n  healthProbe:\n    bindAddress: \"0.0.0.0\"\n    port: 8081\n\
             \x20 webhook:\n    bindAddress: \"0.0.0.0\"\n    port: 9443\n    secretName: dynamo-operator-webhook-cert\n    serviceName: dynamo-operator-webhook\n\
             leaderElection:\n  enabled: true\n  namespace: dynamo-system\n\
             logging:\n  format: json\n"
        );
    }

    #[test]
    fn install_owned_keys_win_and_bundled_addresses_fill_the_gaps() {
        let mut opts = InstallOptions {
            namespace: "team-a".into(),
            namespace_scoped: true,
            etcd: Some(Default::default()),
            nats: Some(Default::default()),
            ..InstallOptions::default()
        };
        opts.config.leader_election.id = Some("dynamo.nvidia.com".into());
        opts.config.leader_election.namespace = Some("kube-system".into());
        opts.config.infrastructure.nats_address = Some("nats://mine:4222".into());
        opts.config.logging.level = Some("debug".into());
        let c = operator_config(&opts);
        assert_eq!(c.leader_election.id, None);
        assert_eq!(c.leader_election.namespace.as_deref(), Some("team-a"));
        assert_eq!(c.restricted_namespace(), Some("team-a"));
        assert_eq!(c.namespace.scope.lease_duration.as_deref(), Some("30s"));
        assert_eq!(
            c.infrastructure.etcd_address.as_deref(),
            Some("http://dynamo-platform-etcd.team-a.svc.cluster.local:2379")
        );
        assert_eq!(
            c.infrastructure.nats_address.as_deref(),
            Some("nats://mine:4222")
        );
        assert_eq!(c.logging.level.as_deref(), Some("debug"));
        assert_eq!(c.logging.format.as_deref(), Some("json"));
    }

    #[test]
    fn sha256_is_helms() {
        // `printf abc | sha256sum`
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
