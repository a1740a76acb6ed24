//! The deployment modes on a real API server, installed with the real `helm`: a namespace-scoped
//! install by a user whom real RBAC limits to one namespace (least privilege proven, not
//! assumed), and a cluster-wide install that hands a namespace over to a namespace-scoped
//! operator and takes it back (hybrid mode). See tests/common/real.rs for the control planes.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::real::{
    Cluster, Guard, cluster_with_crds, get_json, items, ok, operator, run_installed_operator,
    wait_for, writes,
};
use common::sim::temp_file;

const MARKER: &str = "dynamo-operator-namespace-scope";

/// Applies `yaml` as the admin.
fn admin_apply(c: &Cluster, name: &str, yaml: &str) {
    let file = temp_file(name, yaml);
    ok(&c.dynamoctl(&["apply", file.to_str().unwrap()]));
}

/// `kubectl auth can-i ...` as the user of `kubeconfig`: true for "yes".
fn can_i(c: &Cluster, kubeconfig: &Path, args: &[&str]) -> Option<bool> {
    let mut all = vec!["auth", "can-i"];
    all.extend(args);
    let out = c.kubectl_as(kubeconfig, &all)?;
    Some(String::from_utf8_lossy(&out.stdout).trim() == "yes")
}

/// The Deployment replicas of `name` in `ns`, if it exists.
fn deployment_replicas(c: &Cluster, ns: &str, name: &str) -> Option<u64> {
    let out = c.kubectl(&["get", "deployment", "-n", ns, name, "-o", "json"])?;
    if !out.status.success() {
        return None;
    }
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    d["spec"]["replicas"].as_u64()
}

fn marker_exists(c: &Cluster, ns: &str) -> bool {
    c.kubectl(&["get", "lease", "-n", ns, MARKER])
        .is_some_and(|o| o.status.success())
}

#[test]
fn namespace_scoped_helm_install_by_a_namespace_admin() {
    // The CRDs are the cluster admin's job (the chart's crds/ folder needs cluster rights).
    let Some(c) = cluster_with_crds() else {
        return;
    };
    let ns = c.namespace("real-helm-tenant");
    let user = format!("tenant-{}", std::process::id());
    let tenant = c.kubeconfig_for(&user, &[]);

    // The tenant owns one namespace: Kubernetes' `admin` role there, plus the Dynamo
    // resources and the kinds the operator's Role grants that `admin` does not (RBAC only
    // lets a user grant what they hold; the orchestrators' kinds are granted whether or not
    // their CRDs exist, since the operator detects them at run time; Istio's likewise).
    // Nothing cluster-scoped.
    admin_apply(
        c,
        &format!("tenant-rbac-{ns}"),
        &format!(
            "apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: tenant-admin, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: dynamo-tenant, namespace: {ns}}}
rules:
- apiGroups: [nvidia.com, grove.io, leaderworkerset.x-k8s.io, scheduling.volcano.sh, networking.istio.io]
  resources: ['*']
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: ['', events.k8s.io]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: dynamo-tenant, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: dynamo-tenant}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}]
"
        ),
    );
    let Some(cluster_rights) = can_i(c, &tenant, &["create", "clusterroles"]) else {
        return;
    };
    assert!(!cluster_rights, "the tenant must not hold cluster rights");
    assert_eq!(
        can_i(c, &tenant, &["create", "roles", "-n", "default"]),
        Some(false),
        "the tenant must be limited to its namespace"
    );

    // The namespace-scoped install succeeds with only those rights.
    let Some(install) = c.helm_as(
        &tenant,
        &[
            "install",
            "dynamo-platform",
            "charts/platform",
            "-n",
            &ns,
            // The cluster-scoped parts are the cluster admin's: the CRDs and the replica
            // policy (docs/installation.md, "Without cluster-admin rights").
            "--skip-crds",
            "--set",
            "dynamo-operator.replicaPolicy.enabled=false",
            "--set",
            "dynamo-operator.namespaceRestriction.enabled=true",
            "--wait",
            "--timeout",
            "180s",
        ],
    ) else {
        return;
    };
    ok(&install);

    // The installed operator, as its ServiceAccount, runs the tenant's graph to Ready.
    let Some(_operator) = run_installed_operator(c, &ns) else {
        return;
    };
    wait_for(
        Duration::from_secs(60),
        "the operator's namespace-scope marker",
        || marker_exists(c, &ns),
    );
    let out = ok(&c.dynamoctl_as(
        &tenant,
        &[
            "apply",
            "-n",
            &ns,
            "examples/mocker-agg.yaml",
            "--wait",
            "--timeout",
            "180s",
        ],
    ));
    assert!(out.contains("is Ready"), "{out}");

    // The tenant removes the release again; the operator's objects go with it.
    ok(&c
        .helm_as(
            &tenant,
            &["uninstall", "dynamo-platform", "-n", &ns, "--wait"],
        )
        .unwrap());
    let left = get_json(
        c,
        &[
            "get",
            "deployment,role,rolebinding,serviceaccount",
            "-n",
            &ns,
        ],
    )
    .unwrap();
    assert!(
        items(&left)
            .iter()
            .all(|o| o["metadata"]["name"] != "dynamo-operator"),
        "{left}"
    );
}

/// Sends SIGTERM (a pod's graceful stop) and waits for the operator to exit.
fn stop_gracefully(mut operator: Guard) {
    let pid = operator.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if operator.0.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the operator did not exit within 30 s of SIGTERM");
}

#[test]
fn cluster_wide_helm_install_hands_a_namespace_over_and_takes_it_back() {
    // A control plane of its own: a cluster-wide operator would reconcile other tests' graphs.
    let Some(c) = Cluster::dedicated("hybrid") else {
        return;
    };
    let Some(install) = c.helm_as(
        &c.kubeconfig,
        &[
            "install",
            "dynamo-platform",
            "charts/platform",
            "-n",
            "dynamo-system",
            "--create-namespace",
            "--wait",
            "--timeout",
            "180s",
        ],
    ) else {
        return;
    };
    ok(&install);
    let Some(_cluster_wide) = run_installed_operator(&c, "dynamo-system") else {
        return;
    };
    let cluster_wide_user = "system:serviceaccount:dynamo-system:dynamo-operator";

    // Cluster-wide: a graph in any namespace.
    let shared = c.namespace("shared");
    let out = ok(&c.dynamoctl(&[
        "apply",
        "-n",
        &shared,
        "examples/mocker-agg.yaml",
        "--wait",
        "--timeout",
        "180s",
    ]));
    assert!(out.contains("is Ready"), "{out}");
    assert!(
        !writes(&c, 0, &shared, cluster_wide_user).is_empty(),
        "the cluster-wide operator reconciled {shared}"
    );

    // Hybrid: a namespace-scoped operator (another identity) claims its namespace with the
    // marker; the cluster-wide one keeps out of it.
    let team = c.namespace("team");
    let team_kubeconfig = c.kubeconfig_for("team-operator", &["system:masters"]);
    let team_operator = operator(
        &team_kubeconfig,
        &[
            "run".into(),
            "controller".into(),
            format!("--restricted-namespace={team}"),
        ],
        &c.dir.join("team-operator.log"),
    );
    wait_for(Duration::from_secs(60), "the team's marker", || {
        marker_exists(&c, &team)
    });
    let before = c.audit().len();
    let out = ok(&c.dynamoctl(&[
        "apply",
        "-n",
        &team,
        "examples/mocker-agg.yaml",
        "--wait",
        "--timeout",
        "180s",
    ]));
    assert!(out.contains("is Ready"), "{out}");
    assert!(
        !writes(&c, before, &team, "team-operator").is_empty(),
        "the namespace-scoped operator reconciled {team}"
    );
    assert_eq!(
        writes(&c, before, &team, cluster_wide_user),
        Vec::<serde_json::Value>::new(),
        "the cluster-wide operator wrote into a namespace another operator holds"
    );

    // Hand-back: the namespace-scoped operator stops (deleting its marker); the cluster-wide
    // operator takes the namespace over and follows a change to its graph.
    stop_gracefully(team_operator);
    wait_for(Duration::from_secs(30), "the marker to be released", || {
        !marker_exists(&c, &team)
    });
    let scaled = temp_file(
        "mocker-agg-scaled",
        &std::fs::read_to_string(common::repo().join("examples/mocker-agg.yaml"))
            .unwrap()
            .replace("replicas: 2", "replicas: 3"),
    );
    let before = c.audit().len();
    ok(&c.dynamoctl(&["apply", "-n", &team, scaled.to_str().unwrap()]));
    wait_for(
        Duration::from_secs(90),
        "the cluster-wide operator to scale the team's worker",
        || deployment_replicas(&c, &team, "mocker-agg-worker") == Some(3),
    );
    assert!(
        !writes(&c, before, &team, cluster_wide_user).is_empty(),
        "the cluster-wide operator took {team} back"
    );
}
