//! The conversion webhook on a real API server (`tests/common/real.rs`): what the simulator
//! cannot prove, because only kube-apiserver calls conversion webhooks (it stores objects in
//! the storage version and converts every request in another version through
//! `spec.conversion.webhook`). One test, in steps, because it replaces the cluster-scoped CRDs:
//! an earlier install's v1alpha1-only CRDs and a graph stored in them, the upgrade to the
//! two-version CRDs by client-side `kubectl apply`, `kubectl explain` of both versions, the
//! operator's webhook (run outside the cluster with `--webhook-url`), storage migration, a
//! v1alpha1 apply stored as v1beta1 and read back as either version.

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::real::{cluster, wait_for};
use common::sim::text;
use serde_json::Value;

const DGD: &str = "dynamographdeployments.nvidia.com";
const DCD: &str = "dynamocomponentdeployments.nvidia.com";

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

/// A child process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn v1alpha1_objects_are_stored_as_v1beta1_through_the_webhook_and_migrated() {
    let Some(c) = cluster() else { return };
    let kubectl = |args: &[&str]| c.kubectl(args);
    let Some(_) = kubectl(&["version", "--client"]) else {
        return;
    };
    let get = |args: &[&str]| -> Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&ok(&kubectl(&all).unwrap())).unwrap()
    };
    let stored_versions = |crd: &str| get(&["crd", crd])["status"]["storedVersions"].clone();

    // 1. An earlier install: v1alpha1 is the only (and storage) version, no conversion.
    let _ = kubectl(&[
        "delete",
        "crd",
        DGD,
        DCD,
        "--ignore-not-found",
        "--wait=true",
    ]);
    let old: Vec<Value> = dynamoctl::install::crds()
        .into_iter()
        .filter(|c| c["spec"]["names"]["plural"] != "dynamoworkermetadatas")
        .map(|mut crd| {
            let versions = crd["spec"]["versions"].as_array_mut().unwrap();
            versions.retain(|v| v["name"] == "v1alpha1");
            versions[0]["storage"] = true.into();
            crd["spec"].as_object_mut().unwrap().remove("conversion");
            crd
        })
        .collect();
    let old_file = c.dir.join(format!("old-crds-{}.json", std::process::id()));
    std::fs::write(
        &old_file,
        serde_json::to_string(
            &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": old}),
        )
        .unwrap(),
    )
    .unwrap();
    ok(&kubectl(&["apply", "-f", old_file.to_str().unwrap()]).unwrap());
    ok(&kubectl(&[
        "wait",
        "--for=condition=Established",
        &format!("crd/{DGD}"),
        &format!("crd/{DCD}"),
        "--timeout=60s",
    ])
    .unwrap());
    let ns = c.namespace("real-conversion");
    ok(&kubectl(&["apply", "-n", &ns, "-f", "examples/mocker-agg.yaml"]).unwrap());
    let before = get(&[
        "dynamographdeployments.v1alpha1.nvidia.com",
        "-n",
        &ns,
        "mocker-agg",
    ]);
    assert_eq!(stored_versions(DGD), serde_json::json!(["v1alpha1"]));

    // 2. The upgrade, client-side as the docs allow: both CRDs fit kubectl's last-applied
    // annotation. v1beta1 becomes the storage version; the old objects are still v1alpha1.
    ok(&kubectl(&["apply", "-f", "crds/"]).unwrap());
    ok(&kubectl(&[
        "wait",
        "--for=condition=Established",
        &format!("crd/{DGD}"),
        &format!("crd/{DCD}"),
        "--timeout=60s",
    ])
    .unwrap());
    assert_eq!(
        stored_versions(DGD),
        serde_json::json!(["v1alpha1", "v1beta1"])
    );
    for (version, field, says) in [
        (
            "nvidia.com/v1beta1",
            "dynamographdeployments.spec.components",
            "The components",
        ),
        (
            "nvidia.com/v1alpha1",
            "dynamographdeployments.spec.services",
            "services",
        ),
        (
            "nvidia.com/v1beta1",
            "dynamocomponentdeployments.spec.podTemplate",
            "podTemplate",
        ),
        (
            "nvidia.com/v1alpha1",
            "dynamocomponentdeployments.spec.extraPodSpec",
            "extraPodSpec",
        ),
    ] {
        // Discovery of a new version takes a moment to reach kubectl's OpenAPI view.
        let mut out = String::new();
        wait_for(Duration::from_secs(30), "kubectl explain", || {
            let o = kubectl(&["explain", field, "--api-version", version]).unwrap();
            out = text(&o.stdout);
            o.status.success()
        });
        assert!(
            out.contains(&format!("VERSION:    {}", &version[11..])),
            "{out}"
        );
        assert!(out.contains(says), "{out}");
    }

    // 3. The operator's webhook, outside the cluster: it makes its certificates, points both
    // CRDs at its URL with the CA bundle, and migrates storage.
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}/convert");
    let webhook_ns = c.namespace("real-conversion-webhook");
    let log = c.dir.join(format!("conversion-{}.log", std::process::id()));
    let webhook = Guard(
        Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
            .args(["run", "controller", "--webhook-only", "--webhook-url", &url])
            .arg(format!("--webhook-bind-address=127.0.0.1:{port}"))
            .arg(format!("--leader-election-namespace={webhook_ns}"))
            .args([
                "--health-probe-bind-address=127.0.0.1:0",
                "--metrics-bind-address=127.0.0.1:0",
            ])
            .arg("--kubeconfig")
            .arg(&c.kubeconfig)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for(
        Duration::from_secs(90),
        "storage migration to trim storedVersions",
        || {
            stored_versions(DGD) == serde_json::json!(["v1beta1"])
                && stored_versions(DCD) == serde_json::json!(["v1beta1"])
        },
    );
    for crd in [DGD, DCD] {
        let live = get(&["crd", crd]);
        let config = &live["spec"]["conversion"]["webhook"]["clientConfig"];
        assert_eq!(config["url"], url.as_str(), "{crd}");
        assert!(config["service"].is_null(), "{crd}");
        assert!(
            config["caBundle"].as_str().is_some_and(|b| b.len() > 100),
            "{crd}"
        );
    }
    let secret = get(&["secret", "-n", &webhook_ns, "dynamo-operator-webhook-cert"]);
    assert_eq!(secret["type"], "kubernetes.io/tls");
    // The old graph was rewritten (a real write: a new resourceVersion) and reads the same.
    let after = get(&[
        "dynamographdeployments.v1alpha1.nvidia.com",
        "-n",
        &ns,
        "mocker-agg",
    ]);
    assert_ne!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    assert_eq!(after["spec"], before["spec"]);

    // 4. A v1alpha1 apply is stored as v1beta1 and reads back as either version.
    let graph = std::fs::read_to_string(common::repo().join("examples/mocker-agg.yaml"))
        .unwrap()
        .replace("name: mocker-agg", "name: applied-as-alpha");
    let file = c.dir.join(format!("alpha-{}.yaml", std::process::id()));
    std::fs::write(&file, graph).unwrap();
    ok(&kubectl(&["apply", "-n", &ns, "-f", file.to_str().unwrap()]).unwrap());
    let beta = get(&[
        "dynamographdeployments.v1beta1.nvidia.com",
        "-n",
        &ns,
        "applied-as-alpha",
    ]);
    assert_eq!(beta["apiVersion"], "nvidia.com/v1beta1");
    let names: Vec<&str> = beta["spec"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Frontend", "Worker"]);
    let alpha = get(&[
        "dynamographdeployments.v1alpha1.nvidia.com",
        "-n",
        &ns,
        "applied-as-alpha",
    ]);
    assert_eq!(alpha["apiVersion"], "nvidia.com/v1alpha1");
    assert_eq!(
        alpha["spec"], before["spec"],
        "lossless through the webhook"
    );
    // A v1beta1 write, and the v1alpha1 view follows.
    let mut edited = get(&[
        "dynamographdeployments.v1beta1.nvidia.com",
        "-n",
        &ns,
        "mocker-agg",
    ]);
    edited["spec"]["components"][1]["replicas"] = 3.into();
    edited["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    let edited_file = c.dir.join(format!("beta-{}.json", std::process::id()));
    std::fs::write(&edited_file, edited.to_string()).unwrap();
    ok(&kubectl(&["replace", "-f", edited_file.to_str().unwrap()]).unwrap());
    let alpha = get(&[
        "dynamographdeployments.v1alpha1.nvidia.com",
        "-n",
        &ns,
        "mocker-agg",
    ]);
    assert_eq!(alpha["spec"]["services"]["Worker"]["replicas"], 3);

    // 5. Proof of the storage version: with the webhook gone, the graph written only as
    // v1alpha1 still reads as v1beta1 (stored so: nothing to convert) but not as v1alpha1.
    drop(webhook);
    let beta_read = kubectl(&[
        "get",
        "dynamographdeployments.v1beta1.nvidia.com",
        "-n",
        &ns,
        "applied-as-alpha",
        "-o",
        "name",
    ])
    .unwrap();
    assert!(beta_read.status.success(), "{}", text(&beta_read.stderr));
    let alpha_read = kubectl(&[
        "get",
        "dynamographdeployments.v1alpha1.nvidia.com",
        "-n",
        &ns,
        "applied-as-alpha",
        "-o",
        "name",
    ])
    .unwrap();
    assert!(!alpha_read.status.success());
    assert!(
        text(&alpha_read.stderr).contains("conversion webhook"),
        "{}",
        text(&alpha_read.stderr)
    );

    // Leave the cluster as other tests expect it: graphs served through a webhook.
    c.conversion_webhook();
}
