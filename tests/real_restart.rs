//! A Sequential graph restart on a real control plane (`tests/common/real.rs`): the operator
//! stamps one service's Deployment, the real deployment controller rolls it out, and only
//! then is the next service's Deployment changed. Skipped without a control plane (never
//! under CI).

mod common;

use common::real::{cluster_with_crds, ok, operator, writes};
use serde_json::Value;

fn is_operator(e: &Value) -> bool {
    e["userAgent"]
        .as_str()
        .is_some_and(|a| a.contains("(controller"))
}

#[test]
fn a_sequential_restart_rolls_one_deployment_after_the_other() {
    let Some(c) = cluster_with_crds() else { return };
    let ns = c.namespace("real-restart");
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

    let before = c.audit().len();
    let out = ok(&c.dynamoctl(&[
        "restart",
        "mocker-agg",
        "-n",
        &ns,
        "--order",
        "Worker,Frontend",
        "--id",
        "real-1",
        "--wait",
        "--timeout",
        "180s",
    ]));
    assert!(out.contains("is Ready"), "{out}");

    let events = writes(c, before, &ns, "");
    let at = |pred: &dyn Fn(&Value) -> bool| events.iter().position(pred);
    let patched = |name: &'static str| {
        move |e: &Value| {
            is_operator(e)
                && e["verb"] == "patch"
                && e["objectRef"]["resource"] == "deployments"
                && e["objectRef"]["subresource"].is_null()
                && e["objectRef"]["name"] == name
        }
    };
    let worker = at(&patched("mocker-agg-worker")).expect("the worker's template was changed");
    let frontend =
        at(&patched("mocker-agg-frontend")).expect("the frontend's template was changed");
    assert!(worker < frontend, "Worker first, as ordered");
    // Between the two, the real controllers rolled the worker out: a new ReplicaSet's pod was
    // created for it and the deployment controller reported the rollout.
    let between = &events[worker..frontend];
    assert!(
        between.iter().any(|e| e["verb"] == "create"
            && e["objectRef"]["resource"] == "pods"
            && e["user"]["username"]
                .as_str()
                .is_some_and(|u| u.contains("replicaset-controller"))),
        "no pod created for the worker before the frontend was restarted"
    );
    assert!(
        between
            .iter()
            .any(|e| e["objectRef"]["resource"] == "deployments"
                && e["objectRef"]["subresource"] == "status"
                && e["objectRef"]["name"] == "mocker-agg-worker"
                && e["user"]["username"]
                    .as_str()
                    .is_some_and(|u| u.contains("deployment-controller"))),
        "the worker's rollout was not reported before the frontend was restarted"
    );
    // Both Deployments carry the id; the graph reports the restart done.
    let Some(out) = c.kubectl(&[
        "get",
        "deployments",
        "-n",
        &ns,
        "-o",
        "jsonpath={.items[*].spec.template.metadata.annotations.nvidia\\.com/restartAt}",
    ]) else {
        return;
    };
    assert_eq!(ok(&out).trim(), "real-1 real-1");
    let Some(out) = c.kubectl(&[
        "get",
        "dgd",
        "mocker-agg",
        "-n",
        &ns,
        "-o",
        "jsonpath={.status.restart.phase}",
    ]) else {
        return;
    };
    assert_eq!(ok(&out).trim(), "Completed");
}
