//! `dynamoctl render` as a user runs it: stdin, namespaces, filters, warnings.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{dynamoctl, repo};
use serde_json::Value;

fn render_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn objects(stdout: &[u8]) -> Vec<Value> {
    dynamoctl::yaml::parse_documents(std::str::from_utf8(stdout).unwrap())
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

const GRAPH: &str = "apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata:
  name: demo
spec:
  services:
    Frontend:
      componentType: frontend
      dynamoNamespace: old
      extraPodSpec:
        mainContainer:
          image: example.com/dynamo:1
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  answer: \"yes\"
";

#[test]
fn stdin_namespace_and_pass_through() {
    let out = render_stdin(&["render", "-f", "-", "-n", "team-a"], GRAPH);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objs = objects(&out.stdout);
    let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ConfigMap",
            "DynamoGraphDeployment",
            "DynamoComponentDeployment",
            "Deployment",
            "Service"
        ]
    );
    for o in &objs {
        if o["kind"] == "ConfigMap" {
            assert!(
                o["metadata"].get("namespace").is_none(),
                "other objects pass through unchanged"
            );
            assert_eq!(o["data"]["answer"], "yes");
        } else {
            assert_eq!(o["metadata"]["namespace"], "team-a");
        }
    }
    // The string "yes" must stay a string for YAML 1.1 readers such as kubectl.
    assert!(String::from_utf8_lossy(&out.stdout).contains("answer: \"yes\""));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("warning: <stdin>:9:7: DynamoGraphDeployment team-a/demo: spec.services.Frontend.dynamoNamespace: dynamoNamespace is deprecated"), "{stderr}");
}

#[test]
fn workloads_only_drops_dynamo_kinds() {
    let out = render_stdin(&["render", "-", "--workloads-only"], GRAPH);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        objects(&out.stdout)
            .iter()
            .all(|o| o["apiVersion"] != "nvidia.com/v1alpha1")
    );
}

#[test]
fn ephemeral_render_has_no_owner_references_but_a_cluster_graph_does() {
    let out = render_stdin(&["render", "-"], GRAPH);
    assert!(
        objects(&out.stdout)
            .iter()
            .all(|o| o["metadata"].get("ownerReferences").is_none())
    );
    let with_uid = GRAPH.replacen(
        "  name: demo\n",
        "  name: demo\n  uid: 5b7e4c7e-1f0b-4d3a-9c1e-000000000001\n",
        1,
    );
    let out = render_stdin(&["render", "-"], &with_uid);
    let objs = objects(&out.stdout);
    let dcd = objs
        .iter()
        .find(|o| o["kind"] == "DynamoComponentDeployment")
        .unwrap();
    assert_eq!(
        dcd["metadata"]["ownerReferences"][0]["uid"],
        "5b7e4c7e-1f0b-4d3a-9c1e-000000000001"
    );
    assert_eq!(dcd["metadata"]["ownerReferences"][0]["controller"], true);
}

#[test]
fn shipped_examples_render() {
    let dir = repo().join("examples");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let out = dynamoctl(&dir, &["render", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}: our own examples use no deprecated fields",
            path.display()
        );
    }
}

#[test]
fn directories_stand_for_their_yaml_files() {
    let out = dynamoctl(&repo(), &["render", "examples", "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let graphs = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "DynamoGraphDeployment")
        .count();
    assert_eq!(
        graphs,
        std::fs::read_dir(repo().join("examples")).unwrap().count()
    );
}
