//! `dynamoctl convert`: kubectl-convert's flags, offline, lossless, other objects untouched.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{dynamoctl, repo};
use serde_json::Value;

fn stdout(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn docs(text: &str) -> Vec<Value> {
    dynamoctl::yaml::parse_documents(text)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

fn with_stdin(args: &[&str], input: &str) -> std::process::Output {
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

#[test]
fn upstream_examples_convert_there_and_back_unchanged() {
    for (dir, there, back, file) in [
        (
            "tests/fixtures/upstream",
            "nvidia.com/v1beta1",
            "nvidia.com/v1alpha1",
            "recipes__qwen3-32b__vllm__disagg-kv-router__deploy.yaml",
        ),
        (
            "tests/fixtures/upstream",
            "nvidia.com/v1beta1",
            "nvidia.com/v1alpha1",
            "examples__backends__sglang__deploy__disagg.yaml",
        ),
        (
            "tests/fixtures/upstream-v1beta1",
            "nvidia.com/v1alpha1",
            "nvidia.com/v1beta1",
            "recipes__gpt-oss-120b__vllm__agg-b200-agentic__deploy.yaml",
        ),
        (
            "tests/fixtures/upstream-v1beta1",
            "nvidia.com/v1alpha1",
            "nvidia.com/v1beta1",
            "examples__backends__sglang__deploy__disagg.yaml",
        ),
    ] {
        {
            let path = repo().join(dir).join(file);
            let original = std::fs::read_to_string(&path).unwrap();
            let converted = stdout(&dynamoctl(
                &repo(),
                &[
                    "convert",
                    "-f",
                    path.to_str().unwrap(),
                    "--output-version",
                    there,
                ],
            ));
            for d in docs(&converted) {
                if d["kind"].as_str().is_some_and(|k| k.starts_with("Dynamo")) {
                    assert_eq!(d["apiVersion"], there, "{file}");
                }
            }
            let again = with_stdin(
                &["convert", "-f", "-", "--output-version", back],
                &converted,
            );
            let normalised = stdout(&with_stdin(
                &["convert", "-f", "-", "--output-version", back],
                &original,
            ));
            assert_eq!(stdout(&again), normalised, "{dir}/{file}");
            // Nothing of the original is lost: same objects, same values.
            assert_eq!(docs(&stdout(&again)).len(), docs(&original).len());
        }
    }
}

#[test]
fn other_objects_pass_through_and_json_is_a_list() {
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: \"1\"}\n---\n\
        apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata: {name: g}\n\
        spec:\n  services:\n    Frontend: {componentType: frontend, replicas: 2}\n";
    let out = stdout(&with_stdin(
        &[
            "convert",
            "-f",
            "-",
            "--output-version",
            "nvidia.com/v1beta1",
            "-o",
            "json",
        ],
        input,
    ));
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(
        list["items"][0],
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}})
    );
    let g = &list["items"][1];
    assert_eq!(g["apiVersion"], "nvidia.com/v1beta1");
    assert_eq!(
        g["spec"]["components"],
        serde_json::json!([{"name": "Frontend", "type": "frontend", "replicas": 2}])
    );
    // No namespace is invented, no payload is needed for this graph.
    assert!(g["metadata"].get("namespace").is_none());
    assert!(g["metadata"].get("annotations").is_none());
}

#[test]
fn bad_input_is_reported_where_it_is_and_nothing_is_printed() {
    let input = "apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata: {name: g}\n\
        spec:\n  components:\n  - name: a\n    type: router\n";
    let out = with_stdin(
        &[
            "convert",
            "-f",
            "-",
            "--output-version",
            "nvidia.com/v1alpha1",
        ],
        input,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: <stdin>:7:5: DynamoGraphDeployment g: spec.components[0].type: unsupported value \"router\": must be one of \"frontend\", \"worker\", \"prefill\", \"decode\", \"planner\", \"epp\"\n"
    );
    let out = dynamoctl(
        &repo(),
        &[
            "convert",
            "-f",
            "x.yaml",
            "--output-version",
            "nvidia.com/v2",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unsupported_features_convert_even_though_they_do_not_render() {
    // Conversion carries every field; only render refuses what it cannot honour.
    let file = repo().join(
        "tests/fixtures/upstream-v1beta1/examples__backends__vllm__deploy__gaie__disagg.yaml",
    );
    let alpha = stdout(&dynamoctl(
        &repo(),
        &[
            "convert",
            "-f",
            file.to_str().unwrap(),
            "--output-version",
            "nvidia.com/v1alpha1",
        ],
    ));
    assert!(alpha.contains("eppConfig"));
    let back = with_stdin(
        &[
            "convert",
            "-f",
            "-",
            "--output-version",
            "nvidia.com/v1beta1",
        ],
        &alpha,
    );
    let original = stdout(&dynamoctl(
        &repo(),
        &[
            "convert",
            "-f",
            file.to_str().unwrap(),
            "--output-version",
            "nvidia.com/v1beta1",
        ],
    ));
    assert_eq!(stdout(&back), original);
}
