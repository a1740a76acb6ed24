//! Every upstream example renders (or, for multinode graphs without an orchestrator, fails
//! with a clear message), and the output is byte-for-byte the reviewed golden file.

mod common;

use common::{assert_golden, dynamoctl, repo};

fn fixtures() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("tests/fixtures/upstream"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn upstream_examples_render_to_their_goldens() {
    let dir = repo().join("tests/fixtures/upstream");
    let files = fixtures();
    assert!(files.len() >= 20, "the upstream fixtures are missing");
    for path in files {
        let file = path.file_name().unwrap().to_str().unwrap();
        let out = dynamoctl(&dir, &["render", file]);
        let stem = file.trim_end_matches(".yaml");
        let text = String::from_utf8_lossy(&out.stdout);
        if file.contains("multinode") || file.contains("16gpu") || file.contains("wide_ep") {
            // Without an orchestrator (the default configuration) a multinode graph is
            // refused, never rendered as Deployments; tests/render_multinode.rs renders them
            // under Grove and LeaderWorkerSet.
            assert_eq!(out.status.code(), Some(2), "{file} needs an orchestrator");
            assert!(
                String::from_utf8_lossy(&out.stderr)
                    .contains("no multinode orchestrator is available")
            );
            assert_golden(
                std::path::Path::new(&format!("tests/golden/upstream/{stem}.stderr")),
                &out.stderr,
            );
        } else {
            assert_eq!(
                out.status.code(),
                Some(0),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!text.contains(": null"), "{file}: no nulls in output");
            assert_golden(
                std::path::Path::new(&format!("tests/golden/upstream/{stem}.yaml")),
                &out.stdout,
            );
        }
    }
}

#[test]
fn shared_examples_are_the_vendored_fixtures() {
    // The fixtures are copies of ../shared/examples/upstream; when that folder is present,
    // nothing may have been added or changed there without updating the copies.
    let shared = repo().join("../shared/examples/upstream");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let ours = repo().join("tests/fixtures/upstream").join(name);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&ours).unwrap_or_default(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn output_is_deterministic_across_runs_and_formats() {
    let dir = repo().join("tests/fixtures/upstream");
    let file = "recipes__qwen3-32b__vllm__disagg-kv-router__deploy.yaml";
    let a = dynamoctl(&dir, &["render", file]);
    let b = dynamoctl(&dir, &["render", "-f", file]);
    assert_eq!(a.stdout, b.stdout);
    let json = dynamoctl(&dir, &["render", file, "-o", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    let docs = dynamoctl::yaml::parse_documents(std::str::from_utf8(&a.stdout).unwrap()).unwrap();
    let from_yaml: Vec<_> = docs.into_iter().map(|d| d.value).collect();
    assert_eq!(
        list["items"].as_array().unwrap(),
        &from_yaml,
        "YAML and JSON carry the same objects"
    );
}
