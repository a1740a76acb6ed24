//! What must hold on a real API server: these tests run dynamoctl against the control plane of
//! `tests/control-plane` (upstream's kube-apiserver, kube-controller-manager and kube-scheduler
//! on embedded etcd; pods "run" on a node agent). See `tests/common/real.rs` for how it is
//! started or reused, and docs/testing.md for what this backend proves that the simulator
//! cannot. All tests share one control plane; each works in a namespace of its own.

mod common;

use std::time::Duration;

use common::real::{
    cluster_with_crds, condition, get_json, items, name, ok, operator, run_installed_operator,
    wait_for, writes,
};
use common::sim::{read, temp_file, text};
use serde_json::Value;

const CRDS: [&str; 2] = [
    "dynamographdeployments.nvidia.com",
    "dynamocomponentdeployments.nvidia.com",
];

/// The checks of a `dynamoctl check -o json` report that did not succeed, except those in
/// dynamo-leases that are about other namespaces only (left by other tests on the shared
/// cluster).
fn problems_with(report: &Value, ns: &str) -> Vec<String> {
    let mut out = Vec::new();
    for category in report["categories"].as_array().into_iter().flatten() {
        for check in category["checks"].as_array().into_iter().flatten() {
            if check["result"] == "success" {
                continue;
            }
            let error = check["error"].as_str().unwrap_or_default();
            let elsewhere = category["categoryName"] == "dynamo-leases"
                && !error.is_empty()
                && !error.contains(ns);
            if !elsewhere {
                out.push(format!("{}: {check}", category["categoryName"]));
            }
        }
    }
    out
}

#[test]
fn crds_are_accepted_and_established() {
    let Some(c) = cluster_with_crds() else { return };
    for crd in CRDS {
        let Some(live) = get_json(c, &["get", "crd", crd]) else {
            return;
        };
        assert_eq!(
            condition(&live, "Established").as_deref(),
            Some("True"),
            "{crd}"
        );
        assert_eq!(
            condition(&live, "NamesAccepted").as_deref(),
            Some("True"),
            "{crd}"
        );
        // A structural schema: the API server reports no NonStructuralSchema condition.
        assert_eq!(condition(&live, "NonStructuralSchema"), None, "{crd}");
    }
}

#[test]
fn apply_reconcile_wait_runs_pods_made_and_bound_by_the_real_controllers() {
    let Some(c) = cluster_with_crds() else { return };
    let ns = c.namespace("real-apply");
    let before = c.audit().len();
    let out = ok(&c.dynamoctl(&[
        "apply",
        "-n",
        &ns,
        "examples/mocker-agg.yaml",
        "--reconcile",
        "--wait",
        "--timeout",
        "180s",
    ]));
    assert!(
        out.contains(&format!("DynamoGraphDeployment {ns}/mocker-agg is Ready")),
        "{out}"
    );

    let Some(pods) = get_json(c, &["get", "pods", "-n", &ns]) else {
        return;
    };
    let pods = items(&pods);
    assert_eq!(pods.len(), 3, "a frontend and two workers: {pods:?}");
    for pod in &pods {
        assert!(
            pod["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| n.starts_with("node-")),
            "{} is not bound",
            name(pod)
        );
        assert_eq!(pod["status"]["phase"], "Running", "{}", name(pod));
        assert_eq!(
            pod["metadata"]["ownerReferences"][0]["kind"],
            "ReplicaSet",
            "{}",
            name(pod)
        );
    }
    // The real controllers did it: the ReplicaSet controller created the pods and the
    // scheduler bound them (pods/binding), each as its own identity.
    let created: Vec<_> = writes(c, before, &ns, "replicaset-controller")
        .into_iter()
        .filter(|e| e["verb"] == "create" && e["objectRef"]["resource"] == "pods")
        .collect();
    assert_eq!(created.len(), 3, "{created:?}");
    let bound: Vec<_> = writes(c, before, &ns, "system:kube-scheduler")
        .into_iter()
        .filter(|e| e["objectRef"]["subresource"] == "binding")
        .collect();
    assert_eq!(bound.len(), 3, "{bound:?}");

    // Converged: diff finds nothing to change (exit 0), through the real server-side dry run.
    let diff = c.dynamoctl(&["diff", "-n", &ns, "examples/mocker-agg.yaml"]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "diff after convergence:\n{}{}",
        text(&diff.stdout),
        text(&diff.stderr)
    );
}

#[test]
fn namespace_scoped_operator_converges_writes_nothing_more_and_prunes() {
    let Some(c) = cluster_with_crds() else { return };
    let ns = c.namespace("real-operator");
    let log = c.dir.join(format!("operator-{ns}.log"));
    let _operator = operator(
        &c.kubeconfig,
        &[
            "run".into(),
            "controller".into(),
            format!("--restricted-namespace={ns}"),
        ],
        &log,
    );
    let out = ok(&c.dynamoctl(&[
        "apply",
        "-n",
        &ns,
        "examples/mocker-agg.yaml",
        "--wait",
        "--timeout",
        "180s",
    ]));
    assert!(out.contains("is Ready"), "{out}");

    // The seed's commands find the marker, through the real field selector and jsonpath.
    let Some(listed) = c.kubectl(&[
        "get",
        "lease",
        "-A",
        "--field-selector",
        "metadata.name=dynamo-operator-namespace-scope",
    ]) else {
        return;
    };
    let listed = ok(&listed);
    assert!(
        listed
            .lines()
            .any(|l| l.split_whitespace().next() == Some(ns.as_str())),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .skip(1)
            .all(|l| l.contains("dynamo-operator-namespace-scope")),
        "{listed}"
    );
    let holder = ok(&c
        .kubectl(&[
            "get",
            "lease",
            "-n",
            &ns,
            "dynamo-operator-namespace-scope",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ])
        .unwrap());
    assert!(
        holder.starts_with("namespace-restricted-operator-"),
        "{holder}"
    );

    // Converged: for a while, the operator writes nothing but its Leases.
    std::thread::sleep(Duration::from_secs(5));
    let mark = c.audit().len();
    std::thread::sleep(Duration::from_secs(20));
    let steady: Vec<_> = c
        .audit()
        .into_iter()
        .skip(mark)
        .filter(|e| {
            e["userAgent"]
                .as_str()
                .is_some_and(|a| a.starts_with("dynamoctl/") && a.contains("controller"))
        })
        .filter(|e| e["objectRef"]["resource"] != "leases")
        .collect();
    assert!(steady.is_empty(), "a converged operator wrote: {steady:#?}");

    // A service removed: the operator deletes its component and the real garbage collector
    // removes the Deployment, its ReplicaSet and pods.
    let all = read("examples/mocker-agg.yaml");
    let cut = all.find("    Worker:").unwrap();
    let before = c.audit().len();
    ok(&c.dynamoctl(&[
        "apply",
        "-n",
        &ns,
        temp_file(&format!("real-pruned-{ns}"), &all[..cut])
            .to_str()
            .unwrap(),
    ]));
    wait_for(
        Duration::from_secs(120),
        "the worker's component, Deployment and pods to go",
        || {
            let Some(left) = get_json(c, &["get", "dcd,deployments,replicasets,pods", "-n", &ns])
            else {
                return true;
            };
            items(&left).iter().all(|o| !name(o).contains("worker"))
        },
    );
    let collected: Vec<_> = writes(c, before, &ns, "generic-garbage-collector")
        .into_iter()
        .filter(|e| e["verb"] == "delete")
        .collect();
    assert!(
        !collected.is_empty(),
        "the garbage collector deleted nothing in {ns}"
    );
    let Some(pods) = get_json(c, &["get", "pods", "-n", &ns]) else {
        return;
    };
    assert_eq!(items(&pods).len(), 1, "only the frontend is left");
}

#[test]
fn install_then_check_passes_with_real_access_reviews() {
    let Some(c) = cluster_with_crds() else { return };
    let ns = c.namespace("real-install");
    ok(&c.dynamoctl(&[
        "install",
        "--namespace-scoped",
        "-n",
        &ns,
        "--wait",
        "--timeout",
        "180s",
    ]));

    // The operator as its Deployment runs it, authenticated as its own ServiceAccount, so
    // the installed RBAC is what lets it work (a missing permission fails this test).
    let Some(_operator) = run_installed_operator(c, &ns) else {
        return;
    };

    // Every check, the SelfSubjectAccessReviews included, passes against the real authorizer.
    // The cluster is shared: other tests' namespaces may hold graphs without a live operator
    // (which `check` rightly reports), so only problems naming this namespace count.
    let mut report = Value::Null;
    let mut problems = Vec::new();
    wait_for(
        Duration::from_secs(90),
        "every check about this namespace to pass",
        || {
            let out = c.dynamoctl(&["check", "-n", &ns, "-o", "json"]);
            report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            problems = problems_with(&report, &ns);
            report.is_object() && problems.is_empty()
        },
    );
    let rbac: Vec<&Value> = report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["categoryName"] == "rbac")
        .flat_map(|c| c["checks"].as_array().unwrap())
        .collect();
    assert!(!rbac.is_empty(), "no RBAC checks ran: {report}");
    assert!(rbac.iter().all(|c| c["result"] == "success"), "{rbac:#?}");

    // The operator, with only its installed permissions, runs a graph to Ready.
    let out = ok(&c.dynamoctl(&[
        "apply",
        "-n",
        &ns,
        "examples/mocker-agg.yaml",
        "--wait",
        "--timeout",
        "180s",
    ]));
    assert!(out.contains("is Ready"), "{out}");
}
