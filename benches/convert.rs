//! Conversion speed: every upstream graph (both versions) converted to the other version, per
//! graph, in one process; and whole `dynamoctl render` processes on the largest v1beta1
//! recipe. Run with `cargo bench --bench convert`; figures go to docs/benchmarks.md.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use dynamoctl::api::convert::{self, V1ALPHA1, V1BETA1};
use serde_json::Value;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn graphs(dir: &str) -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && !p.to_string_lossy().contains("crd__bases")
        })
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in dynamoctl::yaml::parse_documents(&text).unwrap() {
            if doc.value["kind"] == "DynamoGraphDeployment" {
                out.push(doc.value);
            }
        }
    }
    out
}

fn main() {
    let mut all = graphs("tests/fixtures/upstream");
    all.extend(graphs("tests/fixtures/upstream-v1beta1"));
    let target = |g: &Value| {
        if g["apiVersion"] == V1ALPHA1 {
            V1BETA1
        } else {
            V1ALPHA1
        }
    };
    for (label, round_trip) in [("one way", false), ("there and back", true)] {
        let run = || {
            for g in &all {
                let there = convert::convert_value(g, target(g)).unwrap();
                if round_trip {
                    let back = convert::convert_value(&there, target(&there)).unwrap();
                    std::hint::black_box(back);
                } else {
                    std::hint::black_box(there);
                }
            }
        };
        for _ in 0..3 {
            run();
        }
        let mut samples = Vec::new();
        for _ in 0..30 {
            let start = Instant::now();
            run();
            samples.push(start.elapsed());
        }
        let m = median(samples);
        println!(
            "conversion {label}: {} graphs, median {:.2?} per pass, {:.1} µs per graph",
            all.len(),
            m,
            m.as_secs_f64() * 1e6 / all.len() as f64
        );
    }

    // Whole processes on the largest v1beta1 recipe (by bytes).
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream-v1beta1");
    let largest = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("recipes__")
        })
        .filter(|p| {
            let out = Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
                .arg("render")
                .arg(p)
                .output()
                .unwrap();
            out.status.success()
        })
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut samples = Vec::new();
    for _ in 0..40 {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
            .arg("render")
            .arg(&largest)
            .output()
            .unwrap();
        assert!(out.status.success());
        samples.push(start.elapsed());
    }
    println!(
        "whole `dynamoctl render {}` process: median {:.2?} wall",
        largest.file_name().unwrap().to_string_lossy(),
        median(samples)
    );
}
