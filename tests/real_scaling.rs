//! Scaling adapters on a real API server (`tests/common/real.rs`): the adapter CRD with its
//! scale subresource and schema, the replica policy (a ValidatingAdmissionPolicy) deciding who
//! may change adapter-owned replicas, `kubectl scale` and a HorizontalPodAutoscaler driving a
//! service through the operator, and the selector picking exactly the service's pods.

mod common;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use common::real::{Cluster, cluster_with_crds, ok, run_installed_operator, wait_for};
use common::sim::{temp_file, text};
use serde_json::{Value, json};

const ADAPTER_CRD: &str = "dynamographdeploymentscalingadapters.nvidia.com";

/// Graphs as v1alpha1: kubectl's plain `dgd` is the preferred version, v1beta1, whose
/// services are a `components` list (and a short name ignores a version after it:
/// `dgd.v1alpha1.nvidia.com` is read as v1beta1).
const DGD_V1ALPHA1: &str = "dynamographdeployments.v1alpha1.nvidia.com";

/// `kubectl get ... -o json`, parsed; `None` when the object does not exist.
fn get(c: &Cluster, args: &[&str]) -> Option<Value> {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = c.kubectl(&all)?;
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

fn graph_file(ns: &str, adapter: bool) -> PathBuf {
    let scaling = if adapter {
        "      scalingAdapter:\n        enabled: true\n"
    } else {
        ""
    };
    temp_file(
        &format!("real-scaling-{ns}-{adapter}"),
        &format!(
            "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: g\n  namespace: {ns}\nspec:\n  services:\n    Frontend:\n      componentType: frontend\n      replicas: 1\n      extraPodSpec:\n        mainContainer:\n          image: example.com/dynamo:1\n    Worker:\n      componentType: worker\n      replicas: 1\n{scaling}      extraPodSpec:\n        mainContainer:\n          image: example.com/dynamo:1\n"
        ),
    )
}

fn worker_replicas(c: &Cluster, ns: &str) -> Option<Value> {
    get(c, &["get", DGD_V1ALPHA1, "g", "-n", ns])?
        .pointer("/spec/services/Worker/replicas")
        .cloned()
}

fn deployment_replicas(c: &Cluster, ns: &str, name: &str) -> Option<Value> {
    get(c, &["get", "deployment", name, "-n", ns])?
        .pointer("/spec/replicas")
        .cloned()
}

/// `kubectl patch dgd g` of Worker's replicas as `user` in `group`.
fn patch_replicas_as(
    c: &Cluster,
    ns: &str,
    service: &str,
    n: u32,
    user: &str,
    group: &str,
) -> Output {
    let body = json!({"spec": {"services": {service: {"replicas": n}}}}).to_string();
    c.kubectl(&[
        "patch",
        DGD_V1ALPHA1,
        "g",
        "-n",
        ns,
        "--type",
        "merge",
        "-p",
        &body,
        "--as",
        user,
        "--as-group",
        group,
    ])
    .unwrap()
}

#[test]
fn the_adapter_crd_serves_scale_and_refuses_negative_replicas() {
    let Some(c) = cluster_with_crds() else {
        return;
    };
    let Some(crd) = get(c, &["get", "crd", ADAPTER_CRD]) else {
        return;
    };
    let version = &crd["spec"]["versions"][0];
    assert_eq!(
        version["subresources"]["scale"],
        json!({"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"})
    );
    assert!(
        crd["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True"),
        "{crd}"
    );
    let ns = c.namespace("real-dgdsa");
    let bad = temp_file(
        &format!("bad-adapter-{ns}"),
        &format!(
            "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeploymentScalingAdapter\nmetadata:\n  name: bad\n  namespace: {ns}\nspec:\n  replicas: -1\n  dgdRef:\n    name: g\n    serviceName: Worker\n"
        ),
    );
    let out = c.kubectl(&["apply", "-f", bad.to_str().unwrap()]).unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("spec.replicas") && err.contains("greater than or equal to 0"),
        "{err}"
    );
    // An empty service name is refused as well.
    let empty = temp_file(
        &format!("empty-adapter-{ns}"),
        &format!(
            "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeploymentScalingAdapter\nmetadata:\n  name: empty\n  namespace: {ns}\nspec:\n  replicas: 1\n  dgdRef:\n    name: g\n    serviceName: \"\"\n"
        ),
    );
    let out = c
        .kubectl(&["apply", "-f", empty.to_str().unwrap()])
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("spec.dgdRef.serviceName"),
        "{}",
        text(&out.stderr)
    );
    assert!(get(c, &["get", "dgdsa", "-n", &ns, "bad"]).is_none());
}

#[test]
fn kubectl_scale_and_an_hpa_drive_a_service_under_the_replica_policy() {
    // The CRDs and the conversion webhook first: the install keeps the CRDs' live conversion.
    let Some(c) = cluster_with_crds() else {
        return;
    };
    let ns = c.namespace("real-scaling");
    ok(&c.dynamoctl(&["install", "--namespace-scoped", "-n", &ns]));
    let Some(_operator) = run_installed_operator(c, &ns) else {
        return;
    };
    let file = graph_file(&ns, true);
    ok(&c.dynamoctl(&["apply", file.to_str().unwrap()]));
    let limit = Duration::from_secs(90);
    wait_for(limit, "the worker's adapter and its status", || {
        get(c, &["get", "dgdsa", "g-worker", "-n", &ns])
            .is_some_and(|a| a.pointer("/status/selector").is_some())
    });

    // The API server type-checked the policy's CEL against the CRD's schema without a warning.
    let policy_name = format!("dynamo-graph-replicas-{ns}");
    wait_for(limit, "the policy to be type-checked", || {
        get(c, &["get", "validatingadmissionpolicy", &policy_name])
            .is_some_and(|p| p.pointer("/status/typeChecking").is_some())
    });
    let policy = get(c, &["get", "validatingadmissionpolicy", &policy_name]).unwrap();
    assert!(
        policy
            .pointer("/status/typeChecking/expressionWarnings")
            .is_none(),
        "{policy}"
    );

    // Users who may edit graphs, for the policy to judge.
    let group = format!("graph-editors-{ns}");
    ok(&c
        .kubectl(&[
            "create",
            "role",
            "graph-editor",
            "-n",
            &ns,
            "--verb=get,list,patch,update",
            "--resource=dynamographdeployments.nvidia.com",
        ])
        .unwrap());
    ok(&c
        .kubectl(&[
            "create",
            "rolebinding",
            "graph-editor",
            "-n",
            &ns,
            "--role=graph-editor",
            &format!("--group={group}"),
        ])
        .unwrap());
    // The policy refuses another user (a policy takes effect within seconds of its creation).
    let mut refusal = String::new();
    wait_for(
        Duration::from_secs(30),
        "the replica policy to refuse alice",
        || {
            let out = patch_replicas_as(c, &ns, "Worker", 5, "alice", &group);
            refusal = text(&out.stderr);
            !out.status.success()
        },
    );
    assert!(
        refusal.contains(&format!("dynamo-graph-replicas-{ns}"))
            && refusal.contains("scaling adapter")
            && refusal.contains("kubectl scale dgdsa/g-worker"),
        "{refusal}"
    );
    // ... in either version: the policy judges a v1beta1 request converted to v1alpha1.
    let out = c
        .kubectl(&[
            "patch",
            "dynamographdeployments.v1beta1.nvidia.com",
            "g",
            "-n",
            &ns,
            "--type",
            "json",
            "-p",
            r#"[{"op": "test", "path": "/spec/components/1/name", "value": "Worker"},
                {"op": "replace", "path": "/spec/components/1/replicas", "value": 4}]"#,
            "--as",
            "alice",
            "--as-group",
            &group,
        ])
        .unwrap();
    assert!(
        !out.status.success() && text(&out.stderr).contains("scaling adapter"),
        "{}",
        text(&out.stderr)
    );
    // ... and another ServiceAccount; but not a change of a service without an adapter.
    let bob = format!("system:serviceaccount:{ns}:bob");
    assert!(
        !patch_replicas_as(c, &ns, "Worker", 5, &bob, &group)
            .status
            .success()
    );
    ok(&patch_replicas_as(c, &ns, "Frontend", 2, "alice", &group));
    // (Back to the file's value, so the `dynamoctl apply` below has no conflict with alice.)
    ok(&patch_replicas_as(c, &ns, "Frontend", 1, "alice", &group));
    assert_eq!(worker_replicas(c, &ns), Some(json!(1)));

    // kubectl scale: the operator (its own ServiceAccount, under the policy) writes it back.
    ok(&c
        .kubectl(&["scale", "dgdsa/g-worker", "-n", &ns, "--replicas=3"])
        .unwrap());
    wait_for(limit, "graph and Deployment at 3", || {
        worker_replicas(c, &ns) == Some(json!(3))
            && deployment_replicas(c, &ns, "g-worker") == Some(json!(3))
    });
    // The selector picks exactly the worker's pods.
    let adapter = get(c, &["get", "dgdsa", "g-worker", "-n", &ns]).unwrap();
    let selector = adapter["status"]["selector"].as_str().unwrap().to_string();
    let mut selected = Vec::new();
    wait_for(limit, "three worker pods", || {
        selected = get(c, &["get", "pods", "-n", &ns, "-l", &selector])
            .map(|l| l["items"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default();
        selected.len() == 3
    });
    let all = get(c, &["get", "pods", "-n", &ns]).unwrap();
    let workers: Vec<&Value> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["labels"]["nvidia.com/selector"] == "g-worker")
        .collect();
    assert_eq!(workers.len(), 3);
    assert!(
        selected
            .iter()
            .all(|p| p["metadata"]["labels"]["nvidia.com/selector"] == "g-worker"),
        "{selector}"
    );

    // The planner may write the graph's replicas; the adapter stays the source of truth.
    let planner = format!("system:serviceaccount:{ns}:planner-serviceaccount");
    ok(&patch_replicas_as(c, &ns, "Worker", 4, &planner, &group));
    wait_for(limit, "the adapter's replicas to win again", || {
        worker_replicas(c, &ns) == Some(json!(3))
    });

    // `dynamoctl apply` of the file (Worker: 1) leaves them alone, as a user the policy would
    // refuse a change from.
    ok(&c.dynamoctl(&["apply", file.to_str().unwrap()]));
    assert_eq!(worker_replicas(c, &ns), Some(json!(3)));

    // An HPA finds the adapter through scaleTargetRef and /scale: above maxReplicas, it
    // scales down to it without needing any metric.
    let hpa = temp_file(
        &format!("hpa-{ns}"),
        &format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: g-worker\n  namespace: {ns}\nspec:\n  scaleTargetRef:\n    apiVersion: nvidia.com/v1alpha1\n    kind: DynamoGraphDeploymentScalingAdapter\n    name: g-worker\n  minReplicas: 1\n  maxReplicas: 2\n  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: 80\n"
        ),
    );
    ok(&c.kubectl(&["apply", "-f", hpa.to_str().unwrap()]).unwrap());
    wait_for(
        Duration::from_secs(120),
        "the HPA to scale the worker to 2",
        || {
            get(c, &["get", "dgdsa", "g-worker", "-n", &ns])
                .is_some_and(|a| a["spec"]["replicas"] == json!(2))
                && worker_replicas(c, &ns) == Some(json!(2))
                && deployment_replicas(c, &ns, "g-worker") == Some(json!(2))
        },
    );
    let hpa = get(c, &["get", "hpa", "g-worker", "-n", &ns]).unwrap();
    assert_eq!(hpa["status"]["desiredReplicas"], json!(2), "{hpa}");
    ok(&c
        .kubectl(&["delete", "hpa", "g-worker", "-n", &ns])
        .unwrap());

    // Opting out deletes the adapter.
    ok(&c.dynamoctl(&["apply", graph_file(&ns, false).to_str().unwrap()]));
    wait_for(limit, "the adapter to be deleted", || {
        get(c, &["get", "dgdsa", "g-worker", "-n", &ns]).is_none()
    });
}
