//! The `kube-sim` binary as a separate process: flags, kubeconfig, audit file.

mod common;

use std::time::Duration;

use common::bounded;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn binary_serves_writes_kubeconfig_and_audit_log() {
    bounded(async {
        let dir = std::env::temp_dir().join(format!("kube-sim-bin-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = dir.join("kc.yaml");
        let audit = dir.join("audit.jsonl");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kube-sim"))
            .args(["--port", "0", "--kubeconfig", kubeconfig.to_str().unwrap(), "--audit-log", audit.to_str().unwrap(), "--kubelet-delay-ms", "50"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await.unwrap().unwrap().unwrap();
        assert!(first.starts_with("kube-sim listening on http://127.0.0.1:"), "{first}");

        let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
        api.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "from-bin"}})).unwrap()).await.unwrap();

        // The kubelet is on by default in the binary.
        let deps: Api<k8s_openapi::api::apps::v1::Deployment> = Api::default_namespaced(client);
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        deps.create(&PostParams::default(), &serde_json::from_value(d).unwrap()).await.unwrap();
        let mut ready = false;
        for _ in 0..100 {
            if deps.get("d").await.unwrap().status.and_then(|s| s.ready_replicas) == Some(1) {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(ready);

        let text = std::fs::read_to_string(&audit).unwrap();
        let recs: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(recs.iter().any(|r| r["verb"] == "create" && r["name"] == "from-bin" && r["code"] == 201));
        child.kill().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await
}

#[tokio::test]
async fn binary_rejects_bad_flags() {
    bounded(async {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kube-sim"))
            .arg("--bogus")
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage: kube-sim"));
    })
    .await
}
