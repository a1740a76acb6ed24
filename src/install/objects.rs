//! The objects of an installation, in apply order.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::config::{
    CHECKSUM_ANNOTATION, HEALTH_PORT, METRICS_PORT, WEBHOOK_PORT, WEBHOOK_SECRET_NAME,
    WEBHOOK_SERVICE_NAME, config_text, sha256_hex,
};
use super::rbac::{conversion_rules, webhook_secret_rules};
use super::{InstallOptions, cluster_rules, rules};
use crate::api::consts::{
    LABEL_APP_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, LABEL_PART_OF, MANAGED_BY,
};
use crate::config::{CONFIG_MAP_KEY, CONFIG_MAP_NAME, MOUNT_DIR};

/// The ClusterRole, Role and their bindings for the conversion webhook (cluster-wide installs).
pub const CONVERSION_RBAC_NAME: &str = "dynamo-operator-conversion";
/// `app.kubernetes.io/name` of every installed object, and the name of most of them.
pub const NAME: &str = "dynamo-operator";
/// The operator's ServiceAccount.
pub const SERVICE_ACCOUNT_NAME: &str = NAME;
/// The operator's Deployment.
pub const DEPLOYMENT_NAME: &str = NAME;
/// The Service in front of `/metrics`.
pub const METRICS_SERVICE_NAME: &str = "dynamo-operator-metrics";
/// Annotation of the operator Deployment when PodMonitors are installed.
pub const POD_MONITORS_ANNOTATION: &str = "nvidia.com/pod-monitors";
/// Field manager of `dynamoctl install`.
pub const FIELD_MANAGER: &str = "dynamoctl-install";

/// The distroless `nonroot` user (also the bundled etcd's and NATS's).
pub(super) const NONROOT_UID: i64 = 65532;

/// The recommended labels of an installed object: the same in the Helm chart, except that
/// Helm sets `managed-by: Helm` and adds `helm.sh/chart`.
pub fn labels(opts: &InstallOptions) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_NAME.into(), NAME.into()),
        (LABEL_INSTANCE.into(), opts.instance.clone()),
        (LABEL_APP_COMPONENT.into(), "controller".into()),
        (LABEL_PART_OF.into(), "dynamo".into()),
        (LABEL_MANAGED_BY.into(), MANAGED_BY.into()),
        (
            "app.kubernetes.io/version".into(),
            opts.operator_version.clone(),
        ),
    ])
}

fn selector(opts: &InstallOptions) -> Value {
    json!({ LABEL_NAME: NAME, LABEL_INSTANCE: opts.instance })
}

/// The arguments of the operator container: `run controller` reading the mounted
/// configuration, and the one setting that is not configuration (the version it reports).
pub fn operator_args(opts: &InstallOptions) -> Vec<String> {
    vec![
        "run".to_string(),
        "controller".to_string(),
        format!("--config={MOUNT_DIR}/{CONFIG_MAP_KEY}"),
        format!("--operator-version={}", opts.operator_version),
    ]
}

/// Every object of the installation, in apply order: the CRDs, the Namespace (cluster-wide
/// mode only: a namespace-scoped install creates no cluster-scoped object besides the CRDs
/// and the replica policy), the ServiceAccount, RBAC, the replica policy and its binding,
/// the configuration ConfigMap, the Deployment and the metrics
/// Service, then the bundled etcd and NATS and the PodMonitors when asked for. Call
/// [`InstallOptions::validate`] first.
pub fn manifests(opts: &InstallOptions) -> Vec<Value> {
    let mut out = crds();
    if !opts.namespace_scoped {
        // Until the operator starts and injects its own (with the CA bundle), the CRDs name
        // this installation's webhook Service.
        for crd in &mut out {
            if let Some(service) = crd.pointer_mut("/spec/conversion/webhook/clientConfig/service")
            {
                service["namespace"] = json!(opts.namespace);
            }
        }
    }
    let labels = labels(opts);
    let ns = opts.namespace.as_str();
    let meta = |name: &str| json!({ "name": name, "namespace": ns, "labels": labels });
    if !opts.namespace_scoped {
        out.push(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": ns, "labels": labels },
        }));
    }
    out.push(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(SERVICE_ACCOUNT_NAME),
    }));
    let (role_kind, binding_kind, role_meta) = if opts.namespace_scoped {
        ("Role", "RoleBinding", meta(NAME))
    } else {
        (
            "ClusterRole",
            "ClusterRoleBinding",
            json!({ "name": NAME, "labels": labels }),
        )
    };
    let mut role_rules = rules();
    if !opts.namespace_scoped {
        role_rules.extend(cluster_rules());
    }
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": role_kind,
        "metadata": role_meta,
        "rules": role_rules,
    }));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": binding_kind,
        "metadata": role_meta,
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": NAME },
        "subjects": [{ "kind": "ServiceAccount", "name": SERVICE_ACCOUNT_NAME, "namespace": ns }],
    }));
    // The replica policy of scaling adapters, bound everywhere (cluster-wide) or in the
    // install's namespace only.
    let policy_labels = json!(labels);
    let scope = opts.namespace_scoped.then_some(ns);
    out.push(super::policy::replica_policy(&policy_labels, scope));
    out.push(super::policy::replica_binding(&policy_labels, scope));
    let config = config_text(opts);
    out.push(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(CONFIG_MAP_NAME),
        "data": { CONFIG_MAP_KEY: config },
    }));
    let mut deployment_meta = meta(DEPLOYMENT_NAME);
    if opts.pod_monitors.is_some() {
        // Records the intent, so `dynamoctl check` can tell when the PodMonitors went away
        // with the Prometheus Operator's API.
        deployment_meta["annotations"] = json!({ POD_MONITORS_ANNOTATION: "true" });
    }
    out.push(deployment(opts, deployment_meta, &sha256_hex(&config)));
    out.push(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(METRICS_SERVICE_NAME),
        "spec": {
            "selector": selector(opts),
            "ports": [{ "name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP" }],
        },
    }));
    if !opts.namespace_scoped {
        out.extend(conversion_objects(opts, &meta));
    }
    out.extend(super::bundled::objects(opts));
    out.extend(super::monitoring::pod_monitors(opts));
    out
}

/// The conversion webhook's RBAC and Service (cluster-wide installs only: a namespace-scoped
/// operator cannot patch the cluster-scoped CRDs, so conversion is the cluster-wide one's).
/// The Service publishes not-ready pods: the webhook serves before the operator is Ready, and
/// the operator cannot become Ready (it lists graphs) until conversion works.
fn conversion_objects(opts: &InstallOptions, meta: &dyn Fn(&str) -> Value) -> Vec<Value> {
    let subjects = json!([{ "kind": "ServiceAccount", "name": SERVICE_ACCOUNT_NAME, "namespace": opts.namespace }]);
    let cluster_meta = json!({ "name": CONVERSION_RBAC_NAME, "labels": labels(opts) });
    vec![
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": cluster_meta,
            "rules": conversion_rules(),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": cluster_meta,
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CONVERSION_RBAC_NAME },
            "subjects": subjects,
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(CONVERSION_RBAC_NAME),
            "rules": webhook_secret_rules(WEBHOOK_SECRET_NAME),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(CONVERSION_RBAC_NAME),
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": CONVERSION_RBAC_NAME },
            "subjects": subjects,
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(WEBHOOK_SERVICE_NAME),
            "spec": {
                "selector": selector(opts),
                "publishNotReadyAddresses": true,
                "ports": [{ "name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP" }],
            },
        }),
    ]
}

/// The CRDs as committed in `src/install/crds.json`: generating them from the types takes
/// ~100 ms of schema work, parsing this ~2 ms, and `dynamoctl generate` (checked by a test)
/// keeps it equal to [`crate::api::crd::all`].
pub fn crds() -> Vec<Value> {
    serde_json::from_str(include_str!("crds.json")).expect("src/install/crds.json is valid JSON")
}

/// What `src/install/crds.json` must contain: the graph and component CRDs generated from the
/// types, the DynamoWorkerMetadata CRD the runtime writes to, the scaling adapters' and the
/// DynamoModels' CRDs.
pub fn crds_json() -> String {
    let crds: Vec<Value> = crate::api::crd::all()
        .iter()
        .chain([
            &crate::api::worker_metadata::crd(),
            &crate::api::scaling_adapter::crd(),
            &crate::api::model::crd(),
        ])
        .map(|crd| serde_json::to_value(crd).expect("CRD serialises"))
        .collect();
    serde_json::to_string(&crds).expect("CRDs serialise") + "\n"
}

fn deployment(opts: &InstallOptions, meta: Value, config_checksum: &str) -> Value {
    let strategy = if opts.replicas == 1 {
        // One replica: never two operators at once, even for a moment.
        json!({ "type": "Recreate" })
    } else {
        json!({ "type": "RollingUpdate" })
    };
    let probe = |path: &str, delay: i32, period: i32| {
        json!({
            "httpGet": { "path": path, "port": "health" },
            "initialDelaySeconds": delay,
            "periodSeconds": period,
        })
    };
    let mut ports = vec![
        json!({ "name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP" }),
        json!({ "name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP" }),
    ];
    if !opts.namespace_scoped {
        ports.push(json!({ "name": "webhook", "containerPort": WEBHOOK_PORT, "protocol": "TCP" }));
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": opts.replicas,
            "strategy": strategy,
            "selector": { "matchLabels": selector(opts) },
            "template": {
                "metadata": {
                    "labels": labels(opts),
                    // A new configuration rolls the operator (it reads the file once).
                    "annotations": { CHECKSUM_ANNOTATION: config_checksum },
                },
                "spec": {
                    "serviceAccountName": SERVICE_ACCOUNT_NAME,
                    "terminationGracePeriodSeconds": 30,
                    // The Kubernetes "restricted" Pod Security Standard.
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": NONROOT_UID,
                        "runAsGroup": NONROOT_UID,
                        "seccompProfile": { "type": "RuntimeDefault" },
                    },
                    "containers": [{
                        "name": "manager",
                        "image": opts.image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": operator_args(opts),
                        // POD_NAMESPACE: where the MPI SSH secret is copied from when the
                        // configuration names no mpi.sshSecretNamespace.
                        "env": [{
                            "name": "POD_NAME",
                            "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } },
                        }, {
                            "name": "POD_NAMESPACE",
                            "valueFrom": { "fieldRef": { "fieldPath": "metadata.namespace" } },
                        }],
                        "ports": ports,
                        "livenessProbe": probe("/healthz", 15, 20),
                        "readinessProbe": probe("/readyz", 5, 10),
                        // Measured footprint: RSS under 100 MiB with thousands of objects.
                        "resources": {
                            "requests": { "cpu": "50m", "memory": "64Mi" },
                            "limits": { "cpu": "500m", "memory": "256Mi" },
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "capabilities": { "drop": ["ALL"] },
                            "readOnlyRootFilesystem": true,
                            "runAsNonRoot": true,
                        },
                        "volumeMounts": [{ "name": "config", "mountPath": MOUNT_DIR, "readOnly": true }],
                    }],
                    "volumes": [{ "name": "config", "configMap": { "name": CONFIG_MAP_NAME } }],
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::scope_rules;

    fn kinds(objs: &[Value]) -> Vec<String> {
        objs.iter()
            .map(|o| o["kind"].as_str().unwrap().to_string())
            .collect()
    }

    fn find<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
        objs.iter().find(|o| o["kind"] == kind).unwrap()
    }

    #[test]
    fn cluster_wide_install_in_apply_order() {
        let objs = manifests(&InstallOptions::default());
        assert_eq!(
            kinds(&objs),
            [
                "CustomResourceDefinition",
                "CustomResourceDefinition",
                "CustomResourceDefinition",
                "CustomResourceDefinition",
                "CustomResourceDefinition",
                "Namespace",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding",
                "ConfigMap",
                "Deployment",
                "Service",
                // The conversion webhook's.
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding",
                "Service"
            ]
        );
        let webhook = objs.last().unwrap();
        assert_eq!(webhook["metadata"]["name"], "dynamo-operator-webhook");
        assert_eq!(webhook["spec"]["publishNotReadyAddresses"], true);
        // The CRDs name this installation's webhook Service until the operator takes over.
        assert_eq!(
            objs[0].pointer("/spec/conversion/webhook/clientConfig/service/namespace"),
            Some(&json!("dynamo-system"))
        );
        let dep = find(&objs, "Deployment");
        assert_eq!(dep["spec"]["strategy"]["type"], "Recreate");
        let args = &dep["spec"]["template"]["spec"]["containers"][0]["args"];
        assert_eq!(
            args,
            &json!([
                "run",
                "controller",
                "--config=/etc/dynamo-operator/config.yaml",
                format!("--operator-version=v{}", env!("CARGO_PKG_VERSION")),
            ])
        );
        // The configuration is mounted where --config reads it, and its checksum rolls the pod.
        let config = find(&objs, "ConfigMap");
        let text = config["data"]["config.yaml"].as_str().unwrap();
        assert_eq!(
            text,
            crate::install::config_text(&InstallOptions::default())
        );
        let pod = &dep["spec"]["template"];
        assert_eq!(
            pod["metadata"]["annotations"]["checksum/config"],
            crate::install::sha256_hex(text)
        );
        assert_eq!(
            pod["spec"]["volumes"][0]["configMap"]["name"],
            config["metadata"]["name"]
        );
        assert_eq!(
            pod["spec"]["containers"][0]["volumeMounts"][0]["mountPath"],
            "/etc/dynamo-operator"
        );
    }

    #[test]
    fn a_configuration_change_changes_the_checksum() {
        let checksum = |opts: &InstallOptions| {
            find(&manifests(opts), "Deployment")["spec"]["template"]["metadata"]["annotations"]
                ["checksum/config"]
                .clone()
        };
        let mut opts = InstallOptions::default();
        let before = checksum(&opts);
        opts.config.infrastructure.etcd_address = Some("http://etcd:2379".into());
        assert_ne!(checksum(&opts), before);
    }

    #[test]
    fn namespace_scoped_install_has_no_cluster_scoped_object_but_crds_and_its_policy() {
        let opts = InstallOptions {
            namespace: "team-a".into(),
            namespace_scoped: true,
            replicas: 2,
            etcd: Some(Default::default()),
            nats: Some(Default::default()),
            pod_monitors: Some("prometheus".into()),
            ..InstallOptions::default()
        };
        let objs = manifests(&opts);
        for o in &objs {
            if o["apiVersion"] == crate::install::policy::API_VERSION {
                // Its own replica policy, bound in team-a only.
                assert_eq!(o["metadata"]["name"], "dynamo-graph-replicas-team-a");
            } else if o["kind"] != "CustomResourceDefinition" {
                assert_eq!(o["metadata"]["namespace"], "team-a", "{}", o["kind"]);
            }
        }
        assert!(kinds(&objs).contains(&"Role".to_string()));
        let dep = find(&objs, "Deployment");
        assert_eq!(dep["spec"]["strategy"]["type"], "RollingUpdate");
        let config = crate::config::parse(
            "c",
            find(&objs, "ConfigMap")["data"]["config.yaml"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(config.restricted_namespace(), Some("team-a"));
        assert_eq!(config.leader_election.namespace.as_deref(), Some("team-a"));
        assert_eq!(
            config.namespace.scope.lease_renew_interval.as_deref(),
            Some("10s")
        );
    }

    #[test]
    fn both_modes_grant_the_same_rules() {
        let cluster = manifests(&InstallOptions::default());
        let scoped = manifests(&InstallOptions {
            namespace_scoped: true,
            ..InstallOptions::default()
        });
        let rules_of = |objs: &[Value], kind: &str| {
            let role = objs.iter().find(|o| o["kind"] == kind).unwrap();
            scope_rules(role["rules"].as_array().unwrap())
        };
        // Cluster-scoped kinds (Kai's Queues) only a ClusterRole can grant.
        let mut expected = rules();
        expected.extend(cluster_rules());
        assert_eq!(rules_of(&cluster, "ClusterRole"), scope_rules(&expected));
        assert_eq!(rules_of(&scoped, "Role"), scope_rules(&rules()));
    }

    #[test]
    fn committed_crds_are_the_generated_ones() {
        assert_eq!(
            crds(),
            serde_json::from_str::<Vec<Value>>(&crds_json()).unwrap()
        );
    }

    #[test]
    fn restricted_pod_security() {
        let objs = manifests(&InstallOptions::default());
        let pod = &find(&objs, "Deployment")["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let c = &pod["containers"][0]["securityContext"];
        assert_eq!(c["allowPrivilegeEscalation"], false);
        assert_eq!(c["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(c["readOnlyRootFilesystem"], true);
    }
}
