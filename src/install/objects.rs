//! The objects of an installation, in apply order.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{InstallOptions, format_duration, rules};
use crate::api::consts::{
    LABEL_APP_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, LABEL_PART_OF, MANAGED_BY,
};

/// `app.kubernetes.io/name` of every installed object, and the name of most of them.
pub const NAME: &str = "dynamo-operator";
/// The operator's ServiceAccount.
pub const SERVICE_ACCOUNT_NAME: &str = NAME;
/// The operator's Deployment.
pub const DEPLOYMENT_NAME: &str = NAME;
/// The Service in front of `/metrics`.
pub const METRICS_SERVICE_NAME: &str = "dynamo-operator-metrics";
/// Field manager of `dynamoctl install`.
pub const FIELD_MANAGER: &str = "dynamoctl-install";

const HEALTH_PORT: i32 = 8081;
const METRICS_PORT: i32 = 8080;
/// The distroless `nonroot` user.
const NONROOT_UID: i64 = 65532;

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

/// The arguments of the operator container: `run controller` with the mode's flags, exactly
/// as `dynamoctl run controller` defines them.
pub fn operator_args(opts: &InstallOptions) -> Vec<String> {
    let mut args = vec!["run".to_string(), "controller".to_string()];
    if opts.namespace_scoped {
        args.push(format!("--restricted-namespace={}", opts.namespace));
        args.push(format!(
            "--namespace-scope-lease-duration={}",
            format_duration(opts.lease_duration)
        ));
        args.push(format!(
            "--namespace-scope-lease-renew-interval={}",
            format_duration(opts.lease_renew_interval)
        ));
    }
    args.extend([
        format!("--operator-version={}", opts.operator_version),
        // Always on: during a rollout old and new pods overlap, and only one may write.
        "--leader-elect=true".to_string(),
        format!("--leader-election-namespace={}", opts.namespace),
        format!("--health-probe-bind-address=:{HEALTH_PORT}"),
        format!("--metrics-bind-address=:{METRICS_PORT}"),
        "--log-format=json".to_string(),
    ]);
    args
}

/// Every object of the installation, in apply order: the CRDs, the Namespace (cluster-wide
/// mode only: a namespace-scoped install creates no cluster-scoped object besides the CRDs),
/// the ServiceAccount, RBAC, the Deployment and the metrics Service. Call
/// [`InstallOptions::validate`] first.
pub fn manifests(opts: &InstallOptions) -> Vec<Value> {
    let mut out = crds();
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
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": role_kind,
        "metadata": role_meta,
        "rules": rules(),
    }));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": binding_kind,
        "metadata": role_meta,
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": NAME },
        "subjects": [{ "kind": "ServiceAccount", "name": SERVICE_ACCOUNT_NAME, "namespace": ns }],
    }));
    out.push(deployment(opts, meta(DEPLOYMENT_NAME)));
    out.push(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(METRICS_SERVICE_NAME),
        "spec": {
            "selector": selector(opts),
            "ports": [{ "name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP" }],
        },
    }));
    out
}

/// The CRDs as committed in `src/install/crds.json`: generating them from the types takes
/// ~100 ms of schema work, parsing this ~2 ms, and `dynamoctl generate` (checked by a test)
/// keeps it equal to [`crate::api::crd::all`].
pub fn crds() -> Vec<Value> {
    serde_json::from_str(include_str!("crds.json")).expect("src/install/crds.json is valid JSON")
}

/// What `src/install/crds.json` must contain: both CRDs, generated from the types.
pub fn crds_json() -> String {
    let crds: Vec<Value> = crate::api::crd::all()
        .iter()
        .map(|crd| serde_json::to_value(crd).expect("CRD serialises"))
        .collect();
    serde_json::to_string(&crds).expect("CRDs serialise") + "\n"
}

fn deployment(opts: &InstallOptions, meta: Value) -> Value {
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
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": opts.replicas,
            "strategy": strategy,
            "selector": { "matchLabels": selector(opts) },
            "template": {
                "metadata": { "labels": labels(opts) },
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
                        "env": [{
                            "name": "POD_NAME",
                            "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } },
                        }],
                        "ports": [
                            { "name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP" },
                            { "name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP" },
                        ],
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
                    }],
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

    #[test]
    fn cluster_wide_install_in_apply_order() {
        let objs = manifests(&InstallOptions::default());
        assert_eq!(
            kinds(&objs),
            [
                "CustomResourceDefinition",
                "CustomResourceDefinition",
                "Namespace",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Deployment",
                "Service"
            ]
        );
        let dep = &objs[6];
        assert_eq!(dep["spec"]["strategy"]["type"], "Recreate");
        let args = &dep["spec"]["template"]["spec"]["containers"][0]["args"];
        assert_eq!(
            args,
            &json!([
                "run",
                "controller",
                format!("--operator-version=v{}", env!("CARGO_PKG_VERSION")),
                "--leader-elect=true",
                "--leader-election-namespace=dynamo-system",
                "--health-probe-bind-address=:8081",
                "--metrics-bind-address=:8080",
                "--log-format=json"
            ])
        );
    }

    #[test]
    fn namespace_scoped_install_has_no_cluster_scoped_object_but_crds() {
        let opts = InstallOptions {
            namespace: "team-a".into(),
            namespace_scoped: true,
            replicas: 2,
            ..InstallOptions::default()
        };
        let objs = manifests(&opts);
        for o in &objs {
            if o["kind"] != "CustomResourceDefinition" {
                assert_eq!(o["metadata"]["namespace"], "team-a", "{}", o["kind"]);
            }
        }
        assert!(kinds(&objs).contains(&"Role".to_string()));
        let dep = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
        assert_eq!(dep["spec"]["strategy"]["type"], "RollingUpdate");
        let args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap();
        assert_eq!(args[2], "--restricted-namespace=team-a");
        assert_eq!(args[3], "--namespace-scope-lease-duration=30s");
        assert_eq!(args[4], "--namespace-scope-lease-renew-interval=10s");
        assert!(args.contains(&json!("--leader-election-namespace=team-a")));
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
        assert_eq!(rules_of(&cluster, "ClusterRole"), rules_of(&scoped, "Role"));
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
        let pod = &objs[6]["spec"]["template"]["spec"];
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
