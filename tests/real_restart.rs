//! A Sequential graph restart on a real control plane (`tests/common/real.rs`): the operator
//! stamps one service's Deployment, the real deployment controller rolls it out, and only
//! then is the next service's Deployment changed. Skipped without a control plane (never
//! under CI).

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;

use common::real::{Cluster, cluster};
use common::sim::text;
use serde_json::Value;

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn with_crds() -> Option<&'static Cluster> {
    static DONE: Mutex<bool> = Mutex::new(false);
    let c = cluster()?;
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if !*done {
        ok(&c.dynamoctl(&["apply", "crds/"]));
        *done = true;
    }
    Some(c)
}

/// A child process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn operator(kubeconfig: &Path, ns: &str, log: &Path) -> Guard {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Guard(
        Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
            .args(["run", "controller"])
            .arg(format!("--restricted-namespace={ns}"))
            .arg(format!("--health-probe-bind-address=127.0.0.1:{port}"))
            .arg("--metrics-bind-address=127.0.0.1:0")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .env("POD_NAME", "dynamo-operator-real-restart")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("the operator starts"),
    )
}

/// Audit events in `ns` after the first `skip`, successful ones only.
fn events(c: &Cluster, skip: usize, ns: &str) -> Vec<Value> {
    c.audit()
        .into_iter()
        .skip(skip)
        .filter(|e| e["objectRef"]["namespace"] == ns)
        .filter(|e| {
            e["responseStatus"]["code"]
                .as_u64()
                .is_some_and(|c| c < 400)
        })
        .collect()
}

fn is_operator(e: &Value) -> bool {
    e["userAgent"]
        .as_str()
        .is_some_and(|a| a.contains("(controller"))
}

#[test]
fn a_sequential_restart_rolls_one_deployment_after_the_other() {
    let Some(c) = with_crds() else { return };
    let ns = c.namespace("real-restart");
    let log = c.dir.join(format!("operator-{ns}.log"));
    let _operator = operator(&c.kubeconfig, &ns, &log);
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

    let events = events(c, before, &ns);
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
