//! The operator configuration: upstream's `OperatorConfiguration` file, read and validated,
//! and the one place that turns it into [`RenderOptions`]. `render`, `diff`, `apply
//! --reconcile` (`--operator-config FILE`), `run controller` (`--config FILE`) and `install`
//! (which writes it into a ConfigMap) all go through here, so a preview renders exactly what
//! the operator will. Pure: parsing text, no file or cluster access.

mod check;
mod duration;
mod types;

use std::time::Duration;

pub(crate) use check::is_dns_label;
pub use duration::parse_go_duration;
pub use types::*;

use crate::manifest::Problem;
use crate::render::RenderOptions;

/// Name of the ConfigMap `install` and the chart write the configuration into.
pub const CONFIG_MAP_NAME: &str = "dynamo-operator-config";
/// Key of the configuration in that ConfigMap.
pub const CONFIG_MAP_KEY: &str = "config.yaml";
/// Where the operator's Deployment mounts the ConfigMap.
pub const MOUNT_DIR: &str = "/etc/dynamo-operator";

/// Default `namespace.scope.leaseDuration`.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(30);
/// Default `namespace.scope.leaseRenewInterval`.
pub const DEFAULT_LEASE_RENEW_INTERVAL: Duration = Duration::from_secs(10);

/// Parses and validates a configuration file's text. `file` names it in problems. Every
/// problem is reported (unknown keys with a "did you mean", wrong types, bad addresses), each
/// at its line and column.
pub fn parse(file: &str, text: &str) -> Result<OperatorConfiguration, Vec<Problem>> {
    check::parse(file, text)
}

/// Which orchestrator APIs a cluster serves: what decides an `orchestrators.*.enabled` the
/// configuration leaves unset, as upstream's operator detects them at start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetectedApis {
    /// `grove.io`.
    pub grove: bool,
    /// `leaderworkerset.x-k8s.io`.
    pub lws: bool,
    /// `scheduling.volcano.sh`.
    pub volcano: bool,
    /// `scheduling.run.ai` (the Kai scheduler).
    pub kai: bool,
}

impl DetectedApis {
    /// From the API group names a cluster serves.
    pub fn from_groups<'a>(groups: impl IntoIterator<Item = &'a str>) -> DetectedApis {
        let mut d = DetectedApis::default();
        for g in groups {
            match g {
                "grove.io" => d.grove = true,
                "leaderworkerset.x-k8s.io" => d.lws = true,
                "scheduling.volcano.sh" => d.volcano = true,
                "scheduling.run.ai" => d.kai = true,
                _ => {}
            }
        }
        d
    }
}

impl OperatorConfiguration {
    /// The settings that shape rendered objects, offline: orchestrators the configuration
    /// leaves unset count as absent. See [`OperatorConfiguration::render_options_with`].
    pub fn render_options(&self) -> RenderOptions {
        self.render_options_with(&DetectedApis::default())
    }

    /// The settings that shape rendered objects, with unset orchestrators decided by what the
    /// cluster serves (LeaderWorkerSet needs Volcano for its gangs, as upstream's). The only
    /// constructor of [`RenderOptions`] outside tests: the CLI and the operator both call it.
    pub fn render_options_with(&self, detected: &DetectedApis) -> RenderOptions {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let o = &self.orchestrators;
        let orchestrators = crate::render::Orchestrators {
            grove: o.grove.enabled.unwrap_or(detected.grove),
            grove_termination_delay: non_empty(&o.grove.termination_delay),
            lws: o.lws.enabled.unwrap_or(detected.lws && detected.volcano),
            kai: o.kai_scheduler.enabled.unwrap_or(detected.kai),
            mpi_ssh_secret_name: non_empty(&self.mpi.ssh_secret_name),
            mpi_ssh_secret_namespace: non_empty(&self.mpi.ssh_secret_namespace),
        };
        RenderOptions {
            orchestrators,
            discovery_backend: non_empty(&self.discovery.backend),
            nats_address: non_empty(&self.infrastructure.nats_address),
            etcd_address: non_empty(&self.infrastructure.etcd_address),
            model_express_url: non_empty(&self.infrastructure.model_express_url),
            prometheus_endpoint: non_empty(&self.infrastructure.prometheus_endpoint),
            ingress_class_name: non_empty(&self.ingress.controller_class_name),
            ingress_tls_secret_name: non_empty(&self.ingress.controller_tls_secret_name),
            ingress_host_suffix: non_empty(&self.ingress.host_suffix),
            virtual_service_gateway: non_empty(&self.ingress.virtual_service_gateway),
        }
    }

    /// The namespace-scope marker's validity (`namespace.scope.leaseDuration`).
    pub fn lease_duration(&self) -> Duration {
        self.namespace
            .scope
            .lease_duration
            .as_deref()
            .and_then(parse_go_duration)
            .unwrap_or(DEFAULT_LEASE_DURATION)
    }

    /// How often the marker is renewed (`namespace.scope.leaseRenewInterval`).
    pub fn lease_renew_interval(&self) -> Duration {
        self.namespace
            .scope
            .lease_renew_interval
            .as_deref()
            .and_then(parse_go_duration)
            .unwrap_or(DEFAULT_LEASE_RENEW_INTERVAL)
    }

    /// The restricted namespace, if the operator is namespace-scoped.
    pub fn restricted_namespace(&self) -> Option<&str> {
        self.namespace
            .restricted
            .as_deref()
            .filter(|s| !s.is_empty())
    }

    /// The file as `install` writes it into the ConfigMap: `apiVersion` and `kind` first,
    /// then only the keys that are set, in upstream's key order.
    pub fn to_yaml(&self) -> String {
        let mut full = self.clone();
        full.api_version = Some(API_VERSION.to_string());
        full.kind = Some(KIND.to_string());
        crate::yaml::to_string(&full).expect("the configuration serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> OperatorConfiguration {
        parse("c.yaml", text).unwrap_or_else(|p| panic!("{p:?}"))
    }

    fn problems(text: &str) -> Vec<String> {
        parse("c.yaml", text)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    const HEADER: &str =
        "apiVersion: operator.config.dynamo.nvidia.com/v1alpha1\nkind: OperatorConfiguration\n";

    #[test]
    fn upstream_chart_configuration_is_read_key_for_key() {
        let c = ok(&format!(
            "{HEADER}server:\n  metrics:\n    bindAddress: \"0.0.0.0\"\n    secure: true\n  webhook:\n    certProvisionMode: \"auto\"\n    secretName: \"webhook-server-cert\"\n    serviceName: dynamo-platform-dynamo-operator-webhook-service\nleaderElection:\n  enabled: true\n  id: \"dynamo.nvidia.com\"\n  namespace: \"kube-system\"\norchestrators:\n  kaiScheduler:\n    enabled: false\n  volcanoScheduler:\n    enabled: false\n  grove:\n    enabled: false\ninfrastructure:\n  natsAddress: \"nats://dynamo-platform-nats.dynamo-system.svc.cluster.local:4222\"\n  etcdAddress: \"dynamo-platform-etcd.dynamo-system.svc.cluster.local:2379\"\n  modelExpressURL: http://mx:8001\n  prometheusEndpoint: http://prometheus:9090\ningress:\n  controllerClassName: nginx\n  controllerTLSSecretName: my-tls-secret\n  hostSuffix: example.com\nrbac:\n  plannerClusterRoleName: x-planner\nmpi:\n  sshSecretName: \"mpi-run-ssh-secret\"\n  sshSecretNamespace: \"dynamo-system\"\ndiscovery:\n  backend: etcd\ngpu:\n  discoveryEnabled: true\n"
        ));
        let r = c.render_options();
        assert_eq!(
            r.etcd_address.as_deref(),
            Some("dynamo-platform-etcd.dynamo-system.svc.cluster.local:2379")
        );
        assert_eq!(
            r.nats_address.as_deref(),
            Some("nats://dynamo-platform-nats.dynamo-system.svc.cluster.local:4222")
        );
        assert_eq!(r.model_express_url.as_deref(), Some("http://mx:8001"));
        assert_eq!(
            r.prometheus_endpoint.as_deref(),
            Some("http://prometheus:9090")
        );
        assert_eq!(r.ingress_class_name.as_deref(), Some("nginx"));
        assert_eq!(r.ingress_tls_secret_name.as_deref(), Some("my-tls-secret"));
        assert_eq!(r.ingress_host_suffix.as_deref(), Some("example.com"));
        assert_eq!(r.discovery_backend.as_deref(), Some("etcd"));
        assert_eq!(c.leader_election.enabled, Some(true));
        assert_eq!(c.mpi.ssh_secret_name.as_deref(), Some("mpi-run-ssh-secret"));
        assert_eq!(c.orchestrators.grove.enabled, Some(false));
    }

    #[test]
    fn unset_orchestrators_follow_the_cluster_and_set_ones_win() {
        let lws_and_volcano = DetectedApis::from_groups([
            "apps",
            "leaderworkerset.x-k8s.io",
            "scheduling.volcano.sh",
        ]);
        let unset = ok("");
        assert!(!unset.render_options().orchestrators.lws);
        assert!(
            unset
                .render_options_with(&lws_and_volcano)
                .orchestrators
                .lws
        );
        let lws_only = DetectedApis::from_groups(["leaderworkerset.x-k8s.io"]);
        assert!(
            !unset.render_options_with(&lws_only).orchestrators.lws,
            "LWS needs Volcano"
        );
        let off = ok(
            "orchestrators:\n  lws:\n    enabled: false\n  grove:\n    enabled: true\n    terminationDelay: 4h\nmpi:\n  sshSecretName: my-ssh\n",
        );
        let r = off.render_options_with(&lws_and_volcano).orchestrators;
        assert!(!r.lws && r.grove && !r.kai);
        assert_eq!(r.grove_termination_delay.as_deref(), Some("4h"));
        assert_eq!(r.mpi_ssh_secret_name.as_deref(), Some("my-ssh"));
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let c = ok("");
        assert_eq!(c, OperatorConfiguration::default());
        assert_eq!(c.render_options(), RenderOptions::default());
        assert_eq!(c.lease_duration(), Duration::from_secs(30));
        assert_eq!(c.lease_renew_interval(), Duration::from_secs(10));
        assert_eq!(c.restricted_namespace(), None);
    }

    #[test]
    fn the_written_file_reads_back_the_same() {
        let c = ok(&format!(
            "{HEADER}namespace:\n  restricted: team-a\n  scope:\n    leaseDuration: 45s\n    leaseRenewInterval: 15s\ninfrastructure:\n  etcdAddress: http://etcd:2379\n"
        ));
        let text = c.to_yaml();
        assert!(text.starts_with("apiVersion: operator.config.dynamo.nvidia.com/v1alpha1\nkind: OperatorConfiguration\n"), "{text}");
        let mut back = ok(&text);
        back.api_version = c.api_version.clone();
        back.kind = c.kind.clone();
        assert_eq!(back, c);
        assert_eq!(c.lease_duration(), Duration::from_secs(45));
        assert_eq!(c.restricted_namespace(), Some("team-a"));
    }

    #[test]
    fn unknown_keys_are_named_with_their_position_and_a_suggestion() {
        assert_eq!(
            problems(&format!(
                "{HEADER}infrastructure:\n  etcdAdress: http://etcd:2379\n"
            )),
            [
                "c.yaml:4:3: OperatorConfiguration: infrastructure.etcdAdress: unknown field; did you mean \"etcdAddress\"?"
            ]
        );
        assert_eq!(
            problems(&format!("{HEADER}telemetry: {{}}\n")),
            ["c.yaml:3:1: OperatorConfiguration: telemetry: unknown field"]
        );
    }

    #[test]
    fn bad_values_are_each_reported() {
        let p = problems(&format!(
            "{HEADER}infrastructure:\n  etcdAddress: \"etcd at 2379\"\n  natsAddress: nats-server:4222\n  modelExpressURL: mx:8001\ningress:\n  hostSuffix: Example_.com\ndiscovery:\n  backend: consul\nnamespace:\n  restricted: Team_A\n  scope:\n    leaseDuration: 10s\n    leaseRenewInterval: 10s\norchestrators:\n  grove:\n    terminationDelay: soon\n"
        ));
        assert_eq!(
            p,
            [
                "c.yaml:4:3: OperatorConfiguration: infrastructure.etcdAddress: \"etcd at 2379\" is not an etcd endpoint: use host:port or http(s)://host:port, comma-separated for several",
                "c.yaml:5:3: OperatorConfiguration: infrastructure.natsAddress: \"nats-server:4222\" is not a NATS URL: use nats://host:port (or tls://host:port), comma-separated for several",
                "c.yaml:6:3: OperatorConfiguration: infrastructure.modelExpressURL: \"mx:8001\" is not an http(s):// URL",
                "c.yaml:8:3: OperatorConfiguration: ingress.hostSuffix: \"Example_.com\" is not a DNS name: use lowercase letters, digits, '-' and '.', e.g. example.com",
                "c.yaml:10:3: OperatorConfiguration: discovery.backend: unsupported value \"consul\": must be one of \"kubernetes\", \"etcd\"",
                "c.yaml:12:3: OperatorConfiguration: namespace.restricted: \"Team_A\" is not a namespace name: use at most 63 lowercase letters, digits and '-'",
                "c.yaml:15:5: OperatorConfiguration: namespace.scope.leaseRenewInterval: 10s must be shorter than leaseDuration (10s), or the marker expires between renewals",
                "c.yaml:18:5: OperatorConfiguration: orchestrators.grove.terminationDelay: \"soon\" is not a duration: use e.g. 30s, 15m, 4h or 1h30m",
            ]
        );
    }

    #[test]
    fn wrong_kind_and_types_are_errors() {
        assert_eq!(
            problems("apiVersion: v1\nkind: ConfigMap\n"),
            [
                "c.yaml:1:1: OperatorConfiguration: apiVersion: expected \"operator.config.dynamo.nvidia.com/v1alpha1\", got \"v1\"",
                "c.yaml:2:1: OperatorConfiguration: kind: expected \"OperatorConfiguration\", got \"ConfigMap\"",
            ]
        );
        assert_eq!(
            problems(&format!(
                "{HEADER}leaderElection:\n  enabled: \"yes please\"\n"
            )),
            [
                "c.yaml:4:3: OperatorConfiguration: leaderElection.enabled: expected a boolean, got a string \"yes please\""
            ]
        );
        assert_eq!(
            problems("- a\n- b\n"),
            ["c.yaml:1:1: OperatorConfiguration: expected an object, got a list"]
        );
        let syntax = problems("a: [\n");
        assert_eq!(syntax.len(), 1);
        assert!(syntax[0].starts_with("c.yaml:"), "{syntax:?}");
        assert!(
            syntax[0].contains("OperatorConfiguration: invalid YAML: "),
            "{syntax:?}"
        );
    }
}
