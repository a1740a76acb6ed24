//! Every upstream multinode graph renders under Grove and under LeaderWorkerSet to its
//! reviewed golden (tests/golden/multinode/<example>.<grove|lws>.yaml), through the library
//! with the orchestrators set as the operator configuration would set them.

mod common;

use common::{assert_golden, repo};
use dynamoctl::manifest::{self, Object};
use dynamoctl::render::{Orchestrators, RenderOptions, render_all};

/// The multinode fixtures: the 0.8.0 examples with nodeCount > 1 and newer recipes.
pub fn multinode_fixtures() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in ["tests/fixtures/upstream", "tests/fixtures/multinode"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            if path.extension().is_some_and(|e| e == "yaml") && text.contains("nodeCount") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn options(orchestrator: &str) -> RenderOptions {
    RenderOptions {
        orchestrators: Orchestrators {
            grove: orchestrator == "grove",
            lws: orchestrator == "lws",
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Renders a file the way `dynamoctl render` does, as YAML documents.
pub fn render_file(path: &std::path::Path, opts: &RenderOptions) -> Result<String, String> {
    let name = path.file_name().unwrap().to_str().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let parsed = manifest::parse(name, &text, "default").map_err(|p| format!("{p:?}"))?;
    let objects: Vec<Object> = parsed.manifests.iter().map(|m| m.object.clone()).collect();
    let rendered = render_all(&objects, opts).map_err(|(_, e)| e.to_string())?;
    let mut out = String::new();
    for o in &rendered {
        out.push_str("---\n");
        out.push_str(&dynamoctl::yaml::to_string(o).unwrap());
    }
    Ok(out)
}

#[test]
fn every_multinode_example_renders_under_both_orchestrators() {
    let files = multinode_fixtures();
    assert!(files.len() >= 7, "multinode fixtures missing: {files:?}");
    for path in files {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        for orchestrator in ["grove", "lws"] {
            let out = render_file(&path, &options(orchestrator))
                .unwrap_or_else(|e| panic!("{stem} under {orchestrator}: {e}"));
            let docs = dynamoctl::yaml::parse_documents(&out).unwrap();
            assert!(
                docs.iter().all(|d| !has_null(&d.value)),
                "{stem}: no nulls in the objects"
            );
            assert_golden(
                std::path::Path::new(&format!(
                    "tests/golden/multinode/{stem}.{orchestrator}.yaml"
                )),
                out.as_bytes(),
            );
        }
    }
}

fn has_null(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Array(a) => a.iter().any(has_null),
        serde_json::Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

/// Multinode specs that are wrong whatever the orchestrator: refused under both with a
/// message naming the service and the field (tests/bad-input-multinode/<case>.err).
#[test]
fn bad_multinode_input_is_refused_under_both_orchestrators() {
    let dir = repo().join("tests/bad-input-multinode");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 5);
    for input in inputs {
        let mut report = String::new();
        for orchestrator in ["grove", "lws"] {
            let e = render_file(&input, &options(orchestrator))
                .expect_err(&format!("{} must be refused", input.display()));
            report.push_str(&format!("{orchestrator}: {e}\n"));
        }
        assert_golden(
            input.with_extension("err").strip_prefix(repo()).unwrap(),
            report.as_bytes(),
        );
    }
}
