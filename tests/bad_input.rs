//! The bad-input corpus: every file under tests/bad-input is rejected by `dynamoctl render`
//! with exit code 2, nothing on stdout, and exactly the message in its `.stderr` file.

mod common;

use common::{assert_golden, dynamoctl, repo};

#[test]
fn every_bad_input_is_rejected_with_its_exact_message() {
    let dir = repo().join("tests/bad-input");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 25,
        "the corpus has {} inputs; keep at least 25",
        inputs.len()
    );
    for input in inputs {
        let file = input.file_name().unwrap().to_str().unwrap();
        let out = dynamoctl(&dir, &["render", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: exit code");
        assert!(
            out.stdout.is_empty(),
            "{file}: nothing may be printed on stdout"
        );
        assert_golden(
            input.with_extension("stderr").strip_prefix(repo()).unwrap(),
            &out.stderr,
        );
    }
}

#[test]
fn all_problems_of_all_files_are_reported_together() {
    let dir = repo().join("tests/bad-input");
    let out = dynamoctl(
        &dir,
        &[
            "render",
            "09-unknown-service-field.yaml",
            "12-negative-replicas.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
}

#[test]
fn missing_files_are_usage_errors() {
    let out = dynamoctl(&repo(), &["render", "does-not-exist.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: cannot read does-not-exist.yaml:"),
        "{stderr}"
    );
    let out = dynamoctl(&repo(), &["render"]);
    assert_eq!(out.status.code(), Some(2));
}
